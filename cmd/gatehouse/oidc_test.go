package main

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// freeAddr returns a loopback address that was free a moment ago, so that the issuer URL can
// be configured before the server starts.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestStockClients drives the real server with stock OAuth 2.0 / OIDC client libraries: go-oidc
// discovers the issuer and verifies the ID token; an x/oauth2 TokenSource refreshes five times.
func TestStockClients(t *testing.T) {
	addr := freeAddr(t)
	issuer := "http://" + addr
	startServer(t, t.TempDir(), nil, "--issuer", issuer, "--addr", addr)
	ctx := context.Background()

	res, body := postJSON(t, http.DefaultClient, issuer+"/v1/signup",
		map[string]string{"email": "oidc@example.com", "password": "correct horse battery staple", "delivery": "token"})
	if res.StatusCode != 201 {
		t.Fatalf("signup: %d %v", res.StatusCode, body)
	}

	provider, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	idt, err := provider.Verifier(&oidc.Config{ClientID: "gatehouse", SupportedSigningAlgs: []string{"EdDSA"}}).Verify(ctx, body["id_token"].(string))
	if err != nil {
		t.Fatalf("go-oidc rejects our ID token: %v", err)
	}
	var claims struct {
		Email string `json:"email"`
		SID   string `json:"sid"`
	}
	if err := idt.Claims(&claims); err != nil || claims.Email != "oidc@example.com" || claims.SID != body["session_id"] {
		t.Fatalf("ID token claims: %+v %v", claims, err)
	}

	conf := &oauth2.Config{ClientID: "gatehouse", Endpoint: provider.Endpoint()}
	tok := &oauth2.Token{AccessToken: body["access_token"].(string), RefreshToken: body["refresh_token"].(string), Expiry: time.Now().Add(-time.Second)}
	seen := map[string]bool{tok.RefreshToken: true}
	for i := range 5 {
		next, err := conf.TokenSource(ctx, tok).Token() // expired: refreshes
		if err != nil {
			t.Fatalf("refresh %d: %v", i+1, err)
		}
		if seen[next.RefreshToken] {
			t.Fatalf("refresh %d did not rotate the refresh token", i+1)
		}
		seen[next.RefreshToken] = true
		next.Expiry = time.Now().Add(-time.Second)
		tok = next
	}
	// The last access token works with the standard client.
	client := oauth2.NewClient(ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: tok.AccessToken, TokenType: "Bearer"}))
	r, err := client.Get(issuer + "/oauth/userinfo")
	if err != nil || r.StatusCode != 200 {
		t.Fatalf("userinfo with the refreshed token: %v %v", r, err)
	}
	r.Body.Close()
}
