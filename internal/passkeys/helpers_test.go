package passkeys_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/clock"
	"github.com/gatehouse-auth/gatehouse/internal/onetime"
	"github.com/gatehouse-auth/gatehouse/internal/passkeys"
	"github.com/gatehouse-auth/gatehouse/internal/passkeys/passkeystest"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/store/postgres"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

// store is what the service is tested over.
type store interface {
	passkeys.Store
	onetime.Store
	users.Store
	audit.Store
}

type backend struct {
	name string
	open func(t testing.TB) store
}

// backends: SQLite always, PostgreSQL when GATEHOUSE_TEST_POSTGRES is set (skipped otherwise).
var backends = []backend{{"sqlite", openSQLite}, {"postgres", openPostgres}}

func openSQLite(t testing.TB) store {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func openPostgres(t testing.TB) store {
	t.Helper()
	ctx := context.Background()
	admin := os.Getenv("GATEHOUSE_TEST_POSTGRES")
	if admin == "" {
		t.Skip("PostgreSQL skipped: GATEHOUSE_TEST_POSTGRES unset")
	}
	c, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("GATEHOUSE_TEST_POSTGRES is set but unreachable: %v", err)
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

const (
	rpID   = "auth.example.com"
	origin = "https://auth.example.com"
	bind   = "binding of the caller"
)

type fixture struct {
	db    store
	svc   *passkeys.Service
	clock *clock.Fake
	user  *users.User
}

func newFixture(t testing.TB, db store) *fixture {
	t.Helper()
	f := &fixture{db: db, clock: clock.NewFake(time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC))}
	var err error
	f.svc, err = passkeys.New(passkeys.Config{RPID: rpID, Origins: []string{origin}}, db, db, audit.NewLog(db, f.clock.Now), f.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	f.user = f.mustUser(t, "alice@example.com")
	return f
}

func (f *fixture) mustUser(t testing.TB, email string) *users.User {
	t.Helper()
	now := f.clock.Now()
	u := &users.User{ID: secret.NewID(), Email: email, CreatedAt: now, UpdatedAt: now}
	if err := f.db.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// register registers a as a passkey of userID and returns it.
func (f *fixture) register(t testing.TB, userID string, a *passkeystest.Authenticator) *passkeys.Passkey {
	t.Helper()
	ctx := context.Background()
	opts, err := f.svc.BeginRegistration(ctx, userID, "alice@example.com", bind)
	if err != nil {
		t.Fatal(err)
	}
	body, err := a.Create(opts)
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.svc.FinishRegistration(ctx, userID, bind, "", body)
	if err != nil {
		t.Fatalf("FinishRegistration: %v", err)
	}
	return p
}

// login runs a password-less sign-in with a.
func (f *fixture) login(t testing.TB, a *passkeystest.Authenticator) (*passkeys.Assertion, error) {
	t.Helper()
	opts, err := f.svc.BeginLogin(context.Background(), bind)
	if err != nil {
		t.Fatal(err)
	}
	body, err := a.Get(opts)
	if err != nil {
		t.Fatal(err)
	}
	return f.svc.FinishLogin(context.Background(), bind, body, passkeys.Client{IP: "192.0.2.1", UserAgent: "test"})
}

func (f *fixture) events(t testing.TB, typ string) []*audit.Event {
	t.Helper()
	ev, err := f.db.ListEvents(context.Background(), audit.Filter{Type: typ, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func forEachBackend(t *testing.T, f func(t *testing.T, fx *fixture)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { f(t, newFixture(t, b.open(t))) })
	}
}
