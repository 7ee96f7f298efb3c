package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// The tests of this file follow the OpenID Foundation's Basic OP and Config OP certification
// plans (docs/oidc.md, "Conformance checklist"), one behaviour each.

// codeTokens runs a code flow with a session and returns the tokens.
func (e *env) codeTokens(cfg *oauth2.Config, c *http.Cookie, opts ...oauth2.AuthCodeOption) *oauth2.Token {
	e.t.Helper()
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, e.srv.Client())
	tok, err := cfg.Exchange(ctx, e.authorize(cfg, c, opts...).Get("code"))
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// noFollowDo sends req and returns the answer without following redirects.
func (e *env) noFollowDo(req *http.Request) *http.Response {
	e.t.Helper()
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := cl.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	return res
}

// oidcc-userinfo-get, -post-header, -post-body (RFC 6750 §2.1, §2.2).
func TestUserinfoMethods(t *testing.T) {
	e := newEnv(t)
	e.signup("ui@example.com")
	c := e.login("ui@example.com")
	id, sec := e.registerClient("confidential", true, "openid", "email")
	at := e.codeTokens(rpConfig(e, id, sec, oauth2.AuthStyleInHeader, "openid", "email"), c).AccessToken

	check := func(name string, r *resp) {
		t.Helper()
		r.wantStatus(t, http.StatusOK)
		if m := r.json(t); m["email"] != "ui@example.com" || m["sub"] == "" {
			t.Fatalf("%s: %v", name, m)
		}
	}
	check("get", e.do("GET", "/oauth/userinfo", nil, withBearer(at)...))
	check("post header", e.do("POST", "/oauth/userinfo", nil, withBearer(at)...))
	check("post body", postForm(e, "/oauth/userinfo", url.Values{"access_token": {at}}))
	// Two ways at once is refused (RFC 6750 §2); a bad body token is invalid_token.
	postForm(e, "/oauth/userinfo", url.Values{"access_token": {at}}, withBearer(at)...).wantError(t, http.StatusBadRequest, "invalid_request")
	postForm(e, "/oauth/userinfo", url.Values{"access_token": {at[:len(at)-4] + "AAAA"}}).wantError(t, http.StatusUnauthorized, "invalid_token")
	postForm(e, "/oauth/userinfo", url.Values{}).wantError(t, http.StatusUnauthorized, "invalid_token")
}

// oidcc-ensure-post-request-succeeds: the relying party's cross-site form post is turned into
// the equivalent GET, which carries the SameSite=Lax session cookie.
func TestAuthorizeByPost(t *testing.T) {
	e := newEnv(t)
	e.signup("post@example.com")
	c := e.login("post@example.com")
	id, _ := e.registerClient("confidential", true)
	form := url.Values{"response_type": {"code"}, "client_id": {id}, "redirect_uri": {rpCallback}, "scope": {"openid"}, "state": {"s-post"}, "nonce": {"n"}}
	post := func(path string, body url.Values) *http.Response {
		req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(body.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://rp.example")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		return e.noFollowDo(req)
	}
	res := post("/oauth/authorize", form)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("POST /oauth/authorize = %d %v", res.StatusCode, res.Header)
	}
	loc, _ := url.Parse(res.Header.Get("Location"))
	if loc.Path != "/oauth/authorize" || loc.Query().Encode() != form.Encode() {
		t.Fatalf("redirected to %s", loc)
	}
	done := e.follow(loc.String(), c)
	if done.Query().Get("code") == "" || done.Query().Get("state") != "s-post" {
		t.Fatalf("GET after the post: %s", done)
	}
	// Only the authorization endpoint is exempt: other cross-site posts stay refused.
	if r := post("/oauth/authorize/consent", url.Values{"consent_id": {"x"}}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site consent post = %d", r.StatusCode)
	}
	// Parameters travel in the form only.
	if r := post("/oauth/authorize?client_id="+id, form); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("query on POST = %d", r.StatusCode)
	}
}

// oidcc-id-token-hint: the hint's user signed in → a code (also with prompt=none); another
// user signed in → login_required with prompt=none, else a new sign-in.
func TestAuthorizeIDTokenHint(t *testing.T) {
	e := newEnv(t)
	e.signup("hint-a@example.com")
	e.signup("hint-b@example.com")
	a := e.login("hint-a@example.com")
	id, sec := e.registerClient("confidential", true)
	cfg := rpConfig(e, id, sec, oauth2.AuthStyleInHeader, "openid")
	hint, _ := e.codeTokens(cfg, a).Extra("id_token").(string)
	if hint == "" {
		t.Fatal("no id_token")
	}
	e.clock.Add(2 * time.Hour) // an expired hint still names its user
	withHint := oauth2.SetAuthURLParam("id_token_hint", hint)
	none := oauth2.SetAuthURLParam("prompt", "none")

	a = e.login("hint-a@example.com") // the first sessions went idle during the two hours
	b := e.login("hint-b@example.com")
	if q := e.authorize(cfg, a, withHint, none); q.Get("code") == "" {
		t.Fatalf("hint of the signed-in user: %v", q)
	}
	if q := e.authorize(cfg, b, withHint, none); q.Get("error") != "login_required" || q.Get("code") != "" {
		t.Fatalf("hint of another user, prompt=none: %v", q)
	}
	login := e.follow(cfg.AuthCodeURL("st", withHint), b)
	if login.Path != "/ui/login" || login.Query().Get("prompt") != "login" {
		t.Fatalf("hint of another user: %s", login)
	}
	// Signing in again as the other user does not satisfy the hint.
	e.clock.Add(time.Second)
	if q := e.follow(login.Query().Get("return_to"), e.login("hint-b@example.com")).Query(); q.Get("error") != "login_required" {
		t.Fatalf("after signing in as the other user: %v", q)
	}
	if q := e.authorize(cfg, a, oauth2.SetAuthURLParam("id_token_hint", hint[:len(hint)-4]+"AAAA")); q.Get("error") != "invalid_request" {
		t.Fatalf("forged hint: %v", q)
	}
}

// oidcc-ensure-request-with-unknown-parameter-succeeds, -display-page/-popup, -ui-locales,
// -claims-locales, -claims-essential, -ensure-request-with-acr-values-succeeds,
// -ensure-other-scope-order-succeeds, -scope-address/-phone, -ensure-request-without-nonce-
// succeeds-for-code-flow; request objects refused as unsupported.
func TestAuthorizeIgnoredParameters(t *testing.T) {
	e := newEnv(t)
	e.signup("params@example.com")
	c := e.login("params@example.com")
	id, sec := e.registerClient("confidential", true, "openid", "email")
	cfg := rpConfig(e, id, sec, oauth2.AuthStyleInHeader, "phone", "email", "address", "openid")
	p := oauth2.SetAuthURLParam
	tok := e.codeTokens(cfg, c, p("display", "popup"), p("ui_locales", "fr-CA fr"), p("claims_locales", "de"),
		p("claims", `{"id_token":{"email":{"essential":true}}}`), p("acr_values", "urn:mace:incommon:iap:silver"), p("x-extension", "1"))
	if s, _ := tok.Extra("scope").(string); s != "email openid" {
		t.Fatalf("granted scope %q", s)
	}
	idt, err := e.verifier(id).Verify(oidc.ClientContext(context.Background(), e.srv.Client()), tok.Extra("id_token").(string))
	if err != nil || idt.Nonce != "" {
		t.Fatalf("id token without nonce: %v %v", idt, err)
	}
	ui := e.do("GET", "/oauth/userinfo", nil, withBearer(tok.AccessToken)...).json(t)
	if ui["email"] != "params@example.com" || ui["address"] != nil || ui["phone_number"] != nil {
		t.Fatalf("userinfo %v", ui)
	}
	for param, code := range map[string]string{"request": "request_not_supported", "request_uri": "request_uri_not_supported"} {
		q := e.authorize(cfg, c, p(param, "eyJhbGciOiJub25lIn0.e30."))
		if q.Get("error") != code || q.Get("state") != "st-123" || q.Get("code") != "" {
			t.Fatalf("%s: %v", param, q)
		}
	}
}

// oidcc-max-age-1: a session older than max_age signs in again; auth_time tells when.
func TestAuthorizeMaxAge1(t *testing.T) {
	e := newEnv(t)
	e.signup("age@example.com")
	c := e.login("age@example.com")
	id, sec := e.registerClient("confidential", true)
	cfg := rpConfig(e, id, sec, oauth2.AuthStyleInHeader, "openid")
	e.clock.Add(2 * time.Second)
	login := e.follow(cfg.AuthCodeURL("st", oauth2.SetAuthURLParam("max_age", "1")), c)
	if login.Path != "/ui/login" {
		t.Fatalf("max_age=1 after 2 s: %s", login)
	}
	fresh := e.login("age@example.com")
	signedIn := e.clock.Now().Unix()
	e.clock.Add(time.Second)
	q := e.follow(login.Query().Get("return_to"), fresh).Query()
	ctx := context.WithValue(oidc.ClientContext(context.Background(), e.srv.Client()), oauth2.HTTPClient, e.srv.Client())
	tok, err := cfg.Exchange(ctx, q.Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	idt, err := e.verifier(id).Verify(ctx, tok.Extra("id_token").(string))
	var cl struct {
		AuthTime int64 `json:"auth_time"`
	}
	if err != nil || idt.Claims(&cl) != nil || cl.AuthTime != signedIn {
		t.Fatalf("auth_time %d, want %d (%v)", cl.AuthTime, signedIn, err)
	}
}

// oidcc-discovery-endpoint-verification and the Config OP checks: discovery says exactly what
// is supported, and the signing algorithm is the published keys'.
func TestDiscoveryConformance(t *testing.T) {
	e := newEnv(t)
	d := e.do("GET", "/.well-known/openid-configuration", nil).json(t)
	strs := func(k string) []string {
		var out []string
		for _, v := range d[k].([]any) {
			out = append(out, v.(string))
		}
		return out
	}
	if d["issuer"] != testIssuer || d["userinfo_endpoint"] != testIssuer+"/oauth/userinfo" ||
		d["request_parameter_supported"] != false || d["request_uri_parameter_supported"] != false || d["claims_parameter_supported"] != false {
		t.Fatalf("discovery %v", d)
	}
	if got := strs("scopes_supported"); !slices.Equal(got, []string{"openid", "email", "profile", "offline_access"}) {
		t.Fatalf("scopes_supported %v", got)
	}
	claims := strs("claims_supported")
	for _, c := range []string{"sub", "auth_time", "email", "name"} {
		if !slices.Contains(claims, c) {
			t.Errorf("claims_supported lacks %s", c)
		}
	}
	for _, c := range []string{"address", "phone_number"} {
		if slices.Contains(claims, c) {
			t.Errorf("claims_supported lists %s", c)
		}
	}
	algs := strs("id_token_signing_alg_values_supported")
	jwks := e.do("GET", "/.well-known/jwks.json", nil).json(t)
	keys := jwks["keys"].([]any)
	if len(keys) == 0 {
		t.Fatal("empty jwks")
	}
	for _, k := range keys {
		k := k.(map[string]any)
		if k["kid"] == "" || k["kid"] == nil || !slices.Contains(algs, k["alg"].(string)) {
			t.Fatalf("key %v, algorithms %v", k, algs)
		}
	}
}

// oidcc-codereuse-30seconds: a code used again 30 s later is refused and the tokens of its
// first use stop working; oidcc-response-type-missing: invalid_request at the redirect URI.
func TestCodeReuseAfter30Seconds(t *testing.T) {
	e := newEnv(t)
	e.signup("reuse@example.com")
	c := e.login("reuse@example.com")
	id, sec := e.registerClient("confidential", true)
	cfg := rpConfig(e, id, sec, oauth2.AuthStyleInParams, "openid")
	code := e.authorize(cfg, c).Get("code")
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {rpCallback}, "client_id": {id}, "client_secret": {sec}}
	r := postForm(e, "/oauth/token", form)
	r.wantStatus(t, http.StatusOK)
	at, _ := r.json(t)["access_token"].(string)
	e.do("GET", "/oauth/userinfo", nil, withBearer(at)...).wantStatus(t, http.StatusOK)
	e.clock.Add(30 * time.Second)
	postForm(e, "/oauth/token", form).wantError(t, http.StatusBadRequest, "invalid_grant")
	e.do("GET", "/oauth/userinfo", nil, withBearer(at)...).wantError(t, http.StatusUnauthorized, "invalid_token")

	u, _ := url.Parse(cfg.AuthCodeURL("st-rt"))
	q := u.Query()
	q.Del("response_type")
	if got := e.follow("/oauth/authorize?"+q.Encode(), c).Query(); got.Get("error") != "invalid_request" || got.Get("state") != "st-rt" {
		t.Fatalf("response_type missing: %v", got)
	}
}

// oidcc-scope-profile, -scope-all: profile claims (updated_at always) at userinfo only with
// the scope; address and phone are not granted.
func TestScopeProfile(t *testing.T) {
	e := newEnv(t)
	e.signup("profile@example.com")
	c := e.login("profile@example.com")
	id, sec := e.registerClient("confidential", true, "openid", "email", "profile")
	for _, tc := range []struct {
		scopes  []string
		profile bool
	}{
		{[]string{"openid", "profile"}, true},
		{[]string{"openid", "email", "profile", "address", "phone"}, true},
		{[]string{"openid", "email"}, false},
	} {
		tok := e.codeTokens(rpConfig(e, id, sec, oauth2.AuthStyleInHeader, tc.scopes...), c)
		ui := e.do("GET", "/oauth/userinfo", nil, withBearer(tok.AccessToken)...).json(t)
		if _, has := ui["updated_at"]; has != tc.profile || ui["address"] != nil || ui["phone_number"] != nil {
			t.Fatalf("scopes %v: userinfo %v", tc.scopes, ui)
		}
	}
}
