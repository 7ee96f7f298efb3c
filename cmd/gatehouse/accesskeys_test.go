package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehouse-auth/gatehouse/verify"
)

// TestAccessKeysEndToEnd runs access keys against the real server on the embedded store.
func TestAccessKeysEndToEnd(t *testing.T) { testAccessKeysEndToEnd(t, "") }

// TestAccessKeysEndToEndOnPostgres is the same on PostgreSQL.
func TestAccessKeysEndToEndOnPostgres(t *testing.T) { testAccessKeysEndToEnd(t, testDatabase(t)) }

// testAccessKeysEndToEnd: a stock client (golang.org/x/oauth2/clientcredentials) exchanges
// a key; a resource server (the verify package) that authenticates with an access key, not
// the management key, accepts the token and stops accepting it within a second of the key's
// deletion; an imported SHA-256-only key is exchanged as its service sends it.
func testAccessKeysEndToEnd(t *testing.T, dbURL string) {
	addr := freeAddr(t)
	issuer := "http://" + addr
	admin := strings.Repeat("m", 40)
	args := []string{"--issuer", issuer, "--addr", addr}
	if dbURL != "" {
		args = append(args, "--database-url", dbURL)
	}
	startServer(t, t.TempDir(), map[string]string{"GATEHOUSE_ADMIN_KEY": admin}, args...)
	ctx := context.Background()
	asAdmin := []string{"Authorization", "Bearer " + admin}
	mkKey := func(spec map[string]any) (string, string) {
		t.Helper()
		res, m := postJSON(t, http.DefaultClient, issuer+"/v1/admin/access-keys", spec, asAdmin...)
		if res.StatusCode != 201 {
			t.Fatalf("create key: %d %v", res.StatusCode, m)
		}
		return m["id"].(string), m["key"].(string)
	}
	_, u := postJSON(t, http.DefaultClient, issuer+"/v1/admin/users", map[string]any{"email": "svc-owner@example.com"}, asAdmin...)
	owner := u["id"].(string)
	id, key := mkKey(map[string]any{"name": "billing", "scopes": []string{"orders:read", "orders:write"}, "user_id": owner})
	_, rsKey := mkKey(map[string]any{"name": "orders-api", "scopes": []string{"gatehouse:revocations", "gatehouse:introspect"}})

	cc := clientcredentials.Config{ClientID: id, ClientSecret: key, TokenURL: issuer + "/oauth/token", Scopes: []string{"orders:read"},
		AuthStyle: oauth2.AuthStyleInHeader}
	tok, err := cc.Token(ctx)
	if err != nil {
		t.Fatalf("clientcredentials: %v", err)
	}
	if tok.Extra("scope") != "orders:read" || tok.RefreshToken != "" || time.Until(tok.Expiry) < 5*time.Minute {
		t.Fatalf("token %+v scope %v", tok, tok.Extra("scope"))
	}
	// Asking for more than the key has fails the stock client with invalid_scope.
	wide := cc
	wide.Scopes = []string{"orders:admin"}
	var re *oauth2.RetrieveError
	if _, err := wide.Token(ctx); !errors.As(err, &re) || re.ErrorCode != "invalid_scope" {
		t.Fatalf("widened scope: %v", err)
	}
	bad := cc
	bad.ClientSecret = key[:len(key)-1] + "x"
	if _, err := bad.Token(ctx); !errors.As(err, &re) || re.ErrorCode != "invalid_client" || re.Response.StatusCode != 401 {
		t.Fatalf("wrong key: %v", err)
	}

	v, err := verify.New(ctx, issuer, verify.WithAudience("gatehouse"), verify.WithCredentials(rsKey))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	c, err := v.Verify(ctx, tok.AccessToken)
	if err != nil || c.ClientID != id || c.Subject != owner || c.SessionID != "" || !c.HasScope("orders:read") {
		t.Fatalf("verify: %+v %v", c, err)
	}

	// An imported key known only by its SHA-256, sent as client_secret alone.
	const legacy = "legacy-billing-key-7Hq2Lm9Xz"
	sum := sha256.Sum256([]byte(legacy))
	res, m := postJSON(t, http.DefaultClient, issuer+"/v1/admin/access-keys/import", map[string]any{"keys": []map[string]any{
		{"key_sha256": hex.EncodeToString(sum[:]), "name": "legacy", "scopes": []string{"orders:read"}}}}, asAdmin...)
	if res.StatusCode != 200 || m["results"].([]any)[0].(map[string]any)["status"] != "created" {
		t.Fatalf("import: %d %v", res.StatusCode, m)
	}
	legacyCC := clientcredentials.Config{ClientSecret: legacy, TokenURL: issuer + "/oauth/token", AuthStyle: oauth2.AuthStyleInParams}
	lt, err := legacyCC.Token(ctx)
	if err != nil {
		t.Fatalf("imported key: %v", err)
	}
	if _, err := v.Verify(ctx, lt.AccessToken); err != nil {
		t.Fatalf("verify the imported key's token: %v", err)
	}

	// Delete the key: the resource server refuses its token within a second.
	time.Sleep(100 * time.Millisecond) // the SDK's stream is connected
	req, _ := http.NewRequest("DELETE", issuer+"/v1/admin/access-keys/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	if res, _ := send(t, http.DefaultClient, req); res.StatusCode != 204 {
		t.Fatalf("delete key: %d", res.StatusCode)
	}
	deadline := time.Now().Add(time.Second)
	for {
		if _, err := v.Verify(ctx, tok.AccessToken); errors.Is(err, verify.ErrRevoked) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the SDK still accepts the token a second after its key was deleted")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := cc.Token(ctx); !errors.As(err, &re) || re.ErrorCode != "invalid_client" {
		t.Fatalf("deleted key: %v", err)
	}
}

// TestOrdersExampleOnAnAccessKey runs examples/orders as its README says, with an access key
// (never the management key): a service's token is accepted, and refused within a second
// of its key's deletion.
func TestOrdersExampleOnAnAccessKey(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs examples/orders")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	addr := freeAddr(t)
	issuer := "http://" + addr
	admin := strings.Repeat("m", 40)
	startServer(t, t.TempDir(), map[string]string{"GATEHOUSE_ADMIN_KEY": admin}, "--issuer", issuer, "--addr", addr)
	asAdmin := []string{"Authorization", "Bearer " + admin}
	mkKey := func(spec map[string]any) (string, string) {
		t.Helper()
		res, m := postJSON(t, http.DefaultClient, issuer+"/v1/admin/access-keys", spec, asAdmin...)
		if res.StatusCode != 201 {
			t.Fatalf("create key: %d %v", res.StatusCode, m)
		}
		return m["id"].(string), m["key"].(string)
	}
	_, feedKey := mkKey(map[string]any{"name": "orders-api", "scopes": []string{"gatehouse:revocations"}})
	id, key := mkKey(map[string]any{"name": "shop", "scopes": []string{"orders:write"}})

	bin := filepath.Join(t.TempDir(), "orders")
	build := exec.Command(goBin, "build", "-o", bin, "../../examples/orders")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build examples/orders: %v\n%s", err, out)
	}
	ordersAddr := freeAddr(t)
	cmd := exec.Command(bin, "-issuer", issuer, "-addr", ordersAddr)
	cmd.Env = append(os.Environ(), "GATEHOUSE_ACCESS_KEY="+feedKey, "GATEHOUSE_ADMIN_KEY=")
	var logs strings.Builder
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	tok, err := (&clientcredentials.Config{ClientID: id, ClientSecret: key, TokenURL: issuer + "/oauth/token"}).Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	call := func() (int, string) {
		req, _ := http.NewRequest("POST", "http://"+ordersAddr+"/orders", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, body := call()
		if code == 200 {
			if !strings.Contains(body, fmt.Sprintf(`"client":%q`, id)) {
				t.Fatalf("orders answered %s", body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("orders never accepted the service's token: %d %s\n%s", code, body, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // the example's feed stream is connected
	req, _ := http.NewRequest("DELETE", issuer+"/v1/admin/access-keys/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	if res, _ := send(t, http.DefaultClient, req); res.StatusCode != 204 {
		t.Fatalf("delete key: %d", res.StatusCode)
	}
	deadline = time.Now().Add(time.Second)
	for {
		if code, _ := call(); code == 401 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("orders still accepts the token a second after its key was deleted")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestUserDisableCommandEndsKeyTokens: `gatehouse user disable` (another process than the
// server) ends the tokens minted from the user's access keys at a resource server too.
func TestUserDisableCommandEndsKeyTokens(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	issuer := "http://" + addr
	admin := strings.Repeat("m", 40)
	startServer(t, dir, map[string]string{"GATEHOUSE_ADMIN_KEY": admin}, "--issuer", issuer, "--addr", addr)
	asAdmin := []string{"Authorization", "Bearer " + admin}
	_, u := postJSON(t, http.DefaultClient, issuer+"/v1/admin/users", map[string]any{"email": "owner@example.com"}, asAdmin...)
	res, k := postJSON(t, http.DefaultClient, issuer+"/v1/admin/access-keys", map[string]any{"name": "svc", "scopes": []string{"a"}, "user_id": u["id"]}, asAdmin...)
	if res.StatusCode != 201 {
		t.Fatalf("create key: %d %v", res.StatusCode, k)
	}
	_, rs := postJSON(t, http.DefaultClient, issuer+"/v1/admin/access-keys", map[string]any{"name": "rs", "scopes": []string{"gatehouse:revocations"}}, asAdmin...)
	ctx := context.Background()
	tok, err := (&clientcredentials.Config{ClientID: k["id"].(string), ClientSecret: k["key"].(string), TokenURL: issuer + "/oauth/token"}).Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v, err := verify.New(ctx, issuer, verify.WithAudience("gatehouse"), verify.WithCredentials(rs["key"].(string)))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if _, err := v.Verify(ctx, tok.AccessToken); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := run(ctx, runEnv{args: []string{"user", "disable", "--data-dir", dir, "owner@example.com"}, getenv: func(string) string { return "" },
		stdin: strings.NewReader(""), stdout: &out, stderr: io.Discard}); err != nil || !strings.Contains(out.String(), "1 access keys") {
		t.Fatalf("user disable: %v %q", err, out.String())
	}
	// The server reads the CLI's entries from the log within 250 ms and streams them.
	deadline := time.Now().Add(3 * time.Second)
	for {
		if _, err := v.Verify(ctx, tok.AccessToken); errors.Is(err, verify.ErrRevoked) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("a token of a key whose owner was disabled from the CLI is still accepted")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
