package legacy_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/clock"
	"github.com/gatehouse-auth/gatehouse/internal/legacy"
	"github.com/gatehouse-auth/gatehouse/internal/password"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
	"github.com/gatehouse-auth/gatehouse/internal/store/postgres"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-auth/gatehouse/internal/users"
	"github.com/gatehouse-auth/gatehouse/jws"
)

// store is what the tests need from a backend.
type store interface {
	legacy.Store
	legacy.Identities
	users.Store
	sessions.Store
	audit.Store
}

type backend struct {
	name string
	open func(t testing.TB) store
}

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

// openPostgres creates a fresh database when GATEHOUSE_TEST_POSTGRES is set (skips otherwise).
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

var (
	rsaOnce sync.Once
	rsaKeys [3]*rsa.PrivateKey
)

// testRSA returns one of three RSA keys generated once for the package.
func testRSA(i int) *rsa.PrivateKey {
	rsaOnce.Do(func() {
		for j := range rsaKeys {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			rsaKeys[j] = k
		}
	})
	return rsaKeys[i]
}

// idpKey is a signing key of the fake provider.
type idpKey struct {
	kid  string
	alg  jws.Algorithm
	priv crypto.Signer
}

func (k idpKey) jwk() map[string]any {
	b64 := base64.RawURLEncoding.EncodeToString
	switch pub := k.priv.Public().(type) {
	case *rsa.PublicKey:
		// What Auth0 publishes: alg, use, and the certificate members (never used).
		return map[string]any{"kty": "RSA", "kid": k.kid, "alg": string(k.alg), "use": "sig", "n": b64(pub.N.Bytes()),
			"e": b64(big.NewInt(int64(pub.E)).Bytes()), "x5c": []string{"MIIDDTCCAfWgAwIBAgIJ"}, "x5t": "bm90LWEtdGh1bWI"}
	case *ecdsa.PublicKey:
		b, _ := pub.Bytes()
		return map[string]any{"kty": "EC", "crv": "P-256", "kid": k.kid, "x": b64(b[1:33]), "y": b64(b[33:])}
	}
	panic("key type")
}

// tenant is one issuer of the fake provider, served under its own path.
type tenant struct {
	path   string
	mu     sync.Mutex
	keys   []idpKey
	maxAge int
	down   atomic.Bool
	jwks   atomic.Int64 // key set fetches
	disco  atomic.Int64 // discovery fetches
}

// fakeIdP is an Auth0-like provider over TLS: per tenant, an OIDC discovery document and a
// JWKS with Cache-Control.
type fakeIdP struct {
	srv     *httptest.Server
	tenants map[string]*tenant
}

func newFakeIdP(t testing.TB) *fakeIdP {
	t.Helper()
	f := &fakeIdP{tenants: map[string]*tenant{
		"rs": {path: "/rs", keys: []idpKey{{"rs-1", jws.RS256, testRSA(0)}}, maxAge: 600},
		"es": {path: "/es", maxAge: 600},
	}}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f.tenants["es"].keys = []idpKey{{"es-1", jws.ES256, ek}}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, tn := range f.tenants {
			rest, ok := strings.CutPrefix(r.URL.Path, tn.path+"/")
			if !ok {
				continue
			}
			if tn.down.Load() {
				http.Error(w, "down", http.StatusServiceUnavailable)
				return
			}
			switch rest {
			case ".well-known/openid-configuration":
				tn.disco.Add(1)
				w.Header().Set("Content-Type", "application/json; charset=utf-8")
				json.NewEncoder(w).Encode(map[string]string{"issuer": f.issuer(tn), "jwks_uri": f.srv.URL + tn.path + "/.well-known/jwks.json"})
			case ".well-known/jwks.json":
				tn.jwks.Add(1)
				tn.mu.Lock()
				var keys []map[string]any
				for _, k := range tn.keys {
					keys = append(keys, k.jwk())
				}
				age := tn.maxAge
				tn.mu.Unlock()
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", age))
				json.NewEncoder(w).Encode(map[string]any{"keys": keys})
			default:
				http.NotFound(w, r)
			}
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// issuer is the tenant's "iss", with Auth0's trailing slash.
func (f *fakeIdP) issuer(tn *tenant) string { return f.srv.URL + tn.path + "/" }

// sign makes a token of key k with the given header extras and claims.
func sign(t testing.TB, k idpKey, header map[string]any, claims map[string]any) string {
	t.Helper()
	h := map[string]any{"alg": string(k.alg), "kid": k.kid, "typ": "JWT"}
	for n, v := range header {
		if v == nil {
			delete(h, n)
		} else {
			h[n] = v
		}
	}
	hb, _ := json.Marshal(h)
	cb, _ := json.Marshal(claims)
	in := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	d := sha256.Sum256([]byte(in))
	var sig []byte
	var err error
	switch k.alg {
	case jws.RS256:
		sig, err = rsa.SignPKCS1v15(rand.Reader, k.priv.(*rsa.PrivateKey), crypto.SHA256, d[:])
	case jws.ES256:
		var r, s *big.Int
		r, s, err = ecdsa.Sign(rand.Reader, k.priv.(*ecdsa.PrivateKey), d[:])
		sig = make([]byte, 64)
		if err == nil {
			r.FillBytes(sig[:32])
			s.FillBytes(sig[32:])
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// fixture is a legacy service over a real store and account service, with a fake provider.
type fixture struct {
	db    store
	svc   *legacy.Service
	acc   *accounts.Service
	clock *clock.Fake
	idp   *fakeIdP
	rs    *legacy.Issuer // the RS256 tenant, registered
}

var generous = ratelimit.Policy{
	PerIP:        ratelimit.Limit{Burst: 1 << 20, Per: time.Millisecond},
	PerAccountIP: []ratelimit.Limit{{Burst: 1 << 20, Per: time.Millisecond}},
	PerAccount:   ratelimit.Limit{Burst: 1 << 20, Per: time.Millisecond},
	Signup:       ratelimit.Limit{Burst: 1 << 20, Per: time.Millisecond},
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newFixture(t testing.TB, db store, p ratelimit.Policy) *fixture {
	t.Helper()
	f := &fixture{db: db, clock: clock.NewFake(time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)), idp: newFakeIdP(t)}
	sm := sessions.NewManager(db, sessions.Config{}, f.clock.Now).WithRefresh([]byte("test refresh key, 32 bytes long!"), 30*time.Second)
	lim, err := ratelimit.NewLimiter(ratelimit.NewMemory(0), p, f.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	al := audit.NewLog(db, f.clock.Now)
	f.acc = accounts.New(db, sm, password.NewUnsafeFastHasherForTests(), lim, al, quiet, f.clock.Now)
	f.svc, err = legacy.New(db, db, db, f.acc, al, quiet, legacy.Config{HTTPClient: f.idp.srv.Client()}, f.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	f.rs = &legacy.Issuer{Issuer: f.idp.issuer(f.idp.tenants["rs"]), Audiences: []string{"https://api.example.com"},
		Match: []string{legacy.MatchIdentity, legacy.MatchEmail}}
	if err := f.svc.Create(context.Background(), f.rs, legacy.Actor{IP: "192.0.2.9"}); err != nil {
		t.Fatal(err)
	}
	return f
}

// claims are an Auth0-style access token's claims, valid now.
func (f *fixture) claims(sub string) map[string]any {
	now := f.clock.Now()
	return map[string]any{"iss": f.rs.Issuer, "sub": sub, "aud": []string{"https://api.example.com", f.rs.Issuer + "userinfo"},
		"iat": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix(), "azp": "legacy-spa", "scope": "openid profile email",
		"jti": secret.NewID()}
}

func (f *fixture) rsKey() idpKey { return f.idp.tenants["rs"].keys[0] }

func (f *fixture) mustUser(t testing.TB, email string, verified bool) *users.User {
	t.Helper()
	now := f.clock.Now()
	u := &users.User{ID: secret.NewID(), Email: email, EmailVerified: verified, CreatedAt: now, UpdatedAt: now}
	if err := f.db.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

func (f *fixture) events(t testing.TB, typ string) []*audit.Event {
	t.Helper()
	ev, err := f.db.ListEvents(context.Background(), audit.Filter{Type: typ, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

var testClient = accounts.Client{IP: "192.0.2.7", RateKey: "192.0.2.7", UserAgent: "test"}
