package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/clock"

	"github.com/gatehouse-auth/gatehouse/internal/accesskeys"
	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi"
	"github.com/gatehouse-auth/gatehouse/internal/keys"
	"github.com/gatehouse-auth/gatehouse/internal/legacy"
	"github.com/gatehouse-auth/gatehouse/internal/oidc"
	"github.com/gatehouse-auth/gatehouse/internal/password"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/roles"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-auth/gatehouse/internal/tokens"
	"github.com/gatehouse-auth/gatehouse/internal/userimport"
)

const testIssuer = "http://gatehouse.test"

const adminKey = "gh_mk_test-management-key-0123456789abcdef"

// countingHasher counts every password-hash computation (real or dummy). While busy is set,
// every call is turned away with password.ErrBusy, as a saturated hash queue does.
type countingHasher struct {
	h    *password.Hasher
	kdfs atomic.Int64
	busy atomic.Bool
}

func (c *countingHasher) Hash(ctx context.Context, pw string) (string, error) {
	c.kdfs.Add(1)
	return c.h.Hash(ctx, pw)
}
func (c *countingHasher) Admit(ctx context.Context, a password.Admission) (*password.Ticket, error) {
	if c.busy.Load() {
		return nil, password.ErrBusy
	}
	c.kdfs.Add(1) // accounts spends every ticket on one hash unless a concurrent charge refuses
	return c.h.Admit(ctx, a)
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

type env struct {
	t      testing.TB
	srv    *httptest.Server
	db     *sqlite.DB
	path   string
	clock  *clock.Fake
	hasher *countingHasher
	keys   *keys.Manager
	tokens *tokens.Service
	logs   *syncBuffer
	// accounts has second factors enabled with the optional policy (mfa_test.go changes it).
	accounts *accounts.Service
}

type option func(*httpapi.Config, *ratelimit.Policy)

func newEnv(t testing.TB, opts ...option) *env {
	t.Helper()
	path := filepath.Join(t.TempDir(), "g.db")
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &env{t: t, db: db, path: path, clock: clock.NewFake(time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)),
		hasher: &countingHasher{h: password.NewUnsafeFastHasherForTests()}, logs: &syncBuffer{}}
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sm := sessions.NewManager(db, sessions.Config{IdleTimeout: 2 * time.Hour, AbsoluteTimeout: 24 * time.Hour}, e.clock.Now).
		WithRefresh([]byte("test refresh key, 32 bytes long!"), 30*time.Second)
	al := audit.NewLog(db, e.clock.Now)
	km, err := keys.NewManager(db, make([]byte, 32), keys.Config{}, e.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	if err := km.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.keys = km
	ak := accesskeys.New(db, e.clock.Now)
	e.tokens = tokens.New(km, km, sm, sm, tokens.Config{Issuer: testIssuer}, e.clock.Now).WithClients(ak.ClientLookup)
	policy := ratelimit.DefaultPolicy()
	cfg := httpapi.Config{
		Sessions:     sm,
		Audit:        al,
		Tokens:       e.tokens,
		Keys:         km,
		AccessKeys:   ak,
		UserImport:   userimport.New(db, e.hasher.h, sm, e.clock.Now),
		Roles:        roles.New(db, al, e.clock.Now),
		Ready:        db.Ping,
		AdminKeyHash: secret.Hash(adminKey),
		Logger:       log,
		Now:          e.clock.Now,
		OIDC:         oidc.NewService(db, e.clock.Now),
		OIDCCodes:    oidc.NewCodes(db, e.clock.Now),
	}
	for _, o := range opts {
		o(&cfg, &policy)
	}
	limiter, err := ratelimit.NewLimiter(ratelimit.NewMemory(0), policy, e.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Accounts = accounts.New(db, sm, e.hasher, limiter, al, log, e.clock.Now)
	if cfg.Legacy, err = legacy.New(db, db, db, cfg.Accounts, al, log, legacy.Config{}, e.clock.Now); err != nil {
		t.Fatal(err)
	}
	e.accounts = cfg.Accounts
	e.enableMFA(accounts.MFAOptional)
	e.srv = httptest.NewServer(httpapi.New(cfg))
	t.Cleanup(e.srv.Close)
	return e
}

type resp struct {
	*http.Response
	body []byte
}

func (r *resp) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not a JSON object: %q", r.body)
	}
	return m
}

// wantError checks status and the {"error","error_description"} shape.
func (r *resp) wantError(t testing.TB, status int, code string) {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("status = %d, want %d; body %s", r.StatusCode, status, r.body)
	}
	m := r.json(t)
	if m["error"] != code {
		t.Fatalf("error = %v, want %q; body %s", m["error"], code, r.body)
	}
	if d, _ := m["error_description"].(string); d == "" {
		t.Fatalf("error_description missing: %s", r.body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("error Content-Type = %q", ct)
	}
}

func (r *resp) wantStatus(t testing.TB, status int) {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("status = %d, want %d; body %s", r.StatusCode, status, r.body)
	}
}

// do sends a request. body may be a string (sent as is) or anything else (sent as JSON).
func (e *env) do(method, path string, body any, hdr ...string) *resp {
	e.t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, ct = strings.NewReader(b), "application/json"
	default:
		j, _ := json.Marshal(b)
		rd, ct = bytes.NewReader(j), "application/json"
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	return e.send(req, hdr...)
}

// send sends req with extra headers (name, value pairs) and reads the whole answer.
func (e *env) send(req *http.Request, hdr ...string) *resp {
	e.t.Helper()
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return &resp{Response: res, body: b}
}

func sessionCookie(t testing.TB, r *resp) *http.Cookie {
	t.Helper()
	for _, c := range r.Cookies() {
		if c.Name == httpapi.SessionCookie {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", httpapi.SessionCookie, r.Header["Set-Cookie"])
	return nil
}

func withCookie(c *http.Cookie) []string { return []string{"Cookie", c.Name + "=" + c.Value} }
func withBearer(tok string) []string     { return []string{"Authorization", "Bearer " + tok} }
func asAdmin() []string                  { return withBearer(adminKey) }

const goodPassword = "correct horse battery staple"

func (e *env) signup(email string) *http.Cookie {
	e.t.Helper()
	r := e.do("POST", "/v1/signup", map[string]string{"email": email, "password": goodPassword})
	r.wantStatus(e.t, http.StatusCreated)
	return sessionCookie(e.t, r)
}

func (e *env) login(email string) *http.Cookie {
	e.t.Helper()
	r := e.do("POST", "/v1/login", map[string]string{"email": email, "password": goodPassword})
	r.wantStatus(e.t, http.StatusOK)
	return sessionCookie(e.t, r)
}

// reopen opens the env's database file again (after the test closed the original handle).
func reopen(t *testing.T, e *env) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), e.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
