package httpapi_test

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/jws"
)

func (e *env) form(path string, v url.Values, hdr ...string) *resp {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return e.send(req, hdr...)
}

type tokenSet struct {
	Access, Refresh, ID, Session string
}

func (e *env) tokenLogin(email string) tokenSet {
	e.t.Helper()
	r := e.do("POST", "/v1/login", map[string]string{"email": email, "password": goodPassword, "delivery": "token"})
	r.wantStatus(e.t, http.StatusOK)
	return parseTokens(e.t, r)
}

func parseTokens(t testing.TB, r *resp) tokenSet {
	t.Helper()
	m := r.json(t)
	if m["token_type"] != "Bearer" {
		t.Fatalf("token_type: %s", r.body)
	}
	ts := tokenSet{Access: m["access_token"].(string), ID: m["id_token"].(string), Session: m["session_id"].(string)}
	ts.Refresh, _ = m["refresh_token"].(string)
	return ts
}

func (e *env) refresh(rt string) *resp {
	return e.form("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"gatehouse"}})
}

func TestTokenDelivery(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/v1/signup", map[string]string{"email": "a@example.com", "password": goodPassword, "delivery": "token"})
	r.wantStatus(t, http.StatusCreated)
	if len(r.Cookies()) != 0 {
		t.Fatal("token delivery set a cookie")
	}
	ts := parseTokens(t, r)
	if r.json(t)["expires_in"] != float64(600) || ts.Refresh == "" || ts.Session == "" {
		t.Fatalf("body: %s", r.body)
	}
	// The access token is a credential; the ID token is not.
	r = e.do("GET", "/v1/session", nil, withBearer(ts.Access)...)
	r.wantStatus(t, http.StatusOK)
	if r.json(t)["session"].(map[string]any)["id"] != ts.Session {
		t.Fatal("access token names another session")
	}
	e.do("GET", "/v1/session", nil, withBearer(ts.ID)...).wantError(t, http.StatusUnauthorized, "unauthorized")
	e.do("GET", "/oauth/userinfo", nil, withBearer(ts.ID)...).wantError(t, http.StatusUnauthorized, "invalid_token")
	r = e.do("GET", "/oauth/userinfo", nil, withBearer(ts.Access)...)
	r.wantStatus(t, http.StatusOK)
	if r.json(t)["email"] != "a@example.com" {
		t.Fatalf("userinfo: %s", r.body)
	}
	// The claims RFC 9068 asks for.
	tok, err := jws.Parse(ts.Access)
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	json.Unmarshal(tok.Payload, &c)
	for _, k := range []string{"iss", "sub", "aud", "exp", "iat", "jti", "sid", "scope", "client_id", "amr", "auth_time"} {
		if _, ok := c[k]; !ok {
			t.Errorf("access token lacks %s", k)
		}
	}
	if tok.Header.Typ != "at+jwt" || tok.Header.Kid == "" {
		t.Fatalf("header %+v", tok.Header)
	}
}

func TestRefreshGrant(t *testing.T) {
	e := newEnv(t)
	e.signup("a@example.com")
	ts := e.tokenLogin("a@example.com")
	r := e.refresh(ts.Refresh)
	r.wantStatus(t, http.StatusOK)
	next := parseTokens(t, r)
	if next.Refresh == ts.Refresh || next.Access == ts.Access || next.Session != ts.Session {
		t.Fatal("refresh did not rotate within the same session")
	}
	// A refresh never invalidates the access token issued before it.
	e.do("GET", "/v1/session", nil, withBearer(ts.Access)...).wantStatus(t, http.StatusOK)
	// Within grace the previous token yields the same successor (another tab).
	e.clock.Add(10 * time.Second)
	if again := parseTokens(t, e.refresh(ts.Refresh)); again.Refresh != next.Refresh {
		t.Fatal("grace replay produced a second branch")
	}
	// HTTP Basic with an empty secret, as golang.org/x/oauth2 sends it.
	r = e.form("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {next.Refresh}},
		"Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("gatehouse:")))
	r.wantStatus(t, http.StatusOK)
	third := parseTokens(t, r)

	// Presenting a two-generations-old token is theft: the session dies, and is audited.
	e.refresh(ts.Refresh).wantError(t, http.StatusBadRequest, "invalid_grant")
	e.refresh(third.Refresh).wantError(t, http.StatusBadRequest, "invalid_grant")
	e.do("GET", "/v1/session", nil, withBearer(third.Access)...).wantError(t, http.StatusUnauthorized, "unauthorized")
	ev := e.do("GET", "/v1/admin/events?type=refresh_token.reused", nil, asAdmin()...).json(t)["events"].([]any)
	if len(ev) != 1 || ev[0].(map[string]any)["session_id"] != ts.Session {
		t.Fatalf("reuse events: %v", ev)
	}
	feed := e.do("GET", "/v1/revocations", nil, asAdmin()...).json(t)
	if !strings.Contains(toJSON(feed), ts.Session) {
		t.Fatalf("revocation feed lacks the session: %v", feed)
	}
}

func TestRefreshAfterGraceIsReuse(t *testing.T) {
	e := newEnv(t)
	e.signup("a@example.com")
	ts := e.tokenLogin("a@example.com")
	next := parseTokens(t, e.refresh(ts.Refresh))
	e.clock.Add(31 * time.Second)
	e.refresh(ts.Refresh).wantError(t, http.StatusBadRequest, "invalid_grant")
	e.refresh(next.Refresh).wantError(t, http.StatusBadRequest, "invalid_grant")
}

func TestRefreshOfDisabledUser(t *testing.T) {
	e := newEnv(t)
	e.signup("a@example.com")
	ts := e.tokenLogin("a@example.com")
	id := e.do("GET", "/v1/admin/users?email=a@example.com", nil, asAdmin()...).json(t)["users"].([]any)[0].(map[string]any)["id"].(string)
	e.do("POST", "/v1/admin/users/"+id+"/disable", nil, asAdmin()...).wantStatus(t, 200)
	e.refresh(ts.Refresh).wantError(t, http.StatusBadRequest, "invalid_grant")
	e.do("GET", "/oauth/userinfo", nil, withBearer(ts.Access)...).wantError(t, http.StatusUnauthorized, "invalid_token")
}

func TestTokenEndpointErrors(t *testing.T) {
	e := newEnv(t)
	e.signup("a@example.com")
	ts := e.tokenLogin("a@example.com")
	good := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {ts.Refresh}, "client_id": {"gatehouse"}}
	with := func(k, v string) url.Values {
		c := url.Values{}
		for kk, vv := range good {
			c[kk] = vv
		}
		if v == "" {
			delete(c, k)
		} else {
			c.Set(k, v)
		}
		return c
	}
	e.form("/oauth/token", with("grant_type", "")).wantError(t, 400, "invalid_request")
	e.form("/oauth/token", with("grant_type", "password")).wantError(t, 400, "unsupported_grant_type")
	e.form("/oauth/token", with("client_id", "")).wantError(t, 401, "invalid_client")
	e.form("/oauth/token", with("client_id", "evil")).wantError(t, 401, "invalid_client")
	e.form("/oauth/token", with("refresh_token", "")).wantError(t, 400, "invalid_request")
	e.form("/oauth/token", with("refresh_token", "ghr_garbage")).wantError(t, 400, "invalid_grant")
	e.form("/oauth/token?refresh_token="+url.QueryEscape(ts.Refresh), good).wantError(t, 400, "invalid_request")
	rep := with("refresh_token", ts.Refresh)
	rep.Add("refresh_token", ts.Refresh)
	e.form("/oauth/token", rep).wantError(t, 400, "invalid_request")
	e.do("POST", "/oauth/token", `{"grant_type":"refresh_token"}`).wantError(t, 400, "invalid_request")
	// None of the above consumed the token.
	e.refresh(ts.Refresh).wantStatus(t, http.StatusOK)
}

func TestJWKSAndDiscovery(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/.well-known/jwks.json", nil)
	r.wantStatus(t, http.StatusOK)
	if cc := r.Header.Get("Cache-Control"); !strings.HasPrefix(cc, "public, max-age=") {
		t.Fatalf("Cache-Control %q", cc)
	}
	keys, err := jws.ParseJWKSet(r.body)
	if err != nil || len(keys) != 1 {
		t.Fatalf("JWKS: %v %s", err, r.body)
	}
	for _, private := range []string{`"d"`, `"p"`, `"q"`, `"k"`} {
		if strings.Contains(string(r.body), private+":") {
			t.Fatalf("JWKS leaks a private member %s", private)
		}
	}
	d := e.do("GET", "/.well-known/openid-configuration", nil).json(t)
	if d["issuer"] != testIssuer || d["jwks_uri"] != testIssuer+"/.well-known/jwks.json" || d["token_endpoint"] != testIssuer+"/oauth/token" {
		t.Fatalf("discovery: %v", d)
	}
}

func TestIntrospection(t *testing.T) {
	e := newEnv(t)
	c := e.signup("a@example.com")
	ts := e.tokenLogin("a@example.com")
	intro := func(tok string) map[string]any {
		r := e.form("/oauth/introspect", url.Values{"token": {tok}}, asAdmin()...)
		r.wantStatus(t, http.StatusOK)
		return r.json(t)
	}
	e.form("/oauth/introspect", url.Values{"token": {ts.Access}}).wantError(t, 401, "unauthorized")
	e.form("/oauth/introspect", url.Values{"token": {ts.Access}}, withBearer(ts.Access)...).wantError(t, 401, "unauthorized")
	a := intro(ts.Access)
	if a["active"] != true || a["sid"] != ts.Session || a["token_type"] != "access_token" || a["client_id"] != "gatehouse" {
		t.Fatalf("access: %v", a)
	}
	if rt := intro(ts.Refresh); rt["active"] != true || rt["token_type"] != "refresh_token" {
		t.Fatalf("refresh: %v", rt)
	}
	if st := intro(c.Value); st["active"] != true || st["token_type"] != "session" {
		t.Fatalf("session: %v", st)
	}
	for name, tok := range map[string]string{"garbage": "garbage", "id token": ts.ID, "tampered": flipMiddle(ts.Access),
		"forged refresh": flipMiddle(ts.Refresh)} {
		r := e.form("/oauth/introspect", url.Values{"token": {tok}}, asAdmin()...)
		if string(r.body) != "{\"active\":false}\n" {
			t.Fatalf("%s: %s", name, r.body)
		}
	}
	e.do("POST", "/v1/logout", `{"scope":"global"}`, withCookie(c)...).wantStatus(t, 204)
	if a := intro(ts.Access); len(a) != 1 || a["active"] != false {
		t.Fatalf("access token of an ended session: %v", a)
	}
	e.db.Close()
	e.form("/oauth/introspect", url.Values{"token": {ts.Access}}, asAdmin()...).wantError(t, 503, "temporarily_unavailable")
}

func TestRevocationEndpoint(t *testing.T) {
	e := newEnv(t)
	e.signup("a@example.com")
	ts := e.tokenLogin("a@example.com")
	revoke := func(tok string) {
		t.Helper()
		e.form("/oauth/revoke", url.Values{"token": {tok}, "client_id": {"gatehouse"}}).wantStatus(t, http.StatusOK)
	}
	revoke("unknown-token") // RFC 7009 §2.2: 200 for unknown tokens
	revoke(ts.Access)
	e.do("GET", "/v1/session", nil, withBearer(ts.Access)...).wantError(t, 401, "unauthorized")
	feed := toJSON(e.do("GET", "/v1/revocations", nil, asAdmin()...).json(t))
	if !strings.Contains(feed, `"jti"`) {
		t.Fatalf("feed lacks the revoked jti: %s", feed)
	}
	// The session itself survives an access-token revocation…
	next := parseTokens(t, e.refresh(ts.Refresh))
	e.do("GET", "/v1/session", nil, withBearer(next.Access)...).wantStatus(t, 200)
	// …and a refresh token ends it.
	revoke(next.Refresh)
	e.do("GET", "/v1/session", nil, withBearer(next.Access)...).wantError(t, 401, "unauthorized")
	e.refresh(next.Refresh).wantError(t, 400, "invalid_grant")
}

func TestEmergencyKeyRotation(t *testing.T) {
	e := newEnv(t)
	e.signup("a@example.com")
	ts := e.tokenLogin("a@example.com")
	r := e.do("POST", "/v1/admin/keys/rotate", nil, asAdmin()...)
	r.wantStatus(t, http.StatusOK)
	e.do("GET", "/v1/session", nil, withBearer(ts.Access)...).wantError(t, 401, "unauthorized")
	next := parseTokens(t, e.refresh(ts.Refresh))
	e.do("GET", "/v1/session", nil, withBearer(next.Access)...).wantStatus(t, 200)
	keys := e.do("GET", "/v1/admin/keys", nil, asAdmin()...).json(t)["keys"].([]any)
	if len(keys) != 1 || keys[0].(map[string]any)["kid"] != r.json(t)["active_kid"] {
		t.Fatalf("keys after rotation: %v", keys)
	}
}

// TestForgedTokensRefused: tokens an attacker can make without our private key never
// authenticate, whatever their header says.
func TestForgedTokensRefused(t *testing.T) {
	e := newEnv(t)
	e.signup("a@example.com")
	ts := e.tokenLogin("a@example.com")
	real, _ := jws.Parse(ts.Access)
	payload := real.Payload
	enc := base64.RawURLEncoding.EncodeToString
	signer, _ := e.keys.Signer(context.Background())
	pubJWK, _ := jws.MarshalPublicJWK(signer.PublicKey())
	pub := signer.PublicKey().Key.(ed25519.PublicKey)
	hs := func(key []byte, header string) string {
		in := enc([]byte(header)) + "." + enc(payload)
		m := hmac.New(sha256.New, key)
		m.Write([]byte(in))
		return in + "." + enc(m.Sum(nil))
	}
	_, attacker, _ := ed25519.GenerateKey(rand.Reader)
	signed := func(header string) string {
		in := enc([]byte(header)) + "." + enc(payload)
		return in + "." + enc(ed25519.Sign(attacker, []byte(in)))
	}
	kid := real.Header.Kid
	attackerJWK, _ := json.Marshal(map[string]string{"kty": "OKP", "crv": "Ed25519", "x": enc(attacker.Public().(ed25519.PublicKey))})
	for name, tok := range map[string]string{
		"alg none":           enc([]byte(`{"alg":"none","typ":"at+jwt","kid":"`+kid+`"}`)) + "." + enc(payload) + ".",
		"alg NoNe":           enc([]byte(`{"alg":"NoNe","typ":"at+jwt","kid":"`+kid+`"}`)) + "." + enc(payload) + ".",
		"HS256 with pub key": hs(pub, `{"alg":"HS256","typ":"at+jwt","kid":"`+kid+`"}`),
		"HS256 with JWK":     hs(pubJWK, `{"alg":"HS256","typ":"at+jwt","kid":"`+kid+`"}`),
		"embedded jwk":       signed(`{"alg":"EdDSA","typ":"at+jwt","jwk":` + string(attackerJWK) + `}`),
		"jku":                signed(`{"alg":"EdDSA","typ":"at+jwt","kid":"` + kid + `","jku":"https://evil.example/jwks"}`),
		"our kid, their key": signed(`{"alg":"EdDSA","typ":"at+jwt","kid":"` + kid + `"}`),
		"kid injection":      signed(`{"alg":"EdDSA","typ":"at+jwt","kid":"../../../dev/null"}`),
		"stripped signature": strings.Join(strings.Split(ts.Access, ".")[:2], ".") + ".",
		"tampered payload":   strings.Split(ts.Access, ".")[0] + "." + enc([]byte(strings.Replace(string(payload), `"sub":"`, `"sub":"x`, 1))) + "." + strings.Split(ts.Access, ".")[2],
	} {
		t.Run(name, func(t *testing.T) {
			e.do("GET", "/v1/session", nil, withBearer(tok)...).wantError(t, http.StatusUnauthorized, "unauthorized")
			e.do("GET", "/oauth/userinfo", nil, withBearer(tok)...).wantError(t, http.StatusUnauthorized, "invalid_token")
		})
	}
}

func toJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestBrowserTokenDeliveryWithRefreshCookie(t *testing.T) {
	e := newEnv(t)
	e.signup("a@example.com")
	r := e.do("POST", "/v1/login", map[string]any{"email": "a@example.com", "password": goodPassword, "delivery": "token", "refresh_cookie": true})
	r.wantStatus(t, http.StatusOK)
	if _, has := r.json(t)["refresh_token"]; has {
		t.Fatal("refresh token in the body although a cookie was asked for")
	}
	raw := r.Header.Get("Set-Cookie")
	for _, attr := range []string{"__Host-gh_refresh=ghr_", "Path=/", "Secure", "HttpOnly", "SameSite=Strict"} {
		if !strings.Contains(raw, attr) {
			t.Fatalf("refresh cookie %q lacks %q", raw, attr)
		}
	}
	var rc *http.Cookie
	for _, c := range r.Cookies() {
		if c.Name == "__Host-gh_refresh" {
			rc = c
		}
	}
	// The token endpoint takes the cookie when the body has no refresh_token, and rotates it.
	r2 := e.form("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {"gatehouse"}}, "Cookie", rc.Name+"="+rc.Value)
	r2.wantStatus(t, http.StatusOK)
	if _, has := r2.json(t)["refresh_token"]; has {
		t.Fatal("rotated refresh token leaked into the body")
	}
	var next *http.Cookie
	for _, c := range r2.Cookies() {
		if c.Name == "__Host-gh_refresh" {
			next = c
		}
	}
	if next == nil || next.Value == rc.Value {
		t.Fatal("refresh cookie not rotated")
	}
	// Cross-site requests cannot ride the cookie.
	e.form("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {"gatehouse"}},
		"Cookie", next.Name+"="+next.Value, "Sec-Fetch-Site", "cross-site").wantError(t, 403, "cross_origin_request")
	e.do("POST", "/v1/login", map[string]any{"email": "a@example.com", "password": goodPassword, "refresh_cookie": true}).wantError(t, 400, "invalid_request")
}

// TestTokenEndpointsFailClosed: with the store gone no endpoint mints, refreshes or vouches
// for anything.
func TestTokenEndpointsFailClosed(t *testing.T) {
	e := newEnv(t)
	e.signup("a@example.com")
	ts := e.tokenLogin("a@example.com")
	e.db.Close()
	e.refresh(ts.Refresh).wantError(t, 503, "temporarily_unavailable")
	e.form("/oauth/revoke", url.Values{"token": {ts.Refresh}, "client_id": {"gatehouse"}}).wantError(t, 503, "temporarily_unavailable")
	e.do("POST", "/v1/login", map[string]string{"email": "a@example.com", "password": goodPassword, "delivery": "token"}).wantError(t, 503, "temporarily_unavailable")
	e.do("GET", "/v1/revocations", nil, asAdmin()...).wantError(t, 503, "temporarily_unavailable")
	e.do("GET", "/v1/revocations/stream", nil, asAdmin()...).wantError(t, 503, "temporarily_unavailable")
	r := e.do("GET", "/oauth/userinfo", nil, withBearer(ts.Access)...)
	if r.StatusCode == 200 {
		t.Fatalf("userinfo answered 200 with the store down: %s", r.body)
	}
}

// flipMiddle changes one character in the middle of a token's last segment (the signature or
// MAC), to a different base64url character: never a no-op, unlike overwriting the end.
func flipMiddle(tok string) string {
	i := strings.LastIndexByte(tok, '.') + 1
	i += (len(tok) - i) / 2
	c := byte('A')
	if tok[i] == 'A' {
		c = 'B'
	}
	return tok[:i] + string(c) + tok[i+1:]
}

// TestRefreshMetrics: every refresh grant is counted by outcome, theft detection included.
func TestRefreshMetrics(t *testing.T) {
	e := newEnv(t)
	e.signup("metrics@example.com")
	tok := e.do("POST", "/v1/login", map[string]any{"email": "metrics@example.com", "password": "correct horse battery staple", "delivery": "token"}).json(t)
	first := tok["refresh_token"].(string)
	refresh := func(rt string) *resp {
		req, _ := http.NewRequest("POST", e.srv.URL+"/oauth/token", strings.NewReader(url.Values{"grant_type": {"refresh_token"}, "client_id": {"gatehouse"}, "refresh_token": {rt}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return e.send(req)
	}
	second := refresh(first).json(t)["refresh_token"].(string) // rotated
	refresh(first).wantStatus(t, 200)                          // grace replay
	third := refresh(second).json(t)["refresh_token"].(string) // rotated
	_ = third
	e.clock.Add(time.Hour)
	refresh(first).wantError(t, 400, "invalid_grant") // reuse: the session is revoked
	refresh("garbage").wantError(t, 400, "invalid_grant")
	body := string(e.do("GET", "/metrics", nil).body)
	for _, want := range []string{
		`gatehouse_refresh_grants_total{outcome="rotated"} 2`,
		`gatehouse_refresh_grants_total{outcome="grace_replay"} 1`,
		`gatehouse_refresh_grants_total{outcome="reused"} 1`,
		`gatehouse_refresh_grants_total{outcome="invalid"} 1`,
		`gatehouse_revocation_stream_readers 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s:\n%s", want, grepLines(body, "refresh_grants"))
		}
	}
}
