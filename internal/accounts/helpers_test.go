package accounts_test

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/clock"
	"github.com/gatehouse-auth/gatehouse/internal/password"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
	"github.com/gatehouse-auth/gatehouse/internal/store/postgres"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

// store is what the account service needs from a backend.
type store interface {
	users.Store
	sessions.Store
	audit.Store
}

type backend struct {
	name string
	open func(t *testing.T) store
}

// backends are the stores the service is tested on: SQLite always, PostgreSQL when
// GATEHOUSE_TEST_POSTGRES is set or a server answers locally (skipped otherwise).
var backends = []backend{
	{"sqlite", openSQLite},
	{"postgres", openPostgres},
}

func openSQLite(t *testing.T) store {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// openPostgres creates a fresh database for this test, migrates it, and drops it afterwards.
func openPostgres(t *testing.T) store {
	t.Helper()
	ctx := context.Background()
	admin := os.Getenv("GATEHOUSE_TEST_POSTGRES")
	required := admin != ""
	if !required {
		admin = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable&connect_timeout=2"
	}
	c, err := pgx.Connect(ctx, admin)
	if err != nil {
		if required {
			t.Fatalf("GATEHOUSE_TEST_POSTGRES is set but unreachable: %v", err)
		}
		t.Skipf("PostgreSQL skipped: no server and GATEHOUSE_TEST_POSTGRES unset (%v)", err)
	}
	defer c.Close(ctx)
	name := "gh_test_" + secret.NewID()
	if _, err := c.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(admin)
	u.Path = "/" + name
	db, err := postgres.Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Close()
		if c, err := pgx.Connect(context.Background(), admin); err == nil {
			c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(context.Background())
		}
	})
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

// fixture is an account service over a real store.
type fixture struct {
	db       store
	svc      *accounts.Service
	sessions *sessions.Manager
	limiter  *ratelimit.Limiter
	clock    *clock.Fake
}

// generous is a policy that never refuses the attempts of the race tests.
var generous = ratelimit.Policy{
	PerIP:        ratelimit.Limit{Burst: 1 << 20, Per: time.Millisecond},
	PerAccountIP: []ratelimit.Limit{{Burst: 1 << 20, Per: time.Millisecond}},
	PerAccount:   ratelimit.Limit{Burst: 1 << 20, Per: time.Millisecond},
	Signup:       ratelimit.Limit{Burst: 1 << 20, Per: time.Millisecond},
}

func newFixture(t *testing.T, db store, h accounts.Hasher, p ratelimit.Policy) *fixture {
	t.Helper()
	f := &fixture{db: db, clock: clock.NewFake(time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC))}
	f.sessions = sessions.NewManager(db, sessions.Config{}, f.clock.Now).
		WithRefresh([]byte("test refresh key, 32 bytes long!"), 30*time.Second)
	var err error
	if f.limiter, err = ratelimit.NewLimiter(ratelimit.NewMemory(0), p, f.clock.Now); err != nil {
		t.Fatal(err)
	}
	if h == nil {
		h = password.NewUnsafeFastHasherForTests()
	}
	f.svc = accounts.New(db, f.sessions, h, f.limiter, audit.NewLog(db, f.clock.Now), slog.New(slog.NewTextHandler(io.Discard, nil)), f.clock.Now)
	return f
}

const testPassword = "correct horse battery staple"

func (f *fixture) mustUser(t *testing.T, email, pw string) *users.User {
	t.Helper()
	u, err := f.svc.CreateUser(context.Background(), accounts.NewUser{Email: email, Password: pw}, adminClient)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

var adminClient = accounts.Client{IP: "192.0.2.250", RateKey: "192.0.2.250", UserAgent: "admin"}

func client(ip string) accounts.Client {
	return accounts.Client{IP: ip, RateKey: ip, UserAgent: "test"}
}

// events returns the stored events of type typ.
func (f *fixture) events(t *testing.T, typ string) []*audit.Event {
	t.Helper()
	var out []*audit.Event
	var after int64
	for {
		page, err := f.db.ListEvents(context.Background(), audit.Filter{Type: typ, After: after, Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page...)
		if len(page) < 500 {
			return out
		}
		after = page[len(page)-1].ID
	}
}
