package verify_test

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/jws"
	"github.com/gatehouse-auth/gatehouse/verify"
)

// issuer is a scripted Gatehouse: discovery, JWKS (whose keys the test changes), and a
// revocation stream the test pushes events into.
type issuer struct {
	t       testing.TB
	srv     *httptest.Server
	mu      sync.Mutex
	signers []*jws.Signer
	jwksHit atomic.Int64
	down    atomic.Bool
	events  chan string
	feedOK  atomic.Bool
	// streamDown makes the stream answer 503 (the follower then polls); polls records the
	// "after" of every poll, and page, when set, is the JSON a poll answers.
	streamDown atomic.Bool
	polls      chan string
	page       atomic.Value // string

	introspections atomic.Int64
}

func newIssuer(t testing.TB) *issuer {
	t.Helper()
	is := &issuer{t: t, events: make(chan string, 16), polls: make(chan string, 16)}
	is.feedOK.Store(true)
	is.addKey()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":%q}`, is.srv.URL, is.srv.URL+"/.well-known/jwks.json")
	})
	mux.HandleFunc("GET /.well-known/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		if is.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		is.jwksHit.Add(1)
		is.mu.Lock()
		var pks []jws.PublicKey
		for _, s := range is.signers {
			pks = append(pks, s.PublicKey())
		}
		is.mu.Unlock()
		b, _ := jws.MarshalJWKSet(pks)
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Write(b)
	})
	mux.HandleFunc("GET /v1/revocations/stream", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer feed-cred" || !is.feedOK.Load() {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		if is.streamDown.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		for {
			select {
			case <-r.Context().Done():
				return
			case ev := <-is.events:
				fmt.Fprint(w, ev)
				w.(http.Flusher).Flush()
			}
		}
	})
	mux.HandleFunc("POST /oauth/introspect", func(w http.ResponseWriter, r *http.Request) {
		is.introspections.Add(1)
		r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Authorization") != "Bearer feed-cred" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		if r.PostForm.Get("token") == "good-session" {
			fmt.Fprintf(w, `{"active":true,"token_type":"session","sub":"user1","sid":"sess9","exp":%d,"client_id":"gatehouse"}`, time.Now().Add(time.Hour).Unix())
			return
		}
		fmt.Fprint(w, `{"active":false}`)
	})
	mux.HandleFunc("GET /v1/revocations", func(w http.ResponseWriter, r *http.Request) {
		if !is.feedOK.Load() {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		select {
		case is.polls <- r.URL.Query().Get("after"):
		default:
		}
		w.Header().Set("Content-Type", "application/json")
		io := `{"entries":[],"cursor":"0"}`
		if p, ok := is.page.Load().(string); ok {
			io = p
		}
		w.Write([]byte(io))
	})
	is.srv = httptest.NewServer(mux)
	t.Cleanup(is.srv.Close)
	return is
}

func (is *issuer) addKey() *jws.Signer {
	priv, _ := jws.GenerateKey(jws.EdDSA)
	s, err := jws.NewSigner(fmt.Sprintf("k%d", len(is.signers)+1), jws.EdDSA, priv)
	if err != nil {
		is.t.Fatal(err)
	}
	is.mu.Lock()
	is.signers = append(is.signers, s)
	is.mu.Unlock()
	return s
}

type claims map[string]any

func (is *issuer) claims(now time.Time) claims {
	return claims{"iss": is.srv.URL, "sub": "user1", "aud": []string{"gatehouse"}, "exp": now.Add(10 * time.Minute).Unix(),
		"iat": now.Unix(), "jti": "jti1", "sid": "sess1", "scope": "openid orders:read", "client_id": "gatehouse", "amr": []string{"pwd"}, "auth_time": now.Unix()}
}

func sign(t testing.TB, s *jws.Signer, typ string, c claims) string {
	t.Helper()
	b, _ := json.Marshal(c)
	tok, err := s.Sign(typ, b)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newVerifier(t testing.TB, is *issuer, c *clock, opts ...verify.Option) *verify.Verifier {
	t.Helper()
	v, err := verify.New(context.Background(), is.srv.URL, append([]verify.Option{verify.WithAudience("gatehouse"), verify.WithClock(c.Now)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v
}

func TestNewRequiresAudienceAndMatchingIssuer(t *testing.T) {
	is := newIssuer(t)
	if _, err := verify.New(context.Background(), is.srv.URL); err == nil {
		t.Fatal("New without an audience succeeded")
	}
	if _, err := verify.New(context.Background(), is.srv.URL+"/other", verify.WithAudience("gatehouse")); err == nil {
		t.Fatal("New accepted a discovery document of another issuer")
	}
}

func TestVerify(t *testing.T) {
	is := newIssuer(t)
	c := &clock{t: time.Now()}
	v := newVerifier(t, is, c)
	s := is.signers[0]
	good := sign(t, s, "at+jwt", is.claims(c.Now()))
	got, err := v.Verify(context.Background(), good)
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != "user1" || got.SessionID != "sess1" || got.ClientID != "gatehouse" || !got.HasScope("orders:read") || got.HasScope("admin") || got.AMR[0] != "pwd" {
		t.Fatalf("claims: %+v", got)
	}
	_, attacker, _ := ed25519.GenerateKey(rand.Reader)
	foreign, _ := jws.NewSigner("k1", jws.EdDSA, attacker) // our kid, their key
	enc := base64.RawURLEncoding.EncodeToString
	payload, _ := json.Marshal(is.claims(c.Now()))
	pubJWK, _ := jws.MarshalPublicJWK(s.PublicKey())
	mac := hmac.New(sha256.New, pubJWK)
	hsIn := enc([]byte(`{"alg":"HS256","kid":"k1","typ":"at+jwt"}`)) + "." + enc(payload)
	mac.Write([]byte(hsIn))
	with := func(k string, val any) claims { m := is.claims(c.Now()); m[k] = val; return m }
	for name, tc := range map[string]struct {
		tok  string
		want error
	}{
		"expired":           {sign(t, s, "at+jwt", with("exp", c.Now().Add(-time.Hour).Unix())), verify.ErrExpired},
		"not yet valid":     {sign(t, s, "at+jwt", with("nbf", c.Now().Add(time.Hour).Unix())), verify.ErrNotYetValid},
		"wrong issuer":      {sign(t, s, "at+jwt", with("iss", "https://evil.example")), verify.ErrIssuer},
		"wrong audience":    {sign(t, s, "at+jwt", with("aud", "billing")), verify.ErrAudience},
		"ID token":          {sign(t, s, "JWT", is.claims(c.Now())), verify.ErrType},
		"foreign signature": {sign(t, foreign, "at+jwt", is.claims(c.Now())), verify.ErrBadSignature},
		"alg none":          {enc([]byte(`{"alg":"none","kid":"k1","typ":"at+jwt"}`)) + "." + enc(payload) + ".", verify.ErrMalformed},
		"HS256 with JWK":    {hsIn + "." + enc(mac.Sum(nil)), verify.ErrMalformed},
		"garbage":           {"not a token", verify.ErrMalformed},
		"oversized":         {strings.Repeat("a", 9000), verify.ErrMalformed},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := v.Verify(context.Background(), tc.tok); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestCacheAndExpiry(t *testing.T) {
	is := newIssuer(t)
	c := &clock{t: time.Now()}
	v := newVerifier(t, is, c)
	tok := sign(t, is.signers[0], "at+jwt", is.claims(c.Now()))
	for range 3 {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
	// A token differing in one byte is verified afresh (and fails).
	i := strings.LastIndexByte(tok, '.') + 5
	b := byte('A')
	if tok[i] == 'A' {
		b = 'B'
	}
	if _, err := v.Verify(context.Background(), tok[:i]+string(b)+tok[i+1:]); err == nil {
		t.Fatal("a modified token passed through the cache")
	}
	// A cached token still expires.
	c.Add(11 * time.Minute)
	if _, err := v.Verify(context.Background(), tok); !errors.Is(err, verify.ErrExpired) {
		t.Fatalf("cached token past expiry: %v", err)
	}
}

func TestKeyRotationAndIssuerDown(t *testing.T) {
	is := newIssuer(t)
	c := &clock{t: time.Now()}
	v := newVerifier(t, is, c)
	old := sign(t, is.signers[0], "at+jwt", is.claims(c.Now()))
	if _, err := v.Verify(context.Background(), old); err != nil {
		t.Fatal(err)
	}
	// The issuer publishes and starts using a new key: its first token triggers a refetch.
	newTok := sign(t, is.addKey(), "at+jwt", is.claims(c.Now()))
	if _, err := v.Verify(context.Background(), newTok); err != nil {
		t.Fatalf("token of a newly published key: %v", err)
	}
	if _, err := v.Verify(context.Background(), old); err != nil {
		t.Fatalf("token of the old key after rotation: %v", err)
	}
	// The issuer goes down: known keys keep working; unknown kids are refetched at most every
	// 10 s (not once per request).
	is.down.Store(true)
	third := sign(t, is.signers[1], "at+jwt", func() claims { m := is.claims(c.Now()); m["jti"] = "other"; return m }())
	if _, err := v.Verify(context.Background(), third); err != nil {
		t.Fatalf("issuer down, known key: %v", err)
	}
	hits := is.jwksHit.Load()
	ghost, _ := jws.GenerateKey(jws.EdDSA)
	gs, _ := jws.NewSigner("ghost", jws.EdDSA, ghost)
	for range 50 {
		v.Verify(context.Background(), sign(t, gs, "at+jwt", is.claims(c.Now())))
	}
	if is.jwksHit.Load() != hits {
		t.Fatalf("unknown kids hammered the JWKS endpoint: %d fetches", is.jwksHit.Load()-hits)
	}
}

func TestRevocationThroughStream(t *testing.T) {
	is := newIssuer(t)
	c := &clock{t: time.Now()}
	v := newVerifier(t, is, c, verify.WithRevocationFeed("feed-cred"))
	tok := sign(t, is.signers[0], "at+jwt", is.claims(c.Now()))
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // the stream is connected
	is.events <- fmt.Sprintf("id: 7\nevent: revocation\ndata: {\"sid\":\"sess1\",\"until\":%d}\n\n", c.Now().Add(time.Hour).Unix())
	deadline := time.Now().Add(time.Second)
	for {
		if _, err := v.Verify(context.Background(), tok); errors.Is(err, verify.ErrRevoked) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("revocation did not arrive within a second")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestFeedCursorIsOpaque: the feed's cursor is an opaque string (docs/architecture.md): whatever the
// issuer answers is sent back unchanged, escaped, on the next poll.
func TestFeedCursorIsOpaque(t *testing.T) {
	is := newIssuer(t)
	is.streamDown.Store(true)
	c := &clock{t: time.Now()}
	const cursor = "v2:17+4/a=b&c"
	is.page.Store(fmt.Sprintf(`{"entries":[{"sid":"sess1","sub":"user1","until":%d}],"cursor":%q}`, c.Now().Add(time.Hour).Unix(), cursor))
	v := newVerifier(t, is, c, verify.WithRevocationFeed("feed-cred"))
	if after := <-is.polls; after != "" {
		t.Fatalf("first poll after %q, want none", after)
	}
	if after := <-is.polls; after != cursor {
		t.Fatalf("second poll after %q, want the cursor of the first answer %q", after, cursor)
	}
	tok := sign(t, is.signers[0], "at+jwt", is.claims(c.Now()))
	if _, err := v.Verify(context.Background(), tok); !errors.Is(err, verify.ErrRevoked) {
		t.Fatalf("token of a session revoked in a polled page: %v", err)
	}
}

func TestFeedStaleness(t *testing.T) {
	for _, policy := range []verify.FeedPolicy{verify.FailClosed, verify.FailOpen} {
		is := newIssuer(t)
		c := &clock{t: time.Now()}
		v := newVerifier(t, is, c, verify.WithRevocationFeed("feed-cred"), verify.WithFeedPolicy(policy, time.Minute))
		is.feedOK.Store(false) // the feed refuses from now on
		tok := sign(t, is.signers[0], "at+jwt", is.claims(c.Now()))
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatalf("fresh feed: %v", err)
		}
		c.Add(61 * time.Second)
		_, err := v.Verify(context.Background(), tok)
		if policy == verify.FailClosed && !errors.Is(err, verify.ErrFeedStale) {
			t.Fatalf("fail closed after staleness: %v", err)
		}
		if policy == verify.FailOpen && err != nil {
			t.Fatalf("fail open after staleness: %v", err)
		}
	}
}

func TestMiddleware(t *testing.T) {
	is := newIssuer(t)
	c := &clock{t: time.Now()}
	v := newVerifier(t, is, c)
	h := v.Middleware(verify.RequireScope("orders:read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cl, _ := verify.ClaimsFrom(r.Context())
		fmt.Fprint(w, cl.Subject)
	})))
	do := func(auth string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/orders", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	if w := do("Bearer " + sign(t, is.signers[0], "at+jwt", is.claims(c.Now()))); w.Code != 200 || w.Body.String() != "user1" {
		t.Fatalf("good token: %d %s", w.Code, w.Body)
	}
	if w := do(""); w.Code != 401 || w.Header().Get("WWW-Authenticate") == "" {
		t.Fatalf("no token: %d", w.Code)
	}
	if w := do("Bearer garbage"); w.Code != 401 || !strings.Contains(w.Header().Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Fatalf("bad token: %d %s", w.Code, w.Header().Get("WWW-Authenticate"))
	}
	narrow := is.claims(c.Now())
	narrow["scope"], narrow["jti"] = "openid", "j2"
	if w := do("Bearer " + sign(t, is.signers[0], "at+jwt", narrow)); w.Code != 403 || !strings.Contains(w.Header().Get("WWW-Authenticate"), "insufficient_scope") {
		t.Fatalf("missing scope: %d %s", w.Code, w.Header().Get("WWW-Authenticate"))
	}
}

// TestImportsNoServerCode: resource servers import this package; it must not drag in
// Gatehouse's internals or any database driver.
func TestImportsNoServerCode(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/gatehouse-auth/gatehouse/verify").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.Contains(dep, "/internal/") && strings.HasPrefix(dep, "github.com/gatehouse-auth/") ||
			strings.Contains(dep, "sqlite") || strings.Contains(dep, "pgx") || strings.Contains(dep, "redis") {
			t.Errorf("verify depends on %s", dep)
		}
	}
}

// FuzzVerify: arbitrary strings and mutations of a valid token never panic, and nothing but
// the exact valid token verifies.
func FuzzVerify(f *testing.F) {
	is := newIssuer(f)
	c := &clock{t: time.Now()}
	v := newVerifier(f, is, c)
	good := sign(f, is.signers[0], "at+jwt", is.claims(c.Now()))
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add("eyJhbGciOiJFZERTQSJ9.e30.AAAA")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, s string) {
		if _, err := v.Verify(context.Background(), s); err == nil && s != good {
			t.Fatalf("a token other than the issued one verified: %q", s)
		}
	})
}

// TestClientEntries: a client_id entry revokes the tokens minted from that access key —
// all of them without issued_before, only those issued before it otherwise — and nothing
// else; a sub alone revokes nothing (it is information).
func TestClientEntries(t *testing.T) {
	is := newIssuer(t)
	is.streamDown.Store(true)
	c := &clock{t: time.Now()}
	now := c.Now()
	until := now.Add(time.Hour).Unix()
	is.page.Store(fmt.Sprintf(`{"entries":[{"client_id":"key-deleted","sub":"key-deleted","until":%d},
		{"client_id":"key-owner-off","issued_before":%d,"sub":"owner","until":%d},
		{"sub":"user1","until":%d}],"cursor":"3"}`, until, now.Unix(), until, until))
	v := newVerifier(t, is, c, verify.WithCredentials("feed-cred"))
	<-is.polls
	<-is.polls // the first page has been applied
	clientToken := func(client string, iat time.Time) string {
		cl := is.claims(iat)
		delete(cl, "sid")
		delete(cl, "amr")
		delete(cl, "auth_time")
		cl["client_id"], cl["sub"], cl["jti"] = client, "owner", fmt.Sprint(client, iat.UnixNano())
		return sign(t, is.signers[0], "at+jwt", cl)
	}
	for _, tc := range []struct {
		name    string
		tok     string
		revoked bool
	}{
		{"deleted key, any token", clientToken("key-deleted", now.Add(10*time.Second)), true},
		{"owner disabled, token from before", clientToken("key-owner-off", now.Add(-time.Second)), true},
		{"owner disabled, token from after", clientToken("key-owner-off", now), false},
		{"another key", clientToken("key-other", now), false},
		{"session token of a user named only by sub", sign(t, is.signers[0], "at+jwt", is.claims(now)), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), tc.tok)
			if got := errors.Is(err, verify.ErrRevoked); got != tc.revoked || (!tc.revoked && err != nil) {
				t.Fatalf("Verify = %v, want revoked %v", err, tc.revoked)
			}
		})
	}
}
