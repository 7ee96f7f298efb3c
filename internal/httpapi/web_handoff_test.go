package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// handoffPagesEnv serves the hosted pages with handoff targets on two hosts.
func handoffPagesEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, withPages)
	if err := e.accounts.WithHandoff([]string{targetA, targetB}, e.db); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestWebHandoffPage: GET /ui/handoff issues a code and answers a page that posts it to the
// target (never in a URL), allowed by a form-action naming the target's origin alone; the
// code then signs the browser in at the target, once.
func TestWebHandoffPage(t *testing.T) {
	e := handoffPagesEnv(t)
	ck := e.signup("hand@example.com")

	r := e.page("GET", "/ui/handoff?target="+url.QueryEscape(targetB)+"&return_to="+url.QueryEscape("/app?x=1"), nil, withCookie(ck)...)
	body := r.wantHTML(t, http.StatusOK)
	csp := r.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "; form-action https://"+hostB+";") {
		t.Fatalf("handoff CSP %q", csp)
	}
	nonce := cspNonce.FindStringSubmatch(csp)
	if nonce == nil || !strings.Contains(body, `<script nonce="`+nonce[1]+`">document.getElementById("gh-autopost").submit()</script>`) || !strings.Contains(body, "<noscript>") {
		t.Fatalf("no nonce'd auto-submit: %s", body)
	}
	if !strings.Contains(body, `<form method="post" action="`+targetB+`" id="gh-autopost">`) || hidden(t, body, "return_to") != "/app?x=1" {
		t.Fatalf("handoff page: %s", body)
	}
	code := hidden(t, body, "code")
	if code == "" || strings.Contains(r.Header.Get("Location"), code) || r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("code %q, headers %v", code, r.Header)
	}

	// The browser posts it to host B (cross-site by nature): a new session there.
	crossSite := []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://" + hostA}
	done := e.completeAt(hostB, nil, url.Values{"code": {code}, "return_to": {"/app?x=1"}}, crossSite...)
	done.wantRedirect(t, "/app?x=1")
	if c := sessionCookie(t, done); c.Value == ck.Value {
		t.Fatal("host B got the same session")
	}
	// A replayed code: the styled page saying the link expired, no cookie.
	again := e.completeAt(hostB, nil, url.Values{"code": {code}}, crossSite...)
	body = again.wantHTML(t, http.StatusBadRequest)
	if !strings.Contains(body, "expired or was already used. Go back and try again.") || !strings.Contains(body, `class="gh-card"`) || len(again.Cookies()) != 0 {
		t.Fatalf("replayed code: %s %v", body, again.Cookies())
	}
	if !strings.Contains(again.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Fatalf("failure page CSP %q", again.Header.Get("Content-Security-Policy"))
	}

	// A return_to that is not a path on the target is dropped.
	body = e.page("GET", "/ui/handoff?target="+url.QueryEscape(targetB)+"&return_to="+url.QueryEscape("https://evil.example/"), nil, withCookie(ck)...).wantHTML(t, http.StatusOK)
	if strings.Contains(body, `name="return_to"`) || strings.Contains(body, "evil.example") {
		t.Fatalf("foreign return_to kept: %s", body)
	}
}

func TestWebHandoffPageRefusals(t *testing.T) {
	e := handoffPagesEnv(t)
	ck := e.signup("hand2@example.com")

	// No session: sign in first, then come back to the same handoff.
	path := "/ui/handoff?target=" + url.QueryEscape(targetB) + "&return_to=%2Fapp"
	r := e.page("GET", path, nil)
	r.wantStatus(t, http.StatusSeeOther)
	loc, _ := url.Parse(r.Header.Get("Location"))
	back, _ := url.Parse(loc.Query().Get("return_to"))
	if loc.Path != "/ui/login" || back.Path != "/ui/handoff" || back.Query().Get("target") != targetB || back.Query().Get("return_to") != "/app" {
		t.Fatalf("Location %q", r.Header.Get("Location"))
	}
	// Signing in on the form goes back to the handoff.
	e.page("POST", "/ui/login", url.Values{"email": {"hand2@example.com"}, "password": {goodPassword}, "return_to": {loc.Query().Get("return_to")}}).
		wantRedirect(t, loc.Query().Get("return_to"))

	// A target that is not configured (even one differing only in case or path): an error page, no code.
	for _, target := range []string{"https://evil.example/v1/handoff/complete", "https://AUTH.b.example/v1/handoff/complete", "https://" + hostB + "/v1/handoff/complete/", "", "javascript:alert(1)"} {
		r := e.page("GET", "/ui/handoff?target="+url.QueryEscape(target), nil, withCookie(ck)...)
		body := r.wantHTML(t, http.StatusBadRequest)
		if !strings.Contains(body, "Unknown destination") || strings.Contains(body, `name="code"`) {
			t.Fatalf("target %q: %s", target, body)
		}
	}
}
