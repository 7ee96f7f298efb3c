package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi"
	gho "github.com/gatehouse-auth/gatehouse/internal/oidc"
	"github.com/gatehouse-auth/gatehouse/internal/outbox"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
)

const rpLoggedOut = "https://rp.example/logged-out"

// logoutToken is what a back-channel receiver got, verified.
type logoutToken struct {
	Typ    string
	Sub    string                    `json:"sub"`
	Sid    string                    `json:"sid"`
	Jti    string                    `json:"jti"`
	Nonce  *string                   `json:"nonce"`
	Events map[string]map[string]any `json:"events"`
}

// bclEnv is an env whose sessions manager notifies clients through a running back-channel
// worker, and a receiver that verifies every logout token with go-oidc.
type bclEnv struct {
	*env
	got      chan logoutToken
	receiver *httptest.Server
}

func newBCLEnv(t *testing.T, opts ...option) *bclEnv {
	// The hook is installed before the server starts (the notifier, which needs the env's
	// database, is built right after).
	var notifier atomic.Pointer[gho.Backchannel]
	e := newEnv(t, append([]option{func(c *httpapi.Config, _ *ratelimit.Policy) {
		c.Sessions.WithEndHook(func(ctx context.Context, ended []*sessions.Session) { notifier.Load().SessionsEnded(ctx, ended) })
	}}, opts...)...)
	b := &bclEnv{env: e, got: make(chan logoutToken, 10)}
	bc, err := gho.NewBackchannel(gho.NewService(e.db, e.clock.Now), e.db, e.tokens,
		gho.BackchannelConfig{Worker: outbox.Config{Poll: 20 * time.Millisecond}}, e.clock.Now, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	notifier.Store(bc)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); bc.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	b.receiver = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw := r.PostFormValue("logout_token")
		clientID := r.URL.Query().Get("client")
		ctx := oidc.ClientContext(context.Background(), e.srv.Client())
		if _, err := e.verifier(clientID).Verify(ctx, raw); err != nil {
			t.Errorf("logout token does not verify: %v", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		parts := strings.Split(raw, ".")
		hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
		pb, _ := base64.RawURLEncoding.DecodeString(parts[1])
		var h struct{ Typ string }
		var lt logoutToken
		json.Unmarshal(hb, &h)
		json.Unmarshal(pb, &lt)
		lt.Typ = h.Typ
		b.got <- lt
	}))
	t.Cleanup(b.receiver.Close)
	return b
}

// client registers a confidential first-party client with a post-logout redirect and,
// when bcl, a back-channel logout URI at the receiver.
func (b *bclEnv) client(bcl bool) (id, sec string) {
	b.t.Helper()
	body := map[string]any{"name": "Logout RP", "type": "confidential", "redirect_uris": []string{rpCallback},
		"post_logout_redirect_uris": []string{rpLoggedOut}, "first_party": true,
		"allowed_scopes": []string{"openid", "email", "offline_access"}}
	r := b.do("POST", "/v1/admin/clients", body, asAdmin()...)
	r.wantStatus(b.t, http.StatusCreated)
	m := r.json(b.t)
	id, sec = m["client_id"].(string), m["client_secret"].(string)
	if bcl {
		r := b.do("PATCH", "/v1/admin/clients/"+id, map[string]any{"backchannel_logout_uri": b.receiver.URL + "/bcl?client=" + id,
			"backchannel_logout_session_required": true}, asAdmin()...)
		r.wantStatus(b.t, http.StatusOK)
		if r.json(b.t)["backchannel_logout_uri"] == "" {
			b.t.Fatal("backchannel_logout_uri not kept")
		}
	}
	return id, sec
}

// flow runs the code flow and returns the tokens and the ID token's sid.
func (b *bclEnv) flow(cfg *oauth2.Config, cookie *http.Cookie) (*oauth2.Token, string, string) {
	b.t.Helper()
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, b.srv.Client())
	q := b.authorize(cfg, cookie)
	tok, err := cfg.Exchange(ctx, q.Get("code"))
	if err != nil {
		b.t.Fatal(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := b.verifier(cfg.ClientID).Verify(oidc.ClientContext(context.Background(), b.srv.Client()), raw)
	if err != nil {
		b.t.Fatal(err)
	}
	var c struct{ Sid string }
	idt.Claims(&c)
	return tok, raw, c.Sid
}

func (b *bclEnv) wantLogoutToken(t *testing.T, sub, sid string) {
	t.Helper()
	select {
	case lt := <-b.got:
		if lt.Typ != "logout+jwt" || lt.Sub != sub || lt.Sid != sid || lt.Jti == "" || lt.Nonce != nil ||
			lt.Events == nil || lt.Events["http://schemas.openid.net/event/backchannel-logout"] == nil {
			t.Fatalf("logout token %+v, want sub %s sid %s", lt, sub, sid)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no logout token for sid %s", sid)
	}
}

func (b *bclEnv) wantNoLogoutToken(t *testing.T) {
	t.Helper()
	select {
	case lt := <-b.got:
		t.Fatalf("unexpected logout token %+v", lt)
	case <-time.After(200 * time.Millisecond):
	}
}

func (e *env) userIDOf(c *http.Cookie) string {
	e.t.Helper()
	return e.do("GET", "/v1/session", nil, withCookie(c)...).json(e.t)["user"].(map[string]any)["id"].(string)
}

func (e *env) sessionLive(c *http.Cookie) bool {
	return e.do("GET", "/v1/session", nil, withCookie(c)...).StatusCode == http.StatusOK
}

func TestRPInitiatedLogout(t *testing.T) {
	b := newBCLEnv(t)
	b.signup("logout@example.com")

	d := b.do("GET", "/.well-known/openid-configuration", nil).json(t)
	if d["end_session_endpoint"] != testIssuer+"/oauth/logout" || d["backchannel_logout_supported"] != true || d["backchannel_logout_session_supported"] != true {
		t.Fatalf("discovery %v", d)
	}

	t.Run("id_token_hint ends both sessions and redirects with state", func(t *testing.T) {
		cookie := b.login("logout@example.com")
		id, sec := b.client(true)
		cfg := rpConfig(b.env, id, sec, oauth2.AuthStyleInHeader, "openid", "offline_access")
		tok, raw, sid := b.flow(cfg, cookie)
		b.clock.Add(90 * time.Minute) // the hint has expired: it still names its session
		cookie2 := b.login("logout@example.com")
		_ = cookie
		res := b.noFollow("/oauth/logout?"+url.Values{"id_token_hint": {raw}, "post_logout_redirect_uri": {rpLoggedOut}, "state": {"bye"}}.Encode(), cookie2)
		if res.StatusCode != http.StatusFound || res.Header.Get("Location") != rpLoggedOut+"?state=bye" {
			t.Fatalf("logout: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		if b.sessionLive(cookie2) {
			t.Fatal("the browser session survived")
		}
		if cleared := res.Header.Get("Set-Cookie"); !strings.Contains(cleared, "Max-Age=0") && !strings.Contains(cleared, "Expires=Thu, 01 Jan 1970") {
			t.Fatalf("cookie not cleared: %q", cleared)
		}
		ctx := context.WithValue(context.Background(), oauth2.HTTPClient, b.srv.Client())
		tok.Expiry = b.clock.Now().Add(-1)
		if _, err := cfg.TokenSource(ctx, tok).Token(); err == nil {
			t.Fatal("refresh after logout worked")
		}
		b.wantLogoutToken(t, b.userIDOf(b.login("logout@example.com")), sid)
	})

	t.Run("unregistered post_logout_redirect_uri shows a page", func(t *testing.T) {
		cookie := b.login("logout@example.com")
		id, sec := b.client(false)
		_, raw, _ := b.flow(rpConfig(b.env, id, sec, oauth2.AuthStyleInHeader, "openid"), cookie)
		res := b.noFollow("/oauth/logout?"+url.Values{"id_token_hint": {raw}, "post_logout_redirect_uri": {"https://evil.example/"}}.Encode(), cookie)
		if res.StatusCode != http.StatusBadRequest || res.Header.Get("Location") != "" {
			t.Fatalf("status %d location %q", res.StatusCode, res.Header.Get("Location"))
		}
		if !b.sessionLive(cookie) {
			t.Fatal("refused logout ended the session")
		}
		// client_id that is not the hint's audience.
		other, _ := b.client(false)
		res = b.noFollow("/oauth/logout?"+url.Values{"id_token_hint": {raw}, "client_id": {other}}.Encode(), cookie)
		if res.StatusCode != http.StatusBadRequest || !b.sessionLive(cookie) {
			t.Fatalf("mismatched client_id: %d", res.StatusCode)
		}
		// A forged hint is refused.
		res = b.noFollow("/oauth/logout?"+url.Values{"id_token_hint": {raw[:len(raw)-4] + "AAAA"}}.Encode(), cookie)
		if res.StatusCode != http.StatusBadRequest || !b.sessionLive(cookie) {
			t.Fatalf("forged hint: %d", res.StatusCode)
		}
	})

	t.Run("without a hint the user confirms", func(t *testing.T) {
		cookie := b.login("logout@example.com")
		id, _ := b.client(false)
		r := b.do("GET", "/oauth/logout?"+url.Values{"client_id": {id}, "post_logout_redirect_uri": {rpLoggedOut}, "state": {"s1"}}.Encode(), nil, withCookie(cookie)...)
		r.wantStatus(t, http.StatusOK)
		if !b.sessionLive(cookie) {
			t.Fatal("a GET without hint ended the session")
		}
		body := string(r.body)
		i := strings.Index(body, `name="logout_id" value="`)
		if i < 0 {
			t.Fatalf("no confirmation form: %s", body)
		}
		lid := body[i+len(`name="logout_id" value="`):]
		lid = lid[:strings.IndexByte(lid, '"')]
		post := func(form url.Values, hdr ...string) *http.Response {
			req, _ := http.NewRequest("POST", b.srv.URL+"/oauth/logout/confirm", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.AddCookie(cookie)
			for i := 0; i+1 < len(hdr); i += 2 {
				req.Header.Set(hdr[i], hdr[i+1])
			}
			cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			res, err := cl.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			return res
		}
		// A cross-site post of the form is refused.
		if res := post(url.Values{"logout_id": {lid}, "decision": {"logout"}}, "Sec-Fetch-Site", "cross-site"); res.StatusCode != http.StatusForbidden || !b.sessionLive(cookie) {
			t.Fatalf("cross-site confirm: %d", res.StatusCode)
		}
		res := post(url.Values{"logout_id": {lid}, "decision": {"logout"}}, "Sec-Fetch-Site", "same-origin")
		if res.StatusCode != http.StatusFound || res.Header.Get("Location") != rpLoggedOut+"?state=s1" {
			t.Fatalf("confirm: %d %q", res.StatusCode, res.Header.Get("Location"))
		}
		if b.sessionLive(cookie) {
			t.Fatal("confirmed logout left the session")
		}
		if res := post(url.Values{"logout_id": {lid}, "decision": {"logout"}}); res.StatusCode != http.StatusBadRequest {
			t.Fatalf("confirmation replayed: %d", res.StatusCode)
		}
	})

	t.Run("no session, no hint: signed-out page", func(t *testing.T) {
		r := b.do("GET", "/oauth/logout", nil)
		r.wantStatus(t, http.StatusOK)
		if !strings.Contains(string(r.body), "signed out") {
			t.Fatalf("page %s", r.body)
		}
	})
}

func TestBackchannelLogout(t *testing.T) {
	b := newBCLEnv(t)
	browser := b.signup("bcl@example.com")
	uid := b.userIDOf(browser)
	id, sec := b.client(true)
	cfg := rpConfig(b.env, id, sec, oauth2.AuthStyleInHeader, "openid", "offline_access")
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, b.srv.Client())

	t.Run("first-party logout notifies nobody", func(t *testing.T) {
		c := b.login("bcl@example.com")
		b.do("POST", "/v1/logout", map[string]any{}, withCookie(c)...).wantStatus(t, http.StatusNoContent)
		b.wantNoLogoutToken(t)
	})

	t.Run("admin logout", func(t *testing.T) {
		_, _, sid := b.flow(cfg, browser)
		b.do("POST", "/v1/admin/users/"+uid+"/logout", nil, asAdmin()...).wantStatus(t, http.StatusOK)
		b.wantLogoutToken(t, uid, sid)
		browser = b.login("bcl@example.com")
	})

	t.Run("refresh token reuse", func(t *testing.T) {
		tok, _, sid := b.flow(cfg, browser)
		old := tok.RefreshToken
		tok.Expiry = b.clock.Now().Add(-1)
		if _, err := cfg.TokenSource(ctx, tok).Token(); err != nil {
			t.Fatal(err)
		}
		b.clock.Add(time.Minute) // past the grace interval: the old token is reuse
		tok2 := &oauth2.Token{RefreshToken: old, Expiry: b.clock.Now().Add(-1)}
		if _, err := cfg.TokenSource(ctx, tok2).Token(); err == nil {
			t.Fatal("reused refresh token accepted")
		}
		b.wantLogoutToken(t, uid, sid)
	})

	t.Run("RFC 7009 revocation by the client", func(t *testing.T) {
		tok, _, sid := b.flow(cfg, browser)
		other, osec := b.client(false)
		revoke := func(id, sec string) {
			req, _ := http.NewRequest("POST", b.srv.URL+"/oauth/revoke", strings.NewReader(url.Values{"token": {tok.RefreshToken}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(id, sec)
			b.send(req).wantStatus(t, http.StatusOK)
		}
		revoke(other, osec) // another client's token: left alone
		b.wantNoLogoutToken(t)
		if !b.introspectActive(tok.AccessToken) {
			t.Fatal("another client revoked this client's session")
		}
		req, _ := http.NewRequest("POST", b.srv.URL+"/oauth/revoke", strings.NewReader(url.Values{"token": {tok.RefreshToken}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(id, "wrong")
		b.send(req).wantError(t, http.StatusUnauthorized, "invalid_client")
		revoke(id, sec)
		b.wantLogoutToken(t, uid, sid)
		if b.introspectActive(tok.AccessToken) {
			t.Fatal("access token alive after its session was revoked")
		}
	})

	t.Run("deleting the client kills its tokens", func(t *testing.T) {
		id2, sec2 := b.client(false)
		cfg2 := rpConfig(b.env, id2, sec2, oauth2.AuthStyleInHeader, "openid")
		tok, _, _ := b.flow(cfg2, browser)
		b.do("GET", "/oauth/userinfo", nil, withBearer(tok.AccessToken)...).wantStatus(t, http.StatusOK)
		b.do("DELETE", "/v1/admin/clients/"+id2, nil, asAdmin()...).wantStatus(t, http.StatusNoContent)
		b.do("GET", "/oauth/userinfo", nil, withBearer(tok.AccessToken)...).wantError(t, http.StatusUnauthorized, "invalid_token")
	})

	t.Run("password reset and disable notify", func(t *testing.T) {
		_, _, sid := b.flow(cfg, browser)
		b.do("PATCH", "/v1/admin/users/"+uid, map[string]any{"disabled": true}, asAdmin()...).wantStatus(t, http.StatusOK)
		b.wantLogoutToken(t, uid, sid)
	})
}

// With the hosted pages on, the confirmation of a logout without id_token_hint and the
// signed-out page are the styled pages, and the confirmation's form-action allows the
// registered post-logout URI (browsers check form-action on the redirect after the post).
func TestRPLogoutHostedPages(t *testing.T) {
	b := newBCLEnv(t, withPages)
	b.signup("styled@example.com")
	cookie := b.login("styled@example.com")
	id, _ := b.client(false)
	r := b.do("GET", "/oauth/logout?"+url.Values{"client_id": {id}, "post_logout_redirect_uri": {rpLoggedOut}}.Encode(), nil, withCookie(cookie)...)
	r.wantStatus(t, http.StatusOK)
	body := string(r.body)
	csp := r.Header.Get("Content-Security-Policy")
	if !strings.Contains(body, "/ui/assets/") || !strings.Contains(body, `name="logout_id"`) || !strings.Contains(body, "Logout RP") {
		t.Fatalf("not the styled confirmation: %s", body)
	}
	if !strings.Contains(csp, "form-action 'self' https://rp.example;") && !strings.HasSuffix(csp, "form-action 'self' https://rp.example") {
		t.Fatalf("form-action does not allow the post-logout URI: %q", csp)
	}
	if !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "'nonce-") {
		t.Fatalf("csp %q", csp)
	}
	if !b.sessionLive(cookie) {
		t.Fatal("the GET ended the session")
	}
	r = b.do("GET", "/oauth/logout", nil)
	r.wantStatus(t, http.StatusOK)
	if !strings.Contains(string(r.body), "You are signed out") || !strings.Contains(string(r.body), "/ui/assets/") {
		t.Fatalf("signed-out page: %s", r.body)
	}
}
