package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
)

const spaOrigin = "https://app.example"

func withCORS(origins ...string) option {
	return func(c *httpapi.Config, _ *ratelimit.Policy) { c.CORSOrigins = origins }
}

// crossSite are the headers a browser sends on a script's request from origin.
func crossSite(origin string) []string {
	return []string{"Origin", origin, "Sec-Fetch-Site", "cross-site"}
}

func preflight(e *env, origin, method, headers string) *resp {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodOptions, e.srv.URL+"/v1/login", nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.send(req, "Origin", origin, "Sec-Fetch-Site", "cross-site",
		"Access-Control-Request-Method", method, "Access-Control-Request-Headers", headers)
}

func TestCORSListedOriginPreflight(t *testing.T) {
	e := newEnv(t, withCORS(spaOrigin))
	r := preflight(e, spaOrigin, "POST", "content-type,authorization")
	r.wantStatus(t, http.StatusNoContent)
	want := map[string]string{
		"Access-Control-Allow-Origin":      spaOrigin,
		"Access-Control-Allow-Credentials": "true",
		"Access-Control-Allow-Methods":     "GET, POST, PUT, PATCH, DELETE",
		"Access-Control-Allow-Headers":     "Authorization, Content-Type",
		"Access-Control-Max-Age":           "600",
	}
	for k, v := range want {
		if got := r.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if !strings.Contains(strings.Join(r.Header.Values("Vary"), ","), "Origin") {
		t.Errorf("Vary = %q, want Origin in it", r.Header.Values("Vary"))
	}
}

// A listed origin's state-changing request passes cross-origin protection and its answer is
// readable by the page (ACAO and credentials).
func TestCORSListedOriginActualRequest(t *testing.T) {
	e := newEnv(t, withCORS(spaOrigin, "http://localhost:5173"))
	e.signup("cors@example.com")
	body := map[string]any{"email": "cors@example.com", "password": goodPassword, "delivery": "token", "refresh_cookie": true}
	r := e.do("POST", "/v1/login", body, crossSite(spaOrigin)...)
	r.wantStatus(t, http.StatusOK)
	if got := r.Header.Get("Access-Control-Allow-Origin"); got != spaOrigin {
		t.Fatalf("Access-Control-Allow-Origin = %q, want %q", got, spaOrigin)
	}
	if got := r.Header.Get("Access-Control-Allow-Credentials"); got != "true" {
		t.Fatalf("Access-Control-Allow-Credentials = %q", got)
	}
	// An error answer is readable too (the SDK shows typed errors).
	body["password"] = "wrong password, surely"
	r = e.do("POST", "/v1/login", body, crossSite("http://localhost:5173")...)
	r.wantError(t, http.StatusUnauthorized, "invalid_credentials")
	if got := r.Header.Get("Access-Control-Allow-Origin"); got != "http://localhost:5173" {
		t.Fatalf("Access-Control-Allow-Origin on an error = %q", got)
	}
}

// Only the exact origin: every near miss gets no CORS header, and its state-changing
// requests are refused by cross-origin protection.
func TestCORSRefusesVariants(t *testing.T) {
	e := newEnv(t, withCORS(spaOrigin, "http://localhost:5173"))
	e.signup("variants@example.com")
	for _, origin := range []string{
		"null",
		"HTTPS://APP.EXAMPLE",
		"https://App.example",
		"https://app.example/",
		"https://app.example:443",
		"https://app.example:8443",
		"http://app.example",
		"https://app.example.evil",
		"https://evil.app.example",
		"http://localhost:5174",
		"http://localhost",
		"http://127.0.0.1:5173",
	} {
		t.Run(origin, func(t *testing.T) {
			r := preflight(e, origin, "POST", "content-type")
			if r.StatusCode == http.StatusNoContent {
				t.Errorf("preflight answered 204")
			}
			for k := range r.Header {
				if strings.HasPrefix(k, "Access-Control-") {
					t.Errorf("preflight has %s: %q", k, r.Header.Get(k))
				}
			}
			r = e.do("POST", "/v1/login", map[string]any{"email": "variants@example.com", "password": goodPassword}, crossSite(origin)...)
			r.wantError(t, http.StatusForbidden, "cross_origin_request")
			for k := range r.Header {
				if strings.HasPrefix(k, "Access-Control-") {
					t.Errorf("answer has %s: %q", k, r.Header.Get(k))
				}
			}
		})
	}
}

// Without cors_origins nothing changes: no CORS headers, cross-origin posts refused,
// same-origin use untouched.
func TestCORSOffByDefault(t *testing.T) {
	e := newEnv(t)
	r := preflight(e, spaOrigin, "POST", "content-type")
	if r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("CORS header without cors_origins: %v", r.Header)
	}
	r = e.do("POST", "/v1/signup", map[string]any{"email": "x@example.com", "password": goodPassword}, crossSite(spaOrigin)...)
	r.wantError(t, http.StatusForbidden, "cross_origin_request")
	r = e.do("POST", "/v1/signup", map[string]any{"email": "x@example.com", "password": goodPassword}, "Sec-Fetch-Site", "same-origin")
	r.wantStatus(t, http.StatusCreated)
	if r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("CORS header on a same-origin answer")
	}
}

func TestCheckCORSOrigins(t *testing.T) {
	if err := httpapi.CheckCORSOrigins([]string{"https://app.example", " http://localhost:5173 ", "https://a.example:8443"}); err != nil {
		t.Fatalf("good origins refused: %v", err)
	}
	for _, bad := range []string{"null", "app.example", "https://app.example/", "https://app.example/path", "HTTPS://app.example", "https://App.example", "ftp://app.example", "https://app.example?x=1"} {
		if err := httpapi.CheckCORSOrigins([]string{bad}); err == nil {
			t.Errorf("CheckCORSOrigins(%q) = nil, want an error", bad)
		}
	}
}
