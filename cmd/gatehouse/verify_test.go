package main

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/verify"
)

// TestVerifySDKAgainstRealServer: a resource server using the verify package accepts a real
// access token, rejects the ID token, and stops accepting the access token within a second
// of a logout, through the revocation stream.
func TestVerifySDKAgainstRealServer(t *testing.T) {
	addr := freeAddr(t)
	issuer := "http://" + addr
	admin := strings.Repeat("a", 40)
	startServer(t, t.TempDir(), map[string]string{"GATEHOUSE_ADMIN_KEY": admin}, "--issuer", issuer, "--addr", addr)
	ctx := context.Background()
	v, err := verify.New(ctx, issuer, verify.WithAudience("gatehouse"), verify.WithRevocationFeed(admin))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	res, tok := postJSON(t, http.DefaultClient, issuer+"/v1/signup",
		map[string]string{"email": "rs@example.com", "password": "correct horse battery staple", "delivery": "token"})
	if res.StatusCode != 201 {
		t.Fatalf("signup: %d %v", res.StatusCode, tok)
	}
	at := tok["access_token"].(string)
	c, err := v.Verify(ctx, at)
	if err != nil || c.SessionID != tok["session_id"] {
		t.Fatalf("real access token: %+v %v", c, err)
	}
	if _, err := v.Verify(ctx, tok["id_token"].(string)); !errors.Is(err, verify.ErrType) {
		t.Fatalf("ID token accepted as access token: %v", err)
	}
	// A cookie session of the same site, checked through introspection.
	res, _ = postJSON(t, http.DefaultClient, issuer+"/v1/login", map[string]string{"email": "rs@example.com", "password": "correct horse battery staple"})
	var cookie string
	for _, ck := range res.Cookies() {
		cookie = ck.Value
	}
	if sc, err := v.VerifySession(ctx, cookie); err != nil || sc.Subject != c.Subject {
		t.Fatalf("VerifySession of a real cookie: %+v %v", sc, err)
	}
	if _, err := v.VerifySession(ctx, cookie+"x"); err == nil {
		t.Fatal("a tampered session cookie passed")
	}
	time.Sleep(100 * time.Millisecond) // the SDK's stream is connected
	if res, _ := postJSON(t, http.DefaultClient, issuer+"/v1/logout", map[string]string{}, "Authorization", "Bearer "+at); res.StatusCode != 204 {
		t.Fatalf("logout: %d", res.StatusCode)
	}
	deadline := time.Now().Add(time.Second)
	for {
		if _, err := v.Verify(ctx, at); errors.Is(err, verify.ErrRevoked) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the SDK still accepts the token a second after logout")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
