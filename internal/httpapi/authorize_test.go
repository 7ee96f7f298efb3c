package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

const rpCallback = "https://rp.example/callback"

// noFollow is a client that shows redirects instead of following them.
func (e *env) noFollow(path string, c *http.Cookie) *http.Response {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
	if c != nil {
		req.AddCookie(c)
	}
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := cl.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	return res
}

func (e *env) registerClient(typ string, firstParty bool, scopes ...string) (id, secret string) {
	e.t.Helper()
	body := map[string]any{"name": "RP " + typ, "type": typ, "redirect_uris": []string{rpCallback}, "first_party": firstParty}
	if len(scopes) > 0 {
		body["allowed_scopes"] = scopes
	}
	r := e.do("POST", "/v1/admin/clients", body, asAdmin()...)
	r.wantStatus(e.t, http.StatusCreated)
	m := r.json(e.t)
	s, _ := m["client_secret"].(string)
	return m["client_id"].(string), s
}

// authorize runs GET /oauth/authorize with a session and returns the redirect's query.
func (e *env) authorize(cfg *oauth2.Config, c *http.Cookie, opts ...oauth2.AuthCodeOption) url.Values {
	e.t.Helper()
	u := cfg.AuthCodeURL("st-123", opts...)
	res := e.noFollow(strings.TrimPrefix(u, e.srv.URL), c)
	if res.StatusCode != http.StatusFound {
		e.t.Fatalf("authorize: status %d", res.StatusCode)
	}
	loc, _ := url.Parse(res.Header.Get("Location"))
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != rpCallback {
		e.t.Fatalf("redirected to %s", res.Header.Get("Location"))
	}
	return loc.Query()
}

func rpConfig(e *env, id, secret string, style oauth2.AuthStyle, scopes ...string) *oauth2.Config {
	return &oauth2.Config{ClientID: id, ClientSecret: secret, RedirectURL: rpCallback, Scopes: scopes,
		Endpoint: oauth2.Endpoint{AuthURL: e.srv.URL + "/oauth/authorize", TokenURL: e.srv.URL + "/oauth/token", AuthStyle: style}}
}

func (e *env) verifier(clientID string) *oidc.IDTokenVerifier {
	ks := oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), e.srv.Client()), e.srv.URL+"/.well-known/jwks.json")
	return oidc.NewVerifier(testIssuer, ks, &oidc.Config{ClientID: clientID, Now: e.clock.Now, SupportedSigningAlgs: []string{oidc.EdDSA, oidc.ES256, oidc.RS256}})
}

func (e *env) introspectActive(tok string) bool {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+"/oauth/introspect", strings.NewReader(url.Values{"token": {tok}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r := e.send(req, asAdmin()...)
	return r.json(e.t)["active"] == true
}

// TestAuthorizationCodeFlow drives the code flow with stock relying-party libraries
// (golang.org/x/oauth2, go-oidc) against the real server.
func TestAuthorizationCodeFlow(t *testing.T) {
	e := newEnv(t)
	e.signup("rp-user@example.com")
	cookie := e.login("rp-user@example.com")
	ctx := oidc.ClientContext(context.Background(), e.srv.Client())
	ctx = context.WithValue(ctx, oauth2.HTTPClient, e.srv.Client())

	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
		id, sec := e.registerClient("confidential", true, "openid", "email", "offline_access")
		cfg := rpConfig(e, id, sec, style, "openid", "email", "offline_access")
		pkce := oauth2.GenerateVerifier()
		q := e.authorize(cfg, cookie, oidc.Nonce("n-42"), oauth2.S256ChallengeOption(pkce))
		if q.Get("state") != "st-123" || q.Get("iss") != testIssuer || q.Get("code") == "" {
			t.Fatalf("authorization response %v", q)
		}
		tok, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(pkce))
		if err != nil {
			t.Fatalf("exchange (style %d): %v", style, err)
		}
		raw, _ := tok.Extra("id_token").(string)
		idt, err := e.verifier(id).Verify(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		if idt.Nonce != "n-42" {
			t.Fatalf("nonce = %q", idt.Nonce)
		}
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			t.Fatalf("at_hash: %v", err)
		}
		var claims struct {
			Email, Sid, Azp, Acr string
			AuthTime             int64 `json:"auth_time"`
		}
		if err := idt.Claims(&claims); err != nil || claims.Email != "rp-user@example.com" || claims.Sid == "" || claims.Azp != id || claims.AuthTime == 0 {
			t.Fatalf("claims %+v, %v", claims, err)
		}
		if tok.RefreshToken == "" {
			t.Fatal("offline_access granted but no refresh token")
		}
		// userinfo by scope, then a refresh for this client.
		ui := e.do("GET", "/oauth/userinfo", nil, withBearer(tok.AccessToken)...).json(t)
		if ui["email"] != "rp-user@example.com" {
			t.Fatalf("userinfo %v", ui)
		}
		tok.Expiry = e.clock.Now().Add(-1)
		nt, err := cfg.TokenSource(ctx, tok).Token()
		if err != nil || nt.RefreshToken == "" || nt.RefreshToken == tok.RefreshToken {
			t.Fatalf("refresh: %v %v", nt, err)
		}
		// The refresh token is useless at the first-party client.
		req, _ := http.NewRequest("POST", e.srv.URL+"/oauth/token", strings.NewReader(url.Values{"grant_type": {"refresh_token"}, "client_id": {"gatehouse"}, "refresh_token": {nt.RefreshToken}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		e.send(req).wantError(t, http.StatusBadRequest, "invalid_grant")
	}

	t.Run("no offline_access, no refresh token", func(t *testing.T) {
		id, sec := e.registerClient("confidential", true)
		cfg := rpConfig(e, id, sec, oauth2.AuthStyleInHeader, "openid")
		q := e.authorize(cfg, cookie)
		tok, err := cfg.Exchange(ctx, q.Get("code"))
		if err != nil || tok.RefreshToken != "" {
			t.Fatalf("exchange: %v, refresh %q", err, tok.RefreshToken)
		}
		ui := e.do("GET", "/oauth/userinfo", nil, withBearer(tok.AccessToken)...).json(t)
		if _, has := ui["email"]; has {
			t.Fatalf("userinfo without the email scope: %v", ui)
		}
	})

	t.Run("code replay revokes the first tokens", func(t *testing.T) {
		id, sec := e.registerClient("confidential", true)
		cfg := rpConfig(e, id, sec, oauth2.AuthStyleInHeader, "openid")
		q := e.authorize(cfg, cookie)
		tok, err := cfg.Exchange(ctx, q.Get("code"))
		if err != nil || !e.introspectActive(tok.AccessToken) {
			t.Fatalf("first exchange: %v", err)
		}
		if _, err := cfg.Exchange(ctx, q.Get("code")); err == nil {
			t.Fatal("a code was accepted twice")
		}
		if e.introspectActive(tok.AccessToken) {
			t.Fatal("tokens of a replayed code are still active")
		}
		for _, typ := range []string{"oauth_code.issued", "oauth_code.replayed", "oauth_client.created"} {
			ev := e.do("GET", "/v1/admin/events?type="+typ, nil, asAdmin()...).json(t)
			if list, _ := ev["events"].([]any); len(list) == 0 {
				t.Fatalf("no %s event: %v", typ, ev)
			}
		}
	})

	t.Run("public client needs PKCE", func(t *testing.T) {
		id, _ := e.registerClient("public", true)
		cfg := rpConfig(e, id, "", oauth2.AuthStyleInParams, "openid")
		q := e.authorize(cfg, cookie)
		if q.Get("error") != "invalid_request" || q.Get("state") != "st-123" || q.Get("iss") != testIssuer {
			t.Fatalf("without PKCE: %v", q)
		}
		q = e.authorize(cfg, cookie, oauth2.SetAuthURLParam("code_challenge", "x"), oauth2.SetAuthURLParam("code_challenge_method", "plain"))
		if q.Get("error") != "invalid_request" {
			t.Fatalf("plain PKCE: %v", q)
		}
		v := oauth2.GenerateVerifier()
		q = e.authorize(cfg, cookie, oauth2.S256ChallengeOption(v))
		if _, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption("wrong-"+v)); err == nil {
			t.Fatal("wrong verifier accepted")
		}
		q = e.authorize(cfg, cookie, oauth2.S256ChallengeOption(v))
		if _, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(v)); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("redirect_uri mismatch shows a page", func(t *testing.T) {
		id, _ := e.registerClient("public", true)
		for _, path := range []string{
			"/oauth/authorize?response_type=code&scope=openid&client_id=" + id + "&redirect_uri=" + url.QueryEscape("https://evil.example/cb"),
			"/oauth/authorize?response_type=code&scope=openid&client_id=unknown&redirect_uri=" + url.QueryEscape(rpCallback),
			"/oauth/authorize?response_type=code&client_id=" + id + "&redirect_uri=" + url.QueryEscape(rpCallback) + "&redirect_uri=" + url.QueryEscape(rpCallback),
		} {
			res := e.noFollow(path, cookie)
			if res.StatusCode != http.StatusBadRequest || res.Header.Get("Location") != "" || !strings.Contains(res.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
				t.Fatalf("%s: status %d, Location %q", path, res.StatusCode, res.Header.Get("Location"))
			}
		}
	})

	t.Run("prompt=none without session", func(t *testing.T) {
		id, _ := e.registerClient("public", true)
		cfg := rpConfig(e, id, "", oauth2.AuthStyleInParams, "openid")
		q := e.authorize(cfg, nil, oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("prompt", "none"))
		if q.Get("error") != "login_required" || q.Get("state") != "st-123" || q.Get("iss") != testIssuer {
			t.Fatalf("prompt=none: %v", q)
		}
		// Without prompt=none: to the sign-in page, and back to a parked request.
		u := cfg.AuthCodeURL("st-123", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
		res := e.noFollow(strings.TrimPrefix(u, e.srv.URL), nil)
		loc, _ := url.Parse(res.Header.Get("Location"))
		if res.StatusCode != http.StatusFound || loc.Path != "/ui/login" || !strings.HasPrefix(loc.Query().Get("return_to"), "/oauth/authorize/resume?request=") {
			t.Fatalf("no session: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		res = e.noFollow(loc.Query().Get("return_to"), cookie)
		back, _ := url.Parse(res.Header.Get("Location"))
		if res.StatusCode != http.StatusFound || back.Query().Get("code") == "" {
			t.Fatalf("resume: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
	})

	t.Run("consent id is bound to its session", func(t *testing.T) {
		id, sec := e.registerClient("confidential", false)
		cfg := rpConfig(e, id, sec, oauth2.AuthStyleInHeader, "openid")
		r := e.do("GET", strings.TrimPrefix(cfg.AuthCodeURL("st"), e.srv.URL), nil, withCookie(cookie)...)
		i := strings.Index(string(r.body), `name="consent_id" value="`)
		if i < 0 {
			t.Fatalf("no consent page: %s", r.body)
		}
		cid := string(r.body[i+len(`name="consent_id" value="`):])
		cid = cid[:strings.IndexByte(cid, '"')]
		e.signup("other-user@example.com")
		other := e.login("other-user@example.com")
		req, _ := http.NewRequest("POST", e.srv.URL+"/oauth/authorize/consent", strings.NewReader(url.Values{"consent_id": {cid}, "decision": {"allow"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(other)
		res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest || res.Header.Get("Location") != "" {
			t.Fatalf("another session used a consent id: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
	})

	t.Run("consent remembered", func(t *testing.T) {
		id, sec := e.registerClient("confidential", false)
		cfg := rpConfig(e, id, sec, oauth2.AuthStyleInHeader, "openid", "email")
		q := e.authorize(cfg, nil, oauth2.SetAuthURLParam("prompt", "none"))
		if q.Get("error") != "login_required" {
			t.Fatalf("%v", q)
		}
		u := strings.TrimPrefix(cfg.AuthCodeURL("st-123", oauth2.SetAuthURLParam("prompt", "none")), e.srv.URL)
		res := e.noFollow(u, cookie)
		loc, _ := url.Parse(res.Header.Get("Location"))
		if loc.Query().Get("error") != "consent_required" {
			t.Fatalf("prompt=none before consent: %s", res.Header.Get("Location"))
		}
		r := e.do("GET", strings.TrimPrefix(cfg.AuthCodeURL("st-123"), e.srv.URL), nil, withCookie(cookie)...)
		i := strings.Index(string(r.body), `name="consent_id" value="`)
		if r.StatusCode != http.StatusOK || i < 0 {
			t.Fatalf("consent page: %d %s", r.StatusCode, r.body)
		}
		cid := string(r.body[i+len(`name="consent_id" value="`):])
		cid = cid[:strings.IndexByte(cid, '"')]
		req, _ := http.NewRequest("POST", e.srv.URL+"/oauth/authorize/consent", strings.NewReader(url.Values{"consent_id": {cid}, "decision": {"allow"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(cookie)
		cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		pres, err := cl.Do(req)
		if err != nil || pres.StatusCode != http.StatusFound {
			t.Fatalf("consent post: %v %v", pres, err)
		}
		pres.Body.Close()
		// Remembered: prompt=none now answers with a code.
		q = e.authorize(cfg, cookie, oauth2.SetAuthURLParam("prompt", "none"))
		if q.Get("code") == "" {
			t.Fatalf("after consent: %v", q)
		}
		list := e.do("GET", "/v1/consents", nil, withCookie(cookie)...).json(t)
		if cs, _ := list["consents"].([]any); len(cs) == 0 {
			t.Fatalf("consents %v", list)
		}
		e.do("DELETE", "/v1/consents/"+id, nil, withCookie(cookie)...).wantStatus(t, http.StatusNoContent)
		q = e.authorize(cfg, cookie, oauth2.SetAuthURLParam("prompt", "none"))
		if q.Get("error") != "consent_required" {
			t.Fatalf("after revocation: %v", q)
		}
	})
}
