package httpapi_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi"
	"github.com/gatehouse-auth/gatehouse/internal/mfa"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/web"
)

// withPages serves the hosted pages, with one extra return_to origin.
func withPages(c *httpapi.Config, _ *ratelimit.Policy) {
	c.Web = &web.Config{Issuer: testIssuer, ReturnToOrigins: []string{"https://app.example.com"}, Name: "Acme"}
}

// page sends a request as a browser on the same origin would, without following redirects.
// form, when set, is posted as application/x-www-form-urlencoded.
func (e *env) page(method, path string, form url.Values, hdr ...string) *resp {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set("Origin", e.srv.URL)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	c := *e.srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return &resp{Response: res, body: b}
}

func (r *resp) wantHTML(t *testing.T, status int) string {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("status = %d, want %d; body %s", r.StatusCode, status, r.body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Fatalf("Content-Type = %q, want HTML", ct)
	}
	return string(r.body)
}

func (r *resp) wantRedirect(t *testing.T, to string) {
	t.Helper()
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != to {
		t.Fatalf("status %d Location %q, want 303 to %q; body %s", r.StatusCode, r.Header.Get("Location"), to, r.body)
	}
}

var hiddenField = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

func hidden(t *testing.T, body, name string) string {
	t.Helper()
	for _, m := range hiddenField.FindAllStringSubmatch(body, -1) {
		if m[1] == name {
			return m[2]
		}
	}
	t.Fatalf("no hidden field %q in %s", name, body)
	return ""
}

func TestWebSignupSetsCookieAndReturns(t *testing.T) {
	e := newEnv(t, withPages)
	body := e.page("GET", "/ui/signup?return_to=/welcome", nil).wantHTML(t, http.StatusOK)
	for _, want := range []string{`name="email"`, `autocomplete="username"`, `name="password"`, `autocomplete="new-password"`, `value="/welcome"`, `<label for="email">`, `<label for="password">`} {
		if !strings.Contains(body, want) {
			t.Errorf("sign-up page lacks %s", want)
		}
	}
	// A refused password keeps the email, never the password, and links the field to its error.
	r := e.page("POST", "/ui/signup", url.Values{"email": {"new@example.com"}, "password": {"short"}, "return_to": {"/welcome"}})
	body = r.wantHTML(t, http.StatusBadRequest)
	if !strings.Contains(body, `value="new@example.com"`) || strings.Contains(body, "short\"") {
		t.Fatalf("form not kept as typed: %s", body)
	}
	if !strings.Contains(body, `aria-describedby="password-policy password-error"`) || !strings.Contains(body, `id="password-error"`) {
		t.Fatalf("password error not linked: %s", body)
	}

	r = e.page("POST", "/ui/signup", url.Values{"email": {"new@example.com"}, "password": {goodPassword}, "return_to": {"/welcome"}})
	r.wantRedirect(t, "/welcome")
	ck := sessionCookie(t, r)
	if !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Domain != "" || !strings.HasPrefix(ck.Name, "__Host-") {
		t.Fatalf("session cookie %+v", ck)
	}
	body = e.page("GET", "/ui/account", nil, withCookie(ck)...).wantHTML(t, http.StatusOK)
	if !strings.Contains(body, "new@example.com") {
		t.Fatalf("account page does not say who is signed in: %s", body)
	}
	// Signed in: the sign-in page goes straight back, unless prompt=login.
	e.page("GET", "/ui/login?return_to=/next", nil, withCookie(ck)...).wantRedirect(t, "/next")
	e.page("GET", "/ui/login?return_to=/next&prompt=login", nil, withCookie(ck)...).wantHTML(t, http.StatusOK)
	// The same address again: a field error, not a session.
	r = e.page("POST", "/ui/signup", url.Values{"email": {"new@example.com"}, "password": {goodPassword}})
	if body := r.wantHTML(t, http.StatusConflict); !strings.Contains(body, `id="email-error"`) {
		t.Fatalf("taken email: %s", body)
	}
}

func TestWebLoginWrongPasswordKeepsEmail(t *testing.T) {
	e := newEnv(t, withPages)
	e.signup("ann@example.com")
	r := e.page("POST", "/ui/login", url.Values{"email": {"ann@example.com"}, "password": {"wrong password 123"}})
	body := r.wantHTML(t, http.StatusUnauthorized)
	if !strings.Contains(body, `value="ann@example.com"`) || strings.Contains(body, "wrong password 123") {
		t.Fatalf("want the email kept and the password dropped: %s", body)
	}
	if !strings.Contains(body, `role="alert">The email or password is not right.<`) {
		t.Fatalf("no generic alert: %s", body)
	}
	// An unknown account reads the same.
	other := e.page("POST", "/ui/login", url.Values{"email": {"nobody@example.com"}, "password": {"wrong password 123"}}).wantHTML(t, http.StatusUnauthorized)
	if strings.ReplaceAll(other, "nobody@example.com", "ann@example.com") != stripNonce(body, other) {
		t.Fatalf("unknown account answers differently: %s", other)
	}
	for _, c := range r.Cookies() {
		if c.Name == httpapi.SessionCookie {
			t.Fatalf("a wrong password set a session cookie")
		}
	}
	e.page("POST", "/ui/login", url.Values{"email": {"ann@example.com"}, "password": {goodPassword}}).wantRedirect(t, "/ui/account")
}

func TestWebLoginRateLimitSaysWhen(t *testing.T) {
	e := newEnv(t, withPages)
	e.signup("ann@example.com")
	var r *resp
	for range 10 {
		r = e.page("POST", "/ui/login", url.Values{"email": {"ann@example.com"}, "password": {"wrong password 123"}})
		if r.StatusCode == http.StatusTooManyRequests {
			break
		}
	}
	body := r.wantHTML(t, http.StatusTooManyRequests)
	if r.Header.Get("Retry-After") == "" || !strings.Contains(body, "Too many attempts. Try again in 1 minute.") {
		t.Fatalf("Retry-After %q; body %s", r.Header.Get("Retry-After"), body)
	}
}

func TestWebLoginWithTOTP(t *testing.T) {
	e := newEnv(t, withPages)
	ck := e.signup("mfa@example.com")
	seed, recovery := e.enrolHTTP(ck)

	r := e.page("POST", "/ui/login", url.Values{"email": {"mfa@example.com"}, "password": {goodPassword}, "return_to": {"https://app.example.com/cb"}})
	body := r.wantHTML(t, http.StatusOK)
	tok := hidden(t, body, "mfa_token")
	if tok == "" || !strings.Contains(body, `autocomplete="one-time-code"`) || hidden(t, body, "return_to") != "https://app.example.com/cb" {
		t.Fatalf("second-step page: %s", body)
	}
	if len(r.Cookies()) != 0 {
		t.Fatalf("cookies before the second factor: %v", r.Cookies())
	}
	// A wrong code: the form again, same token, an error on the field.
	r = e.page("POST", "/ui/mfa", url.Values{"mfa_token": {tok}, "code": {"000000"}, "return_to": {"https://app.example.com/cb"}})
	body = r.wantHTML(t, http.StatusBadRequest)
	if hidden(t, body, "mfa_token") != tok || !strings.Contains(body, `id="code-error"`) {
		t.Fatalf("wrong code page: %s", body)
	}
	r = e.page("POST", "/ui/mfa", url.Values{"mfa_token": {tok}, "code": {mfa.Code(seed, e.clock.Now())}, "return_to": {"https://app.example.com/cb"}})
	r.wantRedirect(t, "https://app.example.com/cb")
	full := sessionCookie(t, r)
	if m := e.do("GET", "/v1/session", nil, withCookie(full)...).json(t); !strings.Contains(strings.Join(toStrings(m["session"].(map[string]any)["amr"]), ","), "mfa") {
		t.Fatalf("session %v", m)
	}
	// The token is spent: the page says to sign in again.
	body = e.page("POST", "/ui/mfa", url.Values{"mfa_token": {tok}, "code": {"123456"}}).wantHTML(t, http.StatusUnauthorized)
	if !strings.Contains(body, "Sign in again") || !strings.Contains(body, `href="/ui/login"`) {
		t.Fatalf("used token: %s", body)
	}
	e.page("GET", "/ui/mfa", nil).wantHTML(t, http.StatusUnauthorized)

	// A recovery code works too; the recovery button makes a stray app code not count.
	body = e.page("POST", "/ui/login", url.Values{"email": {"mfa@example.com"}, "password": {goodPassword}}).wantHTML(t, http.StatusOK)
	tok = hidden(t, body, "mfa_token")
	body = e.page("POST", "/ui/mfa", url.Values{"mfa_token": {tok}, "recovery_code": {"not-a-code"}, "method": {"recovery"}}).wantHTML(t, http.StatusBadRequest)
	if !strings.Contains(body, `id="recovery_code-error"`) || hidden(t, body, "method") != "recovery" {
		t.Fatalf("wrong recovery code: %s", body)
	}
	r = e.page("POST", "/ui/mfa", url.Values{"mfa_token": {tok}, "code": {"999999"}, "recovery_code": {recovery[0]}, "method": {"recovery"}})
	r.wantRedirect(t, "/ui/account")
}

// stripNonce returns a with its nonce replaced by b's, so that two pages compare equal when
// only their nonces differ.
func stripNonce(a, b string) string {
	na, nb := regexp.MustCompile(`nonce="([^"]+)"`).FindStringSubmatch(a), regexp.MustCompile(`nonce="([^"]+)"`).FindStringSubmatch(b)
	if na == nil || nb == nil {
		return a
	}
	return strings.ReplaceAll(a, na[1], nb[1])
}

var (
	cspNonce = regexp.MustCompile(`script-src 'nonce-([A-Za-z0-9_-]+)'`)
	tagNonce = regexp.MustCompile(`<(script|style|link)\b[^>]*>`)
)

func TestWebPagesHaveNonceCSP(t *testing.T) {
	e := newEnv(t, withPages)
	seen := map[string]bool{}
	for _, path := range []string{"/ui/login", "/ui/login", "/ui/signup", "/ui/logout", "/ui/nope"} {
		r := e.page("GET", path, nil)
		csp := r.Header.Get("Content-Security-Policy")
		m := cspNonce.FindStringSubmatch(csp)
		if m == nil {
			t.Fatalf("%s: CSP %q has no nonce", path, csp)
		}
		for _, want := range []string{"default-src 'none'", "style-src 'self' 'nonce-" + m[1] + "'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self' " + testIssuer + " https://app.example.com", "connect-src 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", path, csp, want)
			}
		}
		if seen[m[1]] {
			t.Fatalf("nonce %q used twice", m[1])
		}
		seen[m[1]] = true
		for h, v := range map[string]string{"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"} {
			if r.Header.Get(h) != v {
				t.Errorf("%s: %s = %q", path, h, r.Header.Get(h))
			}
		}
		tags := tagNonce.FindAllString(string(r.body), -1)
		if len(tags) < 2 {
			t.Fatalf("%s: %d script/style tags", path, len(tags))
		}
		for _, tag := range tags {
			if !strings.Contains(tag, `nonce="`+m[1]+`"`) {
				t.Errorf("%s: tag %s does not carry the nonce %s", path, tag, m[1])
			}
		}
	}
}

func TestWebCrossSitePostRefusedWithPage(t *testing.T) {
	e := newEnv(t, withPages)
	e.signup("ann@example.com")
	r := e.page("POST", "/ui/login", url.Values{"email": {"ann@example.com"}, "password": {goodPassword}}, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
	body := r.wantHTML(t, http.StatusForbidden)
	if !strings.Contains(body, "another site") || len(r.Cookies()) != 0 {
		t.Fatalf("cross-site post: cookies %v body %s", r.Cookies(), body)
	}
	// The JSON API keeps its JSON answer.
	e.do("POST", "/v1/login", map[string]string{"email": "ann@example.com", "password": goodPassword}, "Sec-Fetch-Site", "cross-site").
		wantError(t, http.StatusForbidden, "cross_origin_request")
}

func TestWebReturnTo(t *testing.T) {
	e := newEnv(t, withPages)
	ck := e.signup("ann@example.com")
	for _, tc := range []struct{ in, want string }{
		{"/dashboard?tab=1#top", "/dashboard?tab=1#top"},
		{"https://app.example.com/cb?x=1", "https://app.example.com/cb?x=1"},
		{testIssuer + "/ui/account", testIssuer + "/ui/account"},
		{"//evil.example", "/ui/account"},
		{`/\evil.example`, "/ui/account"},
		{"/\t/evil.example", "/ui/account"},
		{"https://evil.example", "/ui/account"},
		{"javascript:alert(1)", "/ui/account"},
		{"https://app.example.com.evil.example/", "/ui/account"},
		{"https://app.example.com@evil.example/", "/ui/account"},
		{"https://evil.example@app.example.com/", "/ui/account"},
		{"http://app.example.com/", "/ui/account"},
		{"%2F%2Fevil.example", "/ui/account"},
		{"https:%2F%2Fevil.example", "/ui/account"},
	} {
		r := e.page("GET", "/ui/login?return_to="+url.QueryEscape(tc.in), nil, withCookie(ck)...)
		if loc := r.Header.Get("Location"); r.StatusCode != http.StatusSeeOther || loc != tc.want {
			t.Errorf("return_to %q: %d to %q, want %q", tc.in, r.StatusCode, loc, tc.want)
		}
	}
	// A refused return_to is not echoed into the form either.
	body := e.page("GET", "/ui/login?return_to="+url.QueryEscape("https://evil.example"), nil).wantHTML(t, http.StatusOK)
	if strings.Contains(body, "evil.example") {
		t.Fatalf("refused return_to echoed: %s", body)
	}
}

func TestWebEscapesInput(t *testing.T) {
	e := newEnv(t, withPages)
	const evil = `"><script>alert(1)</script>`
	body := e.page("GET", "/ui/login?login_hint="+url.QueryEscape(evil), nil).wantHTML(t, http.StatusOK)
	if strings.Contains(body, "<script>alert") || !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Fatalf("login_hint not escaped: %s", body)
	}
	body = e.page("POST", "/ui/signup", url.Values{"email": {evil}, "password": {goodPassword}}).wantHTML(t, http.StatusBadRequest)
	if strings.Contains(body, "<script>alert") || !strings.Contains(body, `id="email-error"`) {
		t.Fatalf("typed email not escaped: %s", body)
	}
}

func TestWebLogout(t *testing.T) {
	e := newEnv(t, withPages)
	ck := e.signup("ann@example.com")
	body := e.page("GET", "/ui/logout", nil, withCookie(ck)...).wantHTML(t, http.StatusOK)
	if !strings.Contains(body, `<form method="post" action="/ui/logout">`) {
		t.Fatalf("no confirm form: %s", body)
	}
	e.do("GET", "/v1/session", nil, withCookie(ck)...).wantStatus(t, http.StatusOK) // GET ends nothing
	r := e.page("POST", "/ui/logout", url.Values{"return_to": {"/bye"}}, withCookie(ck)...)
	r.wantRedirect(t, "/bye")
	if c := sessionCookie(t, r); c.MaxAge >= 0 {
		t.Fatalf("cookie not cleared: %+v", c)
	}
	e.do("GET", "/v1/session", nil, withCookie(ck)...).wantError(t, http.StatusUnauthorized, "unauthorized")
}

func TestWebSignInPageIsSmall(t *testing.T) {
	e := newEnv(t, withPages)
	r := e.page("GET", "/ui/login", nil)
	total := len(r.body)
	for _, ref := range regexp.MustCompile(`(?:href|src)="(/ui/assets/[^"]+)"`).FindAllStringSubmatch(string(r.body), -1) {
		a := e.page("GET", strings.ReplaceAll(ref[1], "&amp;", "&"), nil)
		a.wantStatus(t, http.StatusOK)
		if !strings.Contains(a.Header.Get("Cache-Control"), "immutable") {
			t.Errorf("%s: Cache-Control %q", ref[1], a.Header.Get("Cache-Control"))
		}
		total += len(a.body)
	}
	if total >= 30<<10 || total < 2000 {
		t.Fatalf("sign-in page with its assets is %d bytes", total)
	}
	if regexp.MustCompile(`(?:href|src)="(?:https?:)?//`).Match(r.body) {
		t.Fatalf("the page loads something from another origin: %s", r.body)
	}
}

func TestWebPasskeyButtonAndMetrics(t *testing.T) {
	plain := newEnv(t, withPages)
	if body := plain.page("GET", "/ui/login", nil).wantHTML(t, http.StatusOK); strings.Contains(body, `id="passkey-login"`) {
		t.Fatal("passkey button without passkeys")
	}
	e := newPasskeyEnv(t, withPages)
	if body := e.page("GET", "/ui/login?return_to=/x", nil).wantHTML(t, http.StatusOK); !strings.Contains(body, `id="passkey-login" data-return-to="/x"`) {
		t.Fatalf("no passkey button: %s", body)
	}
	// Sign-ins on the pages are counted like the API's.
	e.signup("ann@example.com")
	e.page("POST", "/ui/login", url.Values{"email": {"ann@example.com"}, "password": {"wrong password 123"}}).wantHTML(t, http.StatusUnauthorized)
	if m := e.do("GET", "/metrics", nil); !strings.Contains(string(m.body), `gatehouse_logins_total{outcome="failure"} 1`) {
		t.Fatalf("failure not counted")
	}
}
