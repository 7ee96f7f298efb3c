package userimport_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-auth/gatehouse/internal/mfa"
	"github.com/gatehouse-auth/gatehouse/internal/password"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/store/postgres"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-auth/gatehouse/internal/userimport"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

type store interface {
	users.Store
	users.IdentityStore
	userimport.Store
	mfa.Store
}

// testKEK seals the TOTP seeds of imports in tests.
var testKEK = bytes.Repeat([]byte{7}, 32)

type backend struct {
	name string
	open func(tb testing.TB) store
}

var backends = []backend{{"sqlite", openSQLite}, {"postgres", openPostgres}}

func openSQLite(tb testing.TB) store {
	tb.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "g.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// openPostgres creates a fresh database for this test and drops it afterwards; it skips when
// no server answers and GATEHOUSE_TEST_POSTGRES is unset.
func openPostgres(tb testing.TB) store {
	tb.Helper()
	ctx := context.Background()
	admin := os.Getenv("GATEHOUSE_TEST_POSTGRES")
	required := admin != ""
	if !required {
		admin = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable&connect_timeout=2"
	}
	c, err := pgx.Connect(ctx, admin)
	if err != nil {
		if required {
			tb.Fatalf("GATEHOUSE_TEST_POSTGRES is set but unreachable: %v", err)
		}
		tb.Skipf("PostgreSQL skipped: no server and GATEHOUSE_TEST_POSTGRES unset (%v)", err)
	}
	defer c.Close(ctx)
	name := "gh_test_" + secret.NewID()
	if _, err := c.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatal(err)
	}
	u, _ := url.Parse(admin)
	u.Path = "/" + name
	db, err := postgres.Open(ctx, u.String())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		db.Close()
		if c, err := pgx.Connect(context.Background(), admin); err == nil {
			c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(context.Background())
		}
	})
	if _, err := db.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	return db
}

var t0 = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

func now() time.Time { return t0 }

// fakeRevoker records whose sessions were ended.
type fakeRevoker struct {
	mu    sync.Mutex
	users []string
}

func (f *fakeRevoker) RevokeUser(ctx context.Context, userID, except string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.users = append(f.users, userID)
	return nil, nil
}

func newImporter(s store) (*userimport.Importer, *fakeRevoker) {
	rv := &fakeRevoker{}
	sealer, err := mfa.NewSeedSealer(testKEK, now)
	if err != nil {
		panic(err)
	}
	return userimport.New(s, password.NewUnsafeFastHasherForTests(), rv, now).WithTOTP(sealer), rv
}

// run imports input and returns every result (Raw copied) and the summary.
func run(tb testing.TB, im *userimport.Importer, input string, o userimport.Options) ([]userimport.Result, userimport.Summary) {
	tb.Helper()
	var out []userimport.Result
	sum, err := im.Run(context.Background(), stringsReader(input), o, func(r userimport.Result) error {
		r.Raw = append([]byte(nil), r.Raw...)
		out = append(out, r)
		return nil
	})
	if err != nil {
		tb.Fatalf("Run: %v", err)
	}
	return out, sum
}

type stringReader struct {
	s string
}

func stringsReader(s string) io.Reader { return &stringReader{s} }

// Read hands out at most 7 bytes at a time, so that line handling across reads is exercised.
func (r *stringReader) Read(p []byte) (int, error) {
	if r.s == "" {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 7)], r.s)
	r.s = r.s[n:]
	return n, nil
}

// generated is an endless-looking NDJSON source of n distinct users, made on the fly.
type generated struct {
	n, i int
	hash string
	buf  []byte
}

func newGenerated(n int, hash string) *generated { return &generated{n: n, hash: hash} }

func (g *generated) Read(p []byte) (int, error) {
	for len(g.buf) < len(p) && g.i < g.n {
		g.buf = fmt.Appendf(g.buf, `{"email":"user%d@example.com","email_verified":true,"password_hash":%q,"identities":[{"issuer":"https://legacy.example/","subject":"auth0|%d"}]}`+"\n", g.i, g.hash, g.i)
		g.i++
	}
	if len(g.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, g.buf)
	g.buf = g.buf[:copy(g.buf, g.buf[n:])]
	return n, nil
}

func base64StdDecode(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }
