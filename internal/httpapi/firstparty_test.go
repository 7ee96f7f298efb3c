package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
)

func TestSignupSetsSecureCookie(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/v1/signup", map[string]string{"email": " Alice@Example.com", "password": goodPassword})
	r.wantStatus(t, http.StatusCreated)
	raw := r.Header.Get("Set-Cookie")
	for _, attr := range []string{"__Host-gh_session=", "Path=/", "Secure", "HttpOnly", "SameSite=Lax", "Expires="} {
		if !strings.Contains(raw, attr) {
			t.Errorf("Set-Cookie %q lacks %q", raw, attr)
		}
	}
	if strings.Contains(strings.ToLower(raw), "domain=") {
		t.Errorf("Set-Cookie %q has a Domain (a __Host- cookie must not)", raw)
	}
	if len(raw) >= 4096 {
		t.Errorf("cookie is %d bytes", len(raw))
	}
	m := r.json(t)
	u := m["user"].(map[string]any)
	if u["email"] != "alice@example.com" {
		t.Fatalf("email not normalised: %v", u["email"])
	}
	if _, leaked := u["password_hash"]; leaked || strings.Contains(string(r.body), "argon2") {
		t.Fatal("response leaks the password hash")
	}
	s := m["session"].(map[string]any)
	for _, k := range []string{"id", "expires_at", "idle_expires_at"} {
		if s[k] == nil || s[k] == "" {
			t.Fatalf("session.%s missing: %s", k, r.body)
		}
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("Cache-Control = %q", r.Header.Get("Cache-Control"))
	}

	r = e.do("POST", "/v1/signup", map[string]string{"email": "alice@example.com", "password": goodPassword})
	r.wantError(t, http.StatusConflict, "email_taken")
}

func TestSignupValidation(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, body string
		status     int
		code       string
	}{
		{"short password", `{"email":"a@example.com","password":"short"}`, 400, "password_too_short"},
		{"long password", `{"email":"a@example.com","password":"` + strings.Repeat("x", 257) + `"}`, 400, "password_too_long"},
		{"common password", `{"email":"a@example.com","password":"password1"}`, 400, "password_too_common"},
		{"breached password", `{"email":"a@example.com","password":"password123"}`, 400, "password_too_common"},
		{"password from the email", `{"email":"kate.bishop@example.com","password":"KateBishop!2024"}`, 400, "password_too_common"},
		{"password from the service name", `{"email":"a@example.com","password":"G4tehouse!!"}`, 400, "password_too_common"},
		{"zero-width space in email", `{"email":"a\u200b@example.com","password":"` + goodPassword + `"}`, 400, "invalid_email"},
		{"bidi override in email", `{"email":"a\u202e@example.com","password":"` + goodPassword + `"}`, 400, "invalid_email"},
		{"bad email", `{"email":"not-an-email","password":"` + goodPassword + `"}`, 400, "invalid_email"},
		{"missing email", `{"password":"` + goodPassword + `"}`, 400, "invalid_request"},
		{"missing password", `{"email":"a@example.com"}`, 400, "invalid_request"},
		{"wrong type", `{"email":5,"password":"x"}`, 400, "invalid_request"},
		{"unknown field", `{"email":"a@example.com","password":"x","admin":true}`, 400, "invalid_request"},
		{"not an object", `["a"]`, 400, "invalid_request"},
		{"malformed", `{"email":`, 400, "invalid_request"},
		{"trailing data", `{"email":"a@example.com","password":"` + goodPassword + `"} {}`, 400, "invalid_request"},
		{"empty", ``, 400, "invalid_request"},
		{"oversized", `{"email":"a@example.com","password":"` + strings.Repeat("x", 70<<10) + `"}`, 413, "request_too_large"},
		{"token delivery unknown", `{"email":"a@example.com","password":"` + goodPassword + `","delivery":"carrier-pigeon"}`, 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.do("POST", "/v1/signup", tt.body).wantError(t, tt.status, tt.code)
		})
	}
	// Nothing was created by any of them.
	r := e.do("GET", "/v1/admin/users", nil, asAdmin()...)
	if n := len(r.json(t)["users"].([]any)); n != 0 {
		t.Fatalf("%d users created by bad requests", n)
	}
}

func TestJSONOnly(t *testing.T) {
	e := newEnv(t)
	e.signup("a@example.com")
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""} {
		req, _ := http.NewRequest("POST", e.srv.URL+"/v1/login", strings.NewReader(`{"email":"a@example.com","password":"`+goodPassword+`"}`))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		res, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnsupportedMediaType || len(res.Cookies()) != 0 {
			t.Fatalf("Content-Type %q: status %d, cookies %v", ct, res.StatusCode, res.Cookies())
		}
	}
}

func TestCrossOriginRefused(t *testing.T) {
	e := newEnv(t)
	c := e.signup("a@example.com")
	r := e.do("POST", "/v1/logout", nil, append(withCookie(c), "Sec-Fetch-Site", "cross-site")...)
	r.wantError(t, http.StatusForbidden, "cross_origin_request")
	r = e.do("POST", "/v1/login", map[string]string{"email": "a@example.com", "password": goodPassword}, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
	r.wantError(t, http.StatusForbidden, "cross_origin_request")
	e.do("GET", "/v1/session", nil, withCookie(c)...).wantStatus(t, http.StatusOK) // the session survived
	// Same-origin browser requests pass.
	e.do("POST", "/v1/logout", nil, append(withCookie(c), "Sec-Fetch-Site", "same-origin")...).wantStatus(t, http.StatusNoContent)
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/healthz", "/v1/session", "/nope"} {
		r := e.do("GET", path, nil)
		for h, want := range map[string]string{
			"X-Content-Type-Options": "nosniff",
			"X-Frame-Options":        "DENY",
			"Referrer-Policy":        "no-referrer",
		} {
			if got := r.Header.Get(h); got != want {
				t.Errorf("%s: %s = %q, want %q", path, h, got, want)
			}
		}
		if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("%s: CSP = %q", path, csp)
		}
		if r.Header.Get("X-Request-Id") == "" {
			t.Errorf("%s: no X-Request-Id", path)
		}
	}
}

func TestUnknownRouteAndMethod(t *testing.T) {
	e := newEnv(t)
	e.do("GET", "/v1/nothing-here", nil).wantError(t, http.StatusNotFound, "not_found")
	r := e.do("GET", "/v1/login", nil)
	r.wantError(t, http.StatusMethodNotAllowed, "method_not_allowed")
	if !strings.Contains(r.Header.Get("Allow"), "POST") {
		t.Fatalf("Allow = %q", r.Header.Get("Allow"))
	}
	e.do("PUT", "/v1/sessions", nil).wantError(t, http.StatusMethodNotAllowed, "method_not_allowed")
}

func TestLoginAndSession(t *testing.T) {
	e := newEnv(t)
	first := e.signup("a@example.com")
	c := e.login("A@example.com")
	if c.Value == first.Value {
		t.Fatal("a new sign-in reused the session token")
	}
	r := e.do("GET", "/v1/session", nil, withCookie(c)...)
	r.wantStatus(t, http.StatusOK)
	m := r.json(t)
	if m["user"].(map[string]any)["email"] != "a@example.com" || m["session"].(map[string]any)["current"] != true {
		t.Fatalf("session body: %s", r.body)
	}
	// The same token works as a bearer credential.
	e.do("GET", "/v1/session", nil, withBearer(c.Value)...).wantStatus(t, http.StatusOK)
	// A token presented by the client is never adopted: logging in with a cookie already set
	// still mints a new session.
	r = e.do("POST", "/v1/login", map[string]string{"email": "a@example.com", "password": goodPassword}, withCookie(c)...)
	if sessionCookie(t, r).Value == c.Value {
		t.Fatal("login adopted the presented session id")
	}
}

func TestGarbageCredentials(t *testing.T) {
	e := newEnv(t)
	real := e.signup("a@example.com")
	id, _, _ := strings.Cut(real.Value, ".")
	for name, v := range map[string]string{
		"empty":           "",
		"garbage":         "garbage",
		"long":            strings.Repeat("A", 5000),
		"known id, bad":   id + ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"jwt-looking":     "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
		"sql":             "' OR 1=1 --",
		"unicode":         "séssion.ünïcode",
		"id only":         id,
		"dot only":        ".",
		"real with extra": real.Value + "x",
	} {
		t.Run(name, func(t *testing.T) {
			e.do("GET", "/v1/session", nil, "Cookie", httpapi.SessionCookie+"="+v).wantError(t, http.StatusUnauthorized, "unauthorized")
			e.do("GET", "/v1/sessions", nil, withBearer(v)...).wantError(t, http.StatusUnauthorized, "unauthorized")
		})
	}
	e.do("GET", "/v1/session", nil).wantError(t, http.StatusUnauthorized, "unauthorized")
	e.do("GET", "/v1/session", nil, "Authorization", "Basic dXNlcjpwYXNz").wantError(t, http.StatusUnauthorized, "unauthorized")
}

func TestEnumerationParity(t *testing.T) {
	e := newEnv(t)
	e.signup("known@example.com")
	e.signup("disabled@example.com")
	r := e.do("GET", "/v1/admin/users?email=disabled@example.com", nil, asAdmin()...)
	id := r.json(t)["users"].([]any)[0].(map[string]any)["id"].(string)
	e.do("POST", "/v1/admin/users/"+id+"/disable", nil, asAdmin()...).wantStatus(t, http.StatusOK)
	e.do("POST", "/v1/admin/users", map[string]any{"email": "nopass@example.com"}, asAdmin()...).wantStatus(t, http.StatusCreated)

	cases := map[string]map[string]string{
		"unknown account":      {"email": "nobody@example.com", "password": goodPassword},
		"wrong password":       {"email": "known@example.com", "password": "wrong password!"},
		"disabled account":     {"email": "disabled@example.com", "password": goodPassword},
		"account w/o password": {"email": "nopass@example.com", "password": goodPassword},
	}
	var bodies []string
	for name, body := range cases {
		before := e.hasher.kdfs.Load()
		r := e.do("POST", "/v1/login", body)
		r.wantError(t, http.StatusUnauthorized, "invalid_credentials")
		if got := e.hasher.kdfs.Load() - before; got != 1 {
			t.Errorf("%s: %d password hashes computed, want exactly 1 (same cost as a known account)", name, got)
		}
		if len(r.Cookies()) != 0 {
			t.Errorf("%s: cookie set on failure", name)
		}
		bodies = append(bodies, string(r.body))
	}
	for _, b := range bodies[1:] {
		if b != bodies[0] {
			t.Fatalf("failure bodies differ, revealing account state:\n%s\n%s", bodies[0], b)
		}
	}
}

func TestLogoutScopes(t *testing.T) {
	e := newEnv(t)
	a := e.signup("a@example.com")
	b := e.login("a@example.com")
	c := e.login("a@example.com")
	other := e.signup("other@example.com")

	// others: b survives, a and c die.
	e.do("POST", "/v1/logout", `{"scope":"others"}`, withCookie(b)...).wantStatus(t, http.StatusNoContent)
	e.do("GET", "/v1/session", nil, withCookie(a)...).wantStatus(t, http.StatusUnauthorized)
	e.do("GET", "/v1/session", nil, withCookie(c)...).wantStatus(t, http.StatusUnauthorized)
	e.do("GET", "/v1/session", nil, withCookie(b)...).wantStatus(t, http.StatusOK)

	// local: only the caller's.
	d := e.login("a@example.com")
	r := e.do("POST", "/v1/logout", nil, withCookie(d)...)
	r.wantStatus(t, http.StatusNoContent)
	if cleared := r.Cookies(); len(cleared) != 1 || cleared[0].MaxAge >= 0 || cleared[0].Name != httpapi.SessionCookie {
		t.Fatalf("logout did not clear the cookie: %v", r.Header["Set-Cookie"])
	}
	e.do("GET", "/v1/session", nil, withCookie(d)...).wantStatus(t, http.StatusUnauthorized)
	e.do("GET", "/v1/session", nil, withCookie(b)...).wantStatus(t, http.StatusOK)

	// global: everything of this user, nothing of others.
	f := e.login("a@example.com")
	e.do("POST", "/v1/logout", `{"scope":"global"}`, withCookie(f)...).wantStatus(t, http.StatusNoContent)
	for _, ck := range []*http.Cookie{b, f} {
		e.do("GET", "/v1/session", nil, withCookie(ck)...).wantStatus(t, http.StatusUnauthorized)
	}
	e.do("GET", "/v1/session", nil, withCookie(other)...).wantStatus(t, http.StatusOK)

	e.do("POST", "/v1/logout", `{"scope":"everything"}`, withCookie(other)...).wantError(t, 400, "invalid_request")
	e.do("POST", "/v1/logout", `{"scope":"global"}`).wantError(t, 401, "unauthorized")
	e.do("POST", "/v1/logout", nil).wantStatus(t, http.StatusNoContent) // idempotent without a session
}

func TestListAndRevokeOwnSessions(t *testing.T) {
	e := newEnv(t)
	a := e.signup("a@example.com")
	e.clock.Add(time.Second)
	b := e.do("POST", "/v1/login", map[string]string{"email": "a@example.com", "password": goodPassword}, "User-Agent", "phone/2.0")
	bc := sessionCookie(t, b)
	bID := b.json(t)["session"].(map[string]any)["id"].(string)
	mallory := e.signup("mallory@example.com")

	r := e.do("GET", "/v1/sessions", nil, withCookie(a)...)
	r.wantStatus(t, http.StatusOK)
	list := r.json(t)["sessions"].([]any)
	if len(list) != 2 {
		t.Fatalf("%d sessions listed", len(list))
	}
	var current int
	for _, s := range list {
		m := s.(map[string]any)
		if m["current"] == true {
			current++
		}
		if m["id"] == bID && m["user_agent"] != "phone/2.0" {
			t.Fatalf("metadata lost: %v", m)
		}
		for _, k := range []string{"created_at", "last_seen_at", "ip", "amr"} {
			if _, ok := m[k]; !ok {
				t.Fatalf("session lacks %s: %v", k, m)
			}
		}
	}
	if current != 1 {
		t.Fatalf("%d sessions marked current", current)
	}
	if strings.Contains(string(r.body), strings.SplitN(a.Value, ".", 2)[1]) {
		t.Fatal("session list leaks a secret")
	}
	// Mallory cannot end Alice's session, and learns nothing about it.
	e.do("DELETE", "/v1/sessions/"+bID, nil, withCookie(mallory)...).wantError(t, http.StatusNotFound, "session_not_found")
	e.do("GET", "/v1/session", nil, withCookie(bc)...).wantStatus(t, http.StatusOK)
	e.do("DELETE", "/v1/sessions/"+bID, nil, withCookie(a)...).wantStatus(t, http.StatusNoContent)
	e.do("GET", "/v1/session", nil, withCookie(bc)...).wantStatus(t, http.StatusUnauthorized)
	e.do("DELETE", "/v1/sessions/not-an-id", nil, withCookie(a)...).wantError(t, http.StatusNotFound, "session_not_found")
}

func TestExpiryOverHTTP(t *testing.T) {
	e := newEnv(t) // idle 2h, absolute 24h
	c := e.signup("a@example.com")
	e.clock.Add(119 * time.Minute)
	e.do("GET", "/v1/session", nil, withCookie(c)...).wantStatus(t, http.StatusOK)
	e.clock.Add(2 * time.Hour)
	e.do("GET", "/v1/session", nil, withCookie(c)...).wantError(t, http.StatusUnauthorized, "unauthorized")

	d := e.login("a@example.com")
	for range 20 { // busy for 23h20m, never idle
		e.clock.Add(70 * time.Minute)
		e.do("GET", "/v1/session", nil, withCookie(d)...).wantStatus(t, http.StatusOK)
	}
	e.clock.Add(41 * time.Minute)
	e.do("GET", "/v1/session", nil, withCookie(d)...).wantError(t, http.StatusUnauthorized, "unauthorized")
}

func TestRateLimitLogin(t *testing.T) {
	e := newEnv(t)
	e.signup("a@example.com")
	bad := map[string]string{"email": "a@example.com", "password": "not the password"}
	var limited *resp
	for i := range 50 {
		r := e.do("POST", "/v1/login", bad)
		if r.StatusCode == http.StatusTooManyRequests {
			limited = r
			break
		}
		r.wantError(t, http.StatusUnauthorized, "invalid_credentials")
		if i == 49 {
			t.Fatal("50 failed logins never rate limited")
		}
	}
	limited.wantError(t, http.StatusTooManyRequests, "rate_limited")
	if limited.Header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	// Even the right password is refused while locked from this client…
	e.do("POST", "/v1/login", map[string]string{"email": "a@example.com", "password": goodPassword}).wantError(t, http.StatusTooManyRequests, "rate_limited")
	// …and the lockout is audited.
	r := e.do("GET", "/v1/admin/events?type=user.locked", nil, asAdmin()...)
	if len(r.json(t)["events"].([]any)) == 0 {
		t.Fatal("no user.locked event")
	}
	// It ends by itself.
	e.clock.Add(time.Hour)
	e.login("a@example.com")
}

func TestStoreFailureFailsClosed(t *testing.T) {
	e := newEnv(t)
	c := e.signup("a@example.com")
	e.db.Close()
	e.do("POST", "/v1/login", map[string]string{"email": "a@example.com", "password": goodPassword}).wantError(t, http.StatusServiceUnavailable, "temporarily_unavailable")
	e.do("POST", "/v1/signup", map[string]string{"email": "b@example.com", "password": goodPassword}).wantError(t, http.StatusServiceUnavailable, "temporarily_unavailable")
	e.do("GET", "/v1/session", nil, withCookie(c)...).wantError(t, http.StatusServiceUnavailable, "temporarily_unavailable")
	e.do("GET", "/readyz", nil).wantError(t, http.StatusServiceUnavailable, "temporarily_unavailable")
	e.do("GET", "/healthz", nil).wantStatus(t, http.StatusOK)
	if strings.Contains(e.logs.String(), goodPassword) {
		t.Fatal("password in logs")
	}
}

func TestPanicAnswers500(t *testing.T) {
	e := newEnv(t, func(c *httpapi.Config, _ *ratelimit.Policy) {
		c.Ready = func(context.Context) error { panic("boom: secret detail") }
	})
	r := e.do("GET", "/readyz", nil)
	r.wantError(t, http.StatusInternalServerError, "server_error")
	if strings.Contains(string(r.body), "boom") {
		t.Fatal("panic detail leaked to the client")
	}
	if !strings.Contains(e.logs.String(), "boom") {
		t.Fatal("panic not logged")
	}
	e.do("GET", "/healthz", nil).wantStatus(t, http.StatusOK)
}

func TestMetrics(t *testing.T) {
	e := newEnv(t)
	e.signup("a@example.com")
	e.do("POST", "/v1/login", map[string]string{"email": "a@example.com", "password": "wrong password"})
	r := e.do("GET", "/metrics", nil)
	r.wantStatus(t, http.StatusOK)
	for _, want := range []string{
		`gatehouse_http_requests_total{route="POST /v1/signup",status="201"} 1`,
		`gatehouse_logins_total{outcome="failure"} 1`,
		`gatehouse_http_request_duration_seconds_bucket{route="POST /v1/login"`,
	} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestReloginEndsPreviousSession: a browser that signs in again (its session cookie comes with
// the sign-in) ends the session it had; other browsers' sessions stay.
func TestReloginEndsPreviousSession(t *testing.T) {
	e := newEnv(t)
	first := e.signup("relogin@example.com")
	other := e.login("relogin@example.com") // another browser
	body := map[string]string{"email": "relogin@example.com", "password": "correct horse battery staple"}
	res := e.do("POST", "/v1/login", body, withCookie(first)...)
	res.wantStatus(t, 200)
	second := sessionCookie(t, res)
	if second.Value == first.Value {
		t.Fatal("the same session id was reused")
	}
	e.do("GET", "/v1/session", nil, withCookie(first)...).wantError(t, 401, "unauthorized")
	e.do("GET", "/v1/session", nil, withCookie(other)...).wantStatus(t, 200)
	list := e.do("GET", "/v1/sessions", nil, withCookie(second)...).json(t)["sessions"].([]any)
	if len(list) != 2 {
		t.Fatalf("sessions after re-login: %d, want 2 (the new one and the other browser's)", len(list))
	}
	// A failed sign-in ends nothing.
	e.do("POST", "/v1/login", map[string]string{"email": "relogin@example.com", "password": "wrong password!"}, withCookie(second)...).wantError(t, 401, "invalid_credentials")
	e.do("GET", "/v1/session", nil, withCookie(second)...).wantStatus(t, 200)
}
