package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/jws"
	"github.com/gatehouse-auth/gatehouse/verify"
)

// TestLegacyExchangeEndToEnd walks the token-exchange part of a migration against the real
// server: register an Auth0-like issuer (trailing-slash issuer, auth0|… subjects, RS256),
// exchange one of its access tokens for a Gatehouse session, refuse the same token again, and
// have a resource server accept both issuers' tokens with verify.WithAdditionalIssuer.
func TestLegacyExchangeEndToEnd(t *testing.T) {
	priv, err := jws.GenerateKey(jws.RS256)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jws.NewSigner("auth0-key-1", jws.RS256, priv)
	if err != nil {
		t.Fatal(err)
	}
	var idpIssuer string
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			json.NewEncoder(w).Encode(map[string]string{"issuer": idpIssuer, "jwks_uri": strings.TrimSuffix(idpIssuer, "/") + "/.well-known/jwks.json"})
		case "/.well-known/jwks.json":
			w.Header().Set("Cache-Control", "max-age=600")
			b, _ := jws.MarshalJWKSet([]jws.PublicKey{signer.PublicKey()})
			w.Write(b)
		default:
			http.NotFound(w, r)
		}
	}))
	defer idp.Close()
	idpIssuer = idp.URL + "/"
	const api = "https://api.example.com"

	admin := strings.Repeat("b", 40)
	addr := freeAddr(t)
	issuer := "http://" + addr
	startServer(t, t.TempDir(), map[string]string{"GATEHOUSE_ADMIN_KEY": admin}, "--issuer", issuer, "--addr", addr)
	auth := []string{"Authorization", "Bearer " + admin}
	if res, m := postJSON(t, http.DefaultClient, issuer+"/v1/admin/legacy-issuers", map[string]any{"issuer": idpIssuer,
		"audiences": []string{api}, "match": []string{"identity", "email"}}, auth...); res.StatusCode != 201 {
		t.Fatalf("register issuer: %d %v", res.StatusCode, m)
	}
	res, u := postJSON(t, http.DefaultClient, issuer+"/v1/admin/users", map[string]any{"email": "migrant@example.com"}, auth...)
	if res.StatusCode != 201 {
		t.Fatalf("create user: %d %v", res.StatusCode, u)
	}
	now := time.Now()
	claims, _ := json.Marshal(map[string]any{"iss": idpIssuer, "sub": "auth0|5f7c8ec7c33c6c004bbafe82", "aud": []string{api, idpIssuer + "userinfo"},
		"iat": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix(), "scope": "openid email", "azp": "spa",
		"email": "migrant@example.com", "email_verified": true, "jti": secret.NewID()})
	legacyToken, err := signer.Sign("JWT", claims)
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "client_id": {"gatehouse"},
		"subject_token": {legacyToken}, "subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}}
	res, tok := send(t, http.DefaultClient, formRequest(issuer+"/oauth/token", form))
	if res.StatusCode != 200 || tok["issued_token_type"] != "urn:ietf:params:oauth:token-type:access_token" {
		t.Fatalf("exchange: %d %v", res.StatusCode, tok)
	}
	if res, m := send(t, http.DefaultClient, formRequest(issuer+"/oauth/token", form)); res.StatusCode != 400 || m["error"] != "invalid_grant" {
		t.Fatalf("second exchange: %d %v", res.StatusCode, m)
	}

	ctx := context.Background()
	v, err := verify.New(ctx, issuer, verify.WithAudience("gatehouse"),
		verify.WithAdditionalIssuer(verify.LegacyIssuer{Issuer: idpIssuer, JWKSURL: idp.URL + "/.well-known/jwks.json", Audience: api}))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	c, err := v.Verify(ctx, tok["access_token"].(string))
	if err != nil || c.Subject != u["id"] || c.Legacy {
		t.Fatalf("Gatehouse token: %+v %v", c, err)
	}
	c, err = v.Verify(ctx, legacyToken)
	if err != nil || !c.Legacy || c.Subject != "auth0|5f7c8ec7c33c6c004bbafe82" {
		t.Fatalf("legacy token: %+v %v", c, err)
	}
	if _, err := v.Verify(ctx, tok["id_token"].(string)); !errors.Is(err, verify.ErrType) {
		t.Fatalf("ID token accepted: %v", err)
	}
}

func formRequest(u string, v url.Values) *http.Request {
	req, _ := http.NewRequest("POST", u, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}
