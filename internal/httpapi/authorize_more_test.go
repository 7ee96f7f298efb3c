package httpapi_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// follow runs an authorization URL (or a resume path) with cookie and returns where it sent
// the browser.
func (e *env) follow(path string, c *http.Cookie) *url.URL {
	e.t.Helper()
	res := e.noFollow(strings.TrimPrefix(path, e.srv.URL), c)
	if res.StatusCode != http.StatusFound {
		e.t.Fatalf("%s: status %d", path, res.StatusCode)
	}
	u, _ := url.Parse(res.Header.Get("Location"))
	return u
}

// TestAuthorizeReauthentication: prompt=login, max_age and acr_values send a signed-in user
// back to sign in; a sign-in after the request started satisfies them (no loop); an MFA
// request with a password-only sign-in ends in unmet_authentication_requirements.
func TestAuthorizeReauthentication(t *testing.T) {
	e := newEnv(t)
	e.signup("reauth@example.com")
	old := e.login("reauth@example.com")
	id, sec := e.registerClient("confidential", true)
	cfg := rpConfig(e, id, sec, oauth2.AuthStyleInHeader, "openid")

	for _, tc := range []struct {
		name string
		opt  oauth2.AuthCodeOption
	}{
		{"prompt=login", oauth2.SetAuthURLParam("prompt", "login")},
		{"select_account", oauth2.SetAuthURLParam("prompt", "select_account")},
		{"max_age", oauth2.SetAuthURLParam("max_age", "60")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.clock.Add(2 * time.Minute)
			login := e.follow(cfg.AuthCodeURL("st", tc.opt, oauth2.SetAuthURLParam("login_hint", "reauth@example.com")), old)
			if login.Path != "/ui/login" || login.Query().Get("prompt") != "login" || login.Query().Get("login_hint") != "reauth@example.com" {
				t.Fatalf("not sent to sign in: %s", login)
			}
			back := login.Query().Get("return_to")
			if !strings.HasPrefix(back, "/") || strings.HasPrefix(back, "//") {
				t.Fatalf("return_to %q is not a relative path", back)
			}
			// Coming back with the old sign-in is not enough: sent to sign in again.
			again := e.follow(back, old)
			if again.Path != "/ui/login" {
				t.Fatalf("old session accepted: %s", again)
			}
			// A fresh sign-in after the request started is.
			e.clock.Add(time.Second)
			fresh := e.login("reauth@example.com")
			done := e.follow(again.Query().Get("return_to"), fresh)
			if done.Query().Get("code") == "" || done.Query().Get("state") != "st" {
				t.Fatalf("after a fresh sign-in: %s", done)
			}
			// The handle is single-use.
			if res := e.noFollow(again.Query().Get("return_to"), fresh); res.StatusCode != http.StatusBadRequest || res.Header.Get("Location") != "" {
				t.Fatalf("resume handle reused: %d", res.StatusCode)
			}
		})
	}

	t.Run("acr mfa with a password session", func(t *testing.T) {
		login := e.follow(cfg.AuthCodeURL("st", oauth2.SetAuthURLParam("acr_values", "urn:gatehouse:acr:mfa")), old)
		if login.Path != "/ui/login" {
			t.Fatalf("password session accepted for mfa: %s", login)
		}
		e.clock.Add(time.Second)
		fresh := e.login("reauth@example.com")
		done := e.follow(login.Query().Get("return_to"), fresh)
		if done.Query().Get("error") != "unmet_authentication_requirements" || done.Query().Get("iss") != testIssuer {
			t.Fatalf("password sign-in for an mfa request: %s", done)
		}
	})
}

func TestAuthorizeFormPost(t *testing.T) {
	e := newEnv(t)
	e.signup("fp@example.com")
	c := e.login("fp@example.com")
	id, sec := e.registerClient("confidential", true)
	cfg := rpConfig(e, id, sec, oauth2.AuthStyleInHeader, "openid")
	r := e.do("GET", strings.TrimPrefix(cfg.AuthCodeURL("st<>", oauth2.SetAuthURLParam("response_mode", "form_post")), e.srv.URL), nil, withCookie(c)...)
	body := string(r.body)
	csp := r.Header.Get("Content-Security-Policy")
	if r.StatusCode != http.StatusOK || !strings.Contains(body, `action="`+rpCallback+`"`) || !strings.Contains(body, `name="code"`) ||
		!strings.Contains(body, `value="st&lt;&gt;"`) || !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'nonce-") {
		t.Fatalf("form_post: %d %s\n%s", r.StatusCode, csp, body)
	}
}

func postForm(e *env, path string, form url.Values, hdr ...string) *resp {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return e.send(req, hdr...)
}

// TestCodeGrantRefusals: the token endpoint's answers to bad code exchanges.
func TestCodeGrantRefusals(t *testing.T) {
	e := newEnv(t)
	e.signup("tg@example.com")
	c := e.login("tg@example.com")
	id, sec := e.registerClient("confidential", true)
	pub, _ := e.registerClient("public", true)
	cfg := rpConfig(e, id, sec, oauth2.AuthStyleInParams, "openid")
	code := func() string { return e.authorize(cfg, c).Get("code") }
	base := func(code string) url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {rpCallback}, "client_id": {id}, "client_secret": {sec}}
	}
	with := func(v url.Values, k, val string) url.Values { v.Set(k, val); return v }

	postForm(e, "/oauth/token", with(base(code()), "client_secret", "wrong")).wantError(t, http.StatusUnauthorized, "invalid_client")
	postForm(e, "/oauth/token", with(base(code()), "redirect_uri", "https://rp.example/other")).wantError(t, http.StatusBadRequest, "invalid_grant")
	postForm(e, "/oauth/token", with(base(code()), "code_verifier", oauth2.GenerateVerifier())).wantError(t, http.StatusBadRequest, "invalid_grant")
	postForm(e, "/oauth/token", base("gh_not_a_code")).wantError(t, http.StatusBadRequest, "invalid_grant")
	// Another client's code.
	v := oauth2.GenerateVerifier()
	pq := e.authorize(rpConfig(e, pub, "", oauth2.AuthStyleInParams, "openid"), c, oauth2.S256ChallengeOption(v))
	postForm(e, "/oauth/token", with(base(pq.Get("code")), "code_verifier", v)).wantError(t, http.StatusBadRequest, "invalid_grant")
	// A public client may not present a secret; the first-party id has no code grant.
	postForm(e, "/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "redirect_uri": {rpCallback}, "client_id": {pub}, "client_secret": {"s"}}).
		wantError(t, http.StatusUnauthorized, "invalid_client")
	postForm(e, "/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "redirect_uri": {rpCallback}, "client_id": {"gatehouse"}}).
		wantError(t, http.StatusUnauthorized, "invalid_client")
	// Late: a code lives 60 s.
	late := code()
	e.clock.Add(61 * time.Second)
	postForm(e, "/oauth/token", base(late)).wantError(t, http.StatusBadRequest, "invalid_grant")
	// The browser session ended before the exchange.
	ended := code()
	e.do("POST", "/v1/logout", map[string]string{}, withCookie(c)...).wantStatus(t, http.StatusNoContent)
	postForm(e, "/oauth/token", base(ended)).wantError(t, http.StatusBadRequest, "invalid_grant")
}

// TestDiscoveryEndpointsServed: every endpoint the discovery document advertises is served.
func TestDiscoveryEndpointsServed(t *testing.T) {
	e := newEnv(t)
	d := e.do("GET", "/.well-known/openid-configuration", nil).json(t)
	if d["authorization_response_iss_parameter_supported"] != true {
		t.Fatalf("discovery %v", d)
	}
	for k, v := range d {
		s, ok := v.(string)
		if !ok || !strings.HasSuffix(k, "_endpoint") && k != "jwks_uri" {
			continue
		}
		path := strings.TrimPrefix(s, testIssuer)
		for _, m := range []string{"GET", "POST"} {
			req, _ := http.NewRequest(m, e.srv.URL+path, nil)
			res, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusNotFound || res.StatusCode >= 500 {
				t.Errorf("%s %s (%s) = %d", m, path, k, res.StatusCode)
			}
		}
	}
}
