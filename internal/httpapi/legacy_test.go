package httpapi_test

import (
	"github.com/gatehouse-auth/gatehouse/internal/users"

	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/legacy"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/jws"
)

// legacyIdP is a plain-HTTP provider on the loopback interface (which legacy issuers may use)
// serving OIDC discovery and an RS256 JWKS.
type legacyIdP struct {
	srv    *httptest.Server
	issuer string
	signer *jws.Signer
}

func newLegacyIdP(t *testing.T) *legacyIdP {
	t.Helper()
	priv, err := jws.GenerateKey(jws.RS256)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jws.NewSigner("legacy-1", jws.RS256, priv)
	if err != nil {
		t.Fatal(err)
	}
	p := &legacyIdP{signer: signer}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			json.NewEncoder(w).Encode(map[string]string{"issuer": p.issuer, "jwks_uri": p.srv.URL + "/jwks"})
		case "/jwks":
			b, _ := jws.MarshalJWKSet([]jws.PublicKey{signer.PublicKey()})
			w.Write(b)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(p.srv.Close)
	p.issuer = p.srv.URL + "/"
	return p
}

func (p *legacyIdP) token(t *testing.T, now time.Time, sub string) string {
	t.Helper()
	c, _ := json.Marshal(map[string]any{"iss": p.issuer, "sub": sub, "aud": "https://api.example.com", "iat": now.Add(-time.Hour).Unix(),
		"auth_time": now.Add(-2 * time.Hour).Unix(), "exp": now.Add(time.Hour).Unix(), "scope": "openid", "jti": secret.NewID()})
	tok, err := p.signer.Sign("JWT", c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestLegacyIssuerAdmin(t *testing.T) {
	e := newEnv(t)
	body := map[string]any{"issuer": "https://tenant.auth0.example/", "audiences": []string{"https://api.example.com"}}
	e.do("POST", "/v1/admin/legacy-issuers", body).wantError(t, http.StatusUnauthorized, "unauthorized")
	r := e.do("POST", "/v1/admin/legacy-issuers", body, asAdmin()...)
	r.wantStatus(t, http.StatusCreated)
	is := r.json(t)
	if is["algorithms"].([]any)[0] != "RS256" || len(is["token_types"].([]any)) != 2 || is["jwks_uri"] != nil || is["accept_until"] != nil {
		t.Fatalf("defaults: %s", r.body)
	}
	id := is["id"].(string)
	e.do("POST", "/v1/admin/legacy-issuers", body, asAdmin()...).wantError(t, http.StatusConflict, "legacy_issuer_exists")
	e.do("POST", "/v1/admin/legacy-issuers", map[string]any{"issuer": "http://idp.example", "algorithms": []string{"HS256"}}, asAdmin()...).
		wantError(t, http.StatusBadRequest, "invalid_legacy_issuer")
	e.do("POST", "/v1/admin/legacy-issuers", map[string]any{"issuer": "https://x.example", "audiences": []string{"a"}, "bogus": 1}, asAdmin()...).
		wantError(t, http.StatusBadRequest, "invalid_request")

	r = e.do("PATCH", "/v1/admin/legacy-issuers/"+id, map[string]any{"accept_until": "2026-09-01T00:00:00Z", "match": []string{"identity", "email"},
		"jwks_uri": "https://tenant.auth0.example/.well-known/jwks.json"}, asAdmin()...)
	r.wantStatus(t, http.StatusOK)
	if m := r.json(t); m["accept_until"] != "2026-09-01T00:00:00Z" || len(m["match"].([]any)) != 2 || m["audiences"].([]any)[0] != "https://api.example.com" {
		t.Fatalf("after patch: %s", r.body)
	}
	r = e.do("PATCH", "/v1/admin/legacy-issuers/"+id, map[string]any{"accept_until": nil, "jwks_uri": nil}, asAdmin()...)
	if m := r.json(t); m["accept_until"] != nil || m["jwks_uri"] != nil {
		t.Fatalf("null clears: %s", r.body)
	}
	r = e.do("GET", "/v1/admin/legacy-issuers", nil, asAdmin()...)
	if list := r.json(t)["legacy_issuers"].([]any); len(list) != 1 {
		t.Fatalf("list: %s", r.body)
	}
	e.do("GET", "/v1/admin/legacy-issuers/"+id, nil, asAdmin()...).wantStatus(t, http.StatusOK)
	e.do("DELETE", "/v1/admin/legacy-issuers/"+id, nil, asAdmin()...).wantStatus(t, http.StatusNoContent)
	e.do("GET", "/v1/admin/legacy-issuers/"+id, nil, asAdmin()...).wantError(t, http.StatusNotFound, "legacy_issuer_not_found")
	e.do("DELETE", "/v1/admin/legacy-issuers/"+id, nil, asAdmin()...).wantError(t, http.StatusNotFound, "legacy_issuer_not_found")
	for _, typ := range []string{legacy.EventIssuerCreated, legacy.EventIssuerUpdated, legacy.EventIssuerDeleted} {
		r := e.do("GET", "/v1/admin/events?type="+typ, nil, asAdmin()...)
		if !strings.Contains(string(r.body), typ) {
			t.Fatalf("no %s event: %s", typ, r.body)
		}
	}
}

func TestTokenExchange(t *testing.T) {
	e := newEnv(t)
	idp := newLegacyIdP(t)
	e.do("POST", "/v1/admin/legacy-issuers", map[string]any{"issuer": idp.issuer, "audiences": []string{"https://api.example.com"}}, asAdmin()...).
		wantStatus(t, http.StatusCreated)
	r := e.do("POST", "/v1/admin/users", map[string]any{"email": "ada@example.com"}, asAdmin()...)
	r.wantStatus(t, http.StatusCreated)
	uid := r.json(t)["id"].(string)
	if err := e.db.LinkIdentity(context.Background(), users.Identity{Issuer: idp.issuer, Subject: "auth0|ada", UserID: uid}); err != nil {
		t.Fatal(err)
	}
	now := e.clock.Now()

	// Apps: RFC 8693 at the token endpoint.
	tok := idp.token(t, now, "auth0|ada")
	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "client_id": {"gatehouse"},
		"subject_token": {tok}, "subject_token_type": {legacy.TokenTypeAccess}}
	r = e.form("/oauth/token", form)
	r.wantStatus(t, http.StatusOK)
	m := r.json(t)
	if m["issued_token_type"] != legacy.TokenTypeAccess || m["token_type"] != "Bearer" || m["refresh_token"] == "" || m["session_id"] == "" {
		t.Fatalf("token response: %s", r.body)
	}
	at := claimsOf(t, m["access_token"].(string))
	if at["sub"] != uid || fmt.Sprint(at["amr"]) != "[fed]" || int64(at["auth_time"].(float64)) != now.Add(-2*time.Hour).Unix() {
		t.Fatalf("access token claims: %v", at)
	}
	// The same legacy token again: invalid_grant, saying why.
	r = e.form("/oauth/token", form)
	r.wantError(t, http.StatusBadRequest, "invalid_grant")
	if !strings.Contains(r.json(t)["error_description"].(string), "already exchanged") {
		t.Fatalf("replay description: %s", r.body)
	}
	// The client must be ours, and the parameters complete.
	bad := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "client_id": {"other"}, "subject_token": {tok},
		"subject_token_type": {legacy.TokenTypeAccess}}
	e.form("/oauth/token", bad).wantError(t, http.StatusUnauthorized, "invalid_client")
	bad.Set("client_id", "gatehouse")
	bad.Del("subject_token_type")
	e.form("/oauth/token", bad).wantError(t, http.StatusBadRequest, "invalid_request")
	bad.Set("subject_token_type", legacy.TokenTypeAccess)
	bad.Set("actor_token", "x")
	e.form("/oauth/token", bad).wantError(t, http.StatusBadRequest, "invalid_request")

	// Browsers: /v1/exchange answers as /v1/login (a cookie by default).
	r = e.do("POST", "/v1/exchange", map[string]any{"subject_token": idp.token(t, now, "auth0|ada")})
	r.wantStatus(t, http.StatusOK)
	c := sessionCookie(t, r)
	if u := r.json(t)["user"].(map[string]any); u["id"] != uid {
		t.Fatalf("exchange body: %s", r.body)
	}
	r = e.do("GET", "/v1/session", nil, withCookie(c)...)
	r.wantStatus(t, http.StatusOK)
	if s := r.json(t)["session"].(map[string]any); fmt.Sprint(s["amr"]) != "[fed]" {
		t.Fatalf("session: %s", r.body)
	}
	r = e.do("POST", "/v1/exchange", map[string]any{"subject_token": idp.token(t, now, "auth0|ada"), "delivery": "token"})
	r.wantStatus(t, http.StatusOK)
	if r.json(t)["access_token"] == nil {
		t.Fatalf("token delivery: %s", r.body)
	}
	// Refusals are invalid_grant with a description; the audit says why.
	e.do("POST", "/v1/exchange", map[string]any{"subject_token": idp.token(t, now, "auth0|nobody")}).wantError(t, http.StatusBadRequest, "invalid_grant")
	e.do("POST", "/v1/exchange", map[string]any{"subject_token": "garbage"}).wantError(t, http.StatusBadRequest, "invalid_grant")
	e.do("POST", "/v1/exchange", map[string]any{}).wantError(t, http.StatusBadRequest, "invalid_request")
	r = e.do("GET", "/v1/admin/events?type="+legacy.EventRefused, nil, asAdmin()...)
	if !strings.Contains(string(r.body), legacy.ReasonNoMatch) || !strings.Contains(string(r.body), legacy.ReasonMalformed) {
		t.Fatalf("refusal events: %s", r.body)
	}
	// Discovery lists the grant; metrics count the outcomes.
	r = e.do("GET", "/.well-known/openid-configuration", nil)
	var grants []string
	for _, g := range r.json(t)["grant_types_supported"].([]any) {
		grants = append(grants, g.(string))
	}
	if !slices.Contains(grants, "urn:ietf:params:oauth:grant-type:token-exchange") {
		t.Fatalf("discovery grants: %v", grants)
	}
	r = e.do("GET", "/metrics", nil)
	for _, want := range []string{`gatehouse_legacy_exchanges_total{outcome="success"} 3`, `gatehouse_legacy_exchanges_total{outcome="replayed"} 1`,
		`gatehouse_legacy_exchanges_total{outcome="no_match"} 1`} {
		if !strings.Contains(string(r.body), want) {
			t.Fatalf("metrics lack %s", want)
		}
	}
}
