package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/oidc"
)

func TestConsentPageEscapesAndExplains(t *testing.T) {
	h := newTestHandler(t, Config{ReturnToOrigins: []string{"https://app.example.com"}})
	w := httptest.NewRecorder()
	h.Consent(w, httptest.NewRequest("GET", "/oauth/authorize/resume?request=once", nil), oidc.ConsentView{Restart: "/oauth/authorize?client_id=x&state=1",
		ClientName: "Evil <b>App</b>", Scopes: []string{"openid", "email", "orders:<write>"}, UserEmail: "ann@example.com",
		Action: "/oauth/authorize/consent", ConsentID: "cid-1", RedirectURI: "https://rp.example/cb"})
	body := w.Body.String()
	for _, want := range []string{"Allow Evil &lt;b&gt;App&lt;/b&gt;?", "See your email address", "Know that it is you",
		"Use the permission “orders:&lt;write&gt;”", `name="consent_id" value="cid-1"`, `name="decision" value="allow"`, `name="decision" value="deny"`,
		`href="/ui/logout?return_to=%2Foauth%2Fauthorize%3Fclient_id%3Dx%26state%3D1"`} {
		if !strings.Contains(body, want) {
			t.Errorf("consent page lacks %q", want)
		}
	}
	if strings.Contains(body, "<b>App") {
		t.Fatal("client name not escaped")
	}
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || w.Header().Get("X-Frame-Options") != "DENY" {
		t.Fatalf("consent page may be framed: %q", csp)
	}
	// Browsers check form-action on the redirect after the post: the client's origin is
	// allowed, and nothing else beyond this server.
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "; form-action 'self' https://rp.example;") {
		t.Fatalf("consent form-action: %q", csp)
	}
	w = httptest.NewRecorder()
	h.Consent(w, httptest.NewRequest("POST", "/oauth/authorize/consent", nil), oidc.ConsentView{ClientName: "App", RedirectURI: "com.example.app:/cb"})
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "; form-action 'self' com.example.app:;") {
		t.Fatalf("consent form-action for a native app: %q", csp)
	}
}

func TestFormPostAllowsOnlyTheRedirectOrigin(t *testing.T) {
	h := newTestHandler(t, Config{ReturnToOrigins: []string{"https://app.example.com"}})
	w := httptest.NewRecorder()
	h.FormPost(w, httptest.NewRequest("GET", "/oauth/authorize", nil), "https://rp.example:8443/cb?x=1",
		url.Values{"code": {`c"><script>`}, "state": {"s"}})
	csp := w.Header().Get("Content-Security-Policy")
	if !strings.Contains(csp, "; form-action https://rp.example:8443;") || strings.Contains(csp, "app.example.com") || strings.Contains(csp, "'self'; frame") {
		t.Fatalf("CSP %q", csp)
	}
	body := w.Body.String()
	if !strings.Contains(body, `action="https://rp.example:8443/cb?x=1"`) || strings.Contains(body, `c"><script>`) {
		t.Fatalf("form_post page: %s", body)
	}
	// A redirect URI without an http(s) origin gets no page that posts to it.
	w = httptest.NewRecorder()
	h.FormPost(w, httptest.NewRequest("GET", "/oauth/authorize", nil), "javascript:alert(1)", url.Values{"code": {"c"}})
	if w.Code != http.StatusBadRequest || strings.Contains(w.Body.String(), "javascript:") {
		t.Fatalf("%d %s", w.Code, w.Body.String())
	}
}
