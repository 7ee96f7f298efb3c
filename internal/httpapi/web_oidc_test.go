package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// browserJar is a cookie jar that, unlike net/http/cookiejar, also sends the Secure
// (__Host-) cookies over the test server's plain HTTP, as a browser does for localhost.
type browserJar struct {
	mu sync.Mutex
	m  map[string]*http.Cookie
}

func (j *browserJar) SetCookies(_ *url.URL, cs []*http.Cookie) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, c := range cs {
		if c.Value == "" || c.MaxAge < 0 {
			delete(j.m, c.Name)
		} else {
			j.m[c.Name] = c
		}
	}
}

func (j *browserJar) Cookies(*url.URL) []*http.Cookie {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []*http.Cookie
	for _, c := range j.m {
		out = append(out, &http.Cookie{Name: c.Name, Value: c.Value})
	}
	return out
}

// browser is an HTTP client with cookies that follows redirects on the test server and
// stops at the relying party's callback.
type browser struct {
	t   *testing.T
	c   *http.Client
	srv string
}

func newBrowser(t *testing.T, e *env) *browser {
	c := *e.srv.Client()
	c.Jar = &browserJar{m: map[string]*http.Cookie{}}
	c.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if !strings.HasPrefix(req.URL.String(), e.srv.URL) {
			return http.ErrUseLastResponse
		}
		return nil
	}
	return &browser{t: t, c: &c, srv: e.srv.URL}
}

// page is one answer: its final URL, status, headers and body.
type page struct {
	url    *url.URL
	status int
	header http.Header
	body   string
}

func (b *browser) do(req *http.Request) *page {
	b.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return &page{url: res.Request.URL, status: res.StatusCode, header: res.Header, body: string(body)}
}

func (b *browser) get(u string) *page {
	b.t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	return b.do(req)
}

var (
	formTag    = regexp.MustCompile(`<form method="post" action="([^"]*)"`)
	inputField = regexp.MustCompile(`<input [^>]*name="([a-z_]+)"[^>]*>`)
	valueAttr  = regexp.MustCompile(`value="([^"]*)"`)
)

// submit fills the page's first form with the page's own hidden fields plus fields, and
// posts it as the browser would (same-origin headers).
func (b *browser) submit(p *page, fields url.Values) *page {
	b.t.Helper()
	m := formTag.FindStringSubmatch(p.body)
	if m == nil {
		b.t.Fatalf("no form on %s: %s", p.url, p.body)
	}
	action, _ := url.Parse(unescapeHTML(m[1]))
	form := url.Values{}
	for _, in := range inputField.FindAllStringSubmatch(p.body, -1) {
		if strings.Contains(in[0], `type="hidden"`) {
			if v := valueAttr.FindStringSubmatch(in[0]); v != nil {
				form.Set(in[1], unescapeHTML(v[1]))
			}
		}
	}
	for k, v := range fields {
		form[k] = v
	}
	req, _ := http.NewRequest("POST", p.url.ResolveReference(action).String(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Origin", b.srv)
	return b.do(req)
}

func unescapeHTML(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#34;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">", "&quot;", `"`).Replace(s)
}

// callback returns the query the authorization response brought to the relying party.
func callback(t *testing.T, p *page) url.Values {
	t.Helper()
	if p.status != http.StatusFound {
		t.Fatalf("at %s: status %d, want the redirect to the client; body %s", p.url, p.status, p.body)
	}
	loc, _ := url.Parse(p.header.Get("Location"))
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != rpCallback {
		t.Fatalf("redirected to %s", loc)
	}
	return loc.Query()
}

// TestWebCodeFlowFormFill runs the code flow as a person would, with an HTTP client in
// place of the browser: the application sends it to /oauth/authorize, it fills the hosted
// sign-in form, allows the consent page, and the application exchanges the code with
// golang.org/x/oauth2 and checks the ID token with go-oidc. Denying answers access_denied.
func TestWebCodeFlowFormFill(t *testing.T) {
	e := newEnv(t, withPages)
	e.signup("formfill@example.com")
	id, sec := e.registerClient("confidential", false, "openid", "email", "profile")
	cfg := rpConfig(e, id, sec, oauth2.AuthStyleInHeader, "openid", "email")
	ctx := oidc.ClientContext(context.Background(), e.srv.Client())
	ctx = context.WithValue(ctx, oauth2.HTTPClient, e.srv.Client())
	b := newBrowser(t, e)

	pkce := oauth2.GenerateVerifier()
	login := b.get(cfg.AuthCodeURL("st-ff", oidc.Nonce("n-ff"), oauth2.S256ChallengeOption(pkce)))
	if login.url.Path != "/ui/login" || login.status != http.StatusOK || !strings.Contains(login.body, `autocomplete="current-password"`) {
		t.Fatalf("not the sign-in page: %s %d", login.url, login.status)
	}
	// A wrong password keeps the flow: the form again, then the right one.
	again := b.submit(login, url.Values{"email": {"formfill@example.com"}, "password": {"not the password"}})
	if again.status != http.StatusUnauthorized || !strings.Contains(again.body, "The email or password is not right.") {
		t.Fatalf("wrong password: %d %s", again.status, again.body)
	}
	consent := b.submit(again, url.Values{"email": {"formfill@example.com"}, "password": {goodPassword}})
	if consent.status != http.StatusOK || !strings.Contains(consent.body, "Allow RP confidential?") ||
		!strings.Contains(consent.body, "See your email address") || !strings.Contains(consent.body, "formfill@example.com") ||
		!strings.Contains(consent.body, "Not you? Sign out") || !strings.Contains(consent.body, `class="gh-card"`) {
		t.Fatalf("consent page at %s: %d %s", consent.url, consent.status, consent.body)
	}
	if csp := consent.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'nonce-") ||
		!strings.Contains(csp, "; form-action 'self' https://rp.example;") {
		t.Fatalf("consent CSP %q", csp)
	}
	// This consent page came from the one-time resume link; "Not you?" restarts the request.
	if m := regexp.MustCompile(`href="/ui/logout\?return_to=([^"]*)"`).FindStringSubmatch(consent.body); m == nil ||
		!strings.HasPrefix(unescapeHTML(m[1]), url.QueryEscape("/oauth/authorize?")) {
		t.Fatalf("sign-out link on the consent page: %v", m)
	}
	q := callback(t, b.submit(consent, url.Values{"decision": {"allow"}}))
	if q.Get("state") != "st-ff" || q.Get("code") == "" || q.Get("iss") != testIssuer {
		t.Fatalf("authorization response %v", q)
	}
	tok, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(pkce))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := e.verifier(id).Verify(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	var claims struct{ Email string }
	if err := idt.Claims(&claims); err != nil || claims.Email != "formfill@example.com" || idt.Nonce != "n-ff" {
		t.Fatalf("ID token %+v %q %v", claims, idt.Nonce, err)
	}

	// Asked again (prompt=consent), the person denies: access_denied with the state, no code.
	consent = b.get(cfg.AuthCodeURL("st-deny", oauth2.SetAuthURLParam("prompt", "consent")))
	q = callback(t, b.submit(consent, url.Values{"decision": {"deny"}}))
	if q.Get("error") != "access_denied" || q.Get("state") != "st-deny" || q.Has("code") {
		t.Fatalf("deny: %v", q)
	}

	// "Not you? Sign out" signs out and comes back to the request, which asks to sign in.
	m := regexp.MustCompile(`href="(/ui/logout[^"]*)"`).FindStringSubmatch(b.get(cfg.AuthCodeURL("st-other", oauth2.SetAuthURLParam("prompt", "consent"))).body)
	if m == nil {
		t.Fatal("no sign-out link on the consent page")
	}
	confirm := b.get(b.srv + unescapeHTML(m[1]))
	after := b.submit(confirm, nil)
	if after.url.Path != "/ui/login" || !strings.Contains(after.body, `name="password"`) {
		t.Fatalf("after signing out from the consent page: %s %d", after.url, after.status)
	}

	// Errors before the redirect URI is trusted use the styled error page.
	bad := b.get(e.srv.URL + "/oauth/authorize?client_id=nope&redirect_uri=" + url.QueryEscape(rpCallback) + "&response_type=code")
	if bad.status != http.StatusBadRequest || !strings.Contains(bad.body, "Unknown application") || !strings.Contains(bad.body, `class="gh-card"`) {
		t.Fatalf("error page: %d %s", bad.status, bad.body)
	}
}

// TestWebFormPostResponse: response_mode=form_post answers a page that posts the code to the
// redirect URI by a nonce'd script (a button without scripts), and whose form-action allows
// that origin alone.
func TestWebFormPostResponse(t *testing.T) {
	e := newEnv(t, withPages)
	ck := e.signup("formpost@example.com")
	id, sec := e.registerClient("confidential", true, "openid")
	cfg := rpConfig(e, id, sec, oauth2.AuthStyleInHeader, "openid")
	r := e.page("GET", strings.TrimPrefix(cfg.AuthCodeURL("st-fp", oauth2.SetAuthURLParam("response_mode", "form_post")), e.srv.URL), nil, withCookie(ck)...)
	body := r.wantHTML(t, http.StatusOK)
	csp := r.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "; form-action https://rp.example;") {
		t.Fatalf("form_post CSP %q", csp)
	}
	nonce := cspNonce.FindStringSubmatch(csp)
	if nonce == nil || !strings.Contains(body, `<script nonce="`+nonce[1]+`">document.getElementById("gh-autopost").submit()</script>`) {
		t.Fatalf("no nonce'd auto-submit: %s", body)
	}
	if !strings.Contains(body, `<form method="post" action="`+rpCallback+`" id="gh-autopost">`) || !strings.Contains(body, "<noscript>") ||
		hidden(t, body, "state") != "st-fp" || hidden(t, body, "code") == "" || hidden(t, body, "iss") != testIssuer {
		t.Fatalf("form_post page: %s", body)
	}
	if loc := r.Header.Get("Location"); loc != "" {
		t.Fatalf("form_post also redirected to %q", loc)
	}
}
