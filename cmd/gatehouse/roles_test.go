package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/verify"
)

// TestRolesGrantScopesEndToEnd: the orders example's POST /orders (verify.RequireScope
// "orders:write") lets through a user whose role grants the scope and the sign-in asked for
// it, and answers 403 insufficient_scope to a user without the role, to a sign-in that did
// not ask, and (at the next refresh) to a user whose role was taken away.
func TestRolesGrantScopesEndToEnd(t *testing.T) {
	admin := strings.Repeat("r", 40)
	addr := freeAddr(t)
	base := "http://" + addr
	startServer(t, t.TempDir(), map[string]string{"GATEHOUSE_ADMIN_KEY": admin}, "--issuer", base, "--addr", addr)
	ctx := context.Background()
	v, err := verify.New(ctx, base, verify.WithAudience("gatehouse"))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	// examples/orders' routes, as that example wires them.
	mux := http.NewServeMux()
	mux.Handle("POST /orders", v.Middleware(verify.RequireScope("orders:write")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"ok":true}`))
	}))))
	orders := httptest.NewServer(mux)
	defer orders.Close()
	postOrder := func(at string) (int, string) {
		req, _ := http.NewRequest("POST", orders.URL+"/orders", nil)
		req.Header.Set("Authorization", "Bearer "+at)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode, res.Header.Get("WWW-Authenticate")
	}
	adminDo := func(method, path string, body any) (*http.Response, map[string]any) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, base+path, strings.NewReader(string(b)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+admin)
		return send(t, http.DefaultClient, req)
	}
	refresh := func(rt string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest("POST", base+"/oauth/token", strings.NewReader(url.Values{
			"grant_type": {"refresh_token"}, "client_id": {"gatehouse"}, "refresh_token": {rt}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, m := send(t, http.DefaultClient, req)
		if res.StatusCode != 200 {
			t.Fatalf("refresh: %d %v", res.StatusCode, m)
		}
		return m
	}
	const pw = "correct horse battery staple"
	signup := func(email, scope string) (string, map[string]any) {
		t.Helper()
		res, m := postJSON(t, http.DefaultClient, base+"/v1/signup", map[string]string{"email": email, "password": pw, "delivery": "token", "scope": scope})
		if res.StatusCode != 201 {
			t.Fatalf("signup %s: %d %v", email, res.StatusCode, m)
		}
		c, err := v.Verify(ctx, m["access_token"].(string))
		if err != nil {
			t.Fatal(err)
		}
		return c.Subject, m
	}

	if res, m := adminDo("POST", "/v1/admin/roles", map[string]any{"name": "order-writer", "scopes": []string{"orders:write", "orders:read"}}); res.StatusCode != 201 {
		t.Fatalf("create role: %d %v", res.StatusCode, m)
	}
	if res, m := adminDo("POST", "/v1/admin/roles", map[string]any{"name": "order-writer", "scopes": []string{}}); res.StatusCode != 409 || m["error"] != "role_exists" {
		t.Fatalf("duplicate role: %d %v", res.StatusCode, m)
	}
	alice, at := signup("alice@example.com", "orders:write orders:delete")
	_, bt := signup("bob@example.com", "orders:write")
	if at["scope"] != "openid" {
		t.Fatalf("before any role the token has scope %q", at["scope"])
	}
	if res, m := adminDo("PUT", "/v1/admin/users/"+alice+"/roles", map[string]any{"roles": []string{"order-writer"}}); res.StatusCode != 200 {
		t.Fatalf("assign: %d %v", res.StatusCode, m)
	}
	if res, m := adminDo("PUT", "/v1/admin/users/"+alice+"/roles", map[string]any{"roles": []string{"ghost"}}); res.StatusCode != 404 || m["error"] != "role_not_found" {
		t.Fatalf("assign unknown role: %d %v", res.StatusCode, m)
	}
	if res, m := get(t, http.DefaultClient, base+"/v1/admin/users/"+alice, "Authorization", "Bearer "+admin); res.StatusCode != 200 || len(m["roles"].([]any)) != 1 {
		t.Fatalf("user object: %d %v", res.StatusCode, m)
	}

	// The role takes effect at the next refresh: orders:write (asked and granted), not
	// orders:delete (asked, not granted) nor orders:read (granted, not asked).
	at = refresh(at["refresh_token"].(string))
	if at["scope"] != "openid orders:write" {
		t.Fatalf("refreshed scope %q", at["scope"])
	}
	if code, _ := postOrder(at["access_token"].(string)); code != 200 {
		t.Fatalf("alice with the role: %d", code)
	}
	bt = refresh(bt["refresh_token"].(string))
	if code, h := postOrder(bt["access_token"].(string)); code != 403 || !strings.Contains(h, "insufficient_scope") {
		t.Fatalf("bob without the role: %d %q", code, h)
	}
	// A sign-in that asks for nothing gets nothing beyond openid.
	res, plain := postJSON(t, http.DefaultClient, base+"/v1/login", map[string]string{"email": "alice@example.com", "password": pw, "delivery": "token"})
	if res.StatusCode != 200 {
		t.Fatalf("login: %d %v", res.StatusCode, plain)
	}
	if code, _ := postOrder(plain["access_token"].(string)); code != 403 {
		t.Fatalf("a login that did not ask: %d", code)
	}
	res, scoped := postJSON(t, http.DefaultClient, base+"/v1/login", map[string]string{"email": "alice@example.com", "password": pw, "delivery": "token", "scope": "orders:write"})
	if res.StatusCode != 200 || scoped["scope"] != "openid orders:write" {
		t.Fatalf("scoped login: %d %v", res.StatusCode, scoped)
	}
	if res, m := postJSON(t, http.DefaultClient, base+"/v1/login", map[string]string{"email": "alice@example.com", "password": pw, "scope": "orders:write"}); res.StatusCode != 400 {
		t.Fatalf("scope with cookie delivery: %d %v", res.StatusCode, m)
	}

	// Taking the role away: the next refresh no longer carries the scope.
	if res, m := adminDo("PUT", "/v1/admin/users/"+alice+"/roles", map[string]any{"roles": []string{}}); res.StatusCode != 200 {
		t.Fatalf("unassign: %d %v", res.StatusCode, m)
	}
	at = refresh(at["refresh_token"].(string))
	if code, _ := postOrder(at["access_token"].(string)); code != 403 || at["scope"] != "openid" {
		t.Fatalf("after the role was taken away: %d %v", code, at["scope"])
	}
	if res, _ := adminDo("DELETE", "/v1/admin/roles/order-writer", nil); res.StatusCode != 204 {
		t.Fatalf("delete role: %d", res.StatusCode)
	}
	if res, m := adminDo("GET", "/v1/admin/roles/order-writer", nil); res.StatusCode != 404 || m["error"] != "role_not_found" {
		t.Fatalf("deleted role: %d %v", res.StatusCode, m)
	}
	// Every change was audited.
	_, ev := get(t, http.DefaultClient, base+"/v1/admin/events?type=role.created", "Authorization", "Bearer "+admin)
	if evs, _ := ev["events"].([]any); len(evs) != 1 {
		t.Fatalf("role.created events: %v", ev)
	}
}

// TestRoleCommands: the CLI creates, lists and deletes roles and assigns them, on the store
// the server uses.
func TestRoleCommands(t *testing.T) {
	dir := t.TempDir()
	var out strings.Builder
	runCmd := func(args ...string) error {
		out.Reset()
		return run(context.Background(), runEnv{args: args, getenv: func(string) string { return "" },
			stdin: strings.NewReader(""), stdout: &out, stderr: &out})
	}
	if err := runCmd("user", "create", "--email", "cli@example.com", "--data-dir", dir); err != nil {
		t.Fatal(err)
	}
	if err := runCmd("role", "create", "--data-dir", dir, "auditor", "logs:read", "logs:read"); err != nil || !strings.Contains(out.String(), "logs:read") {
		t.Fatalf("role create: %v %s", err, out.String())
	}
	if err := runCmd("role", "create", "--data-dir", dir, "bad name"); err == nil {
		t.Fatal("a bad role name was accepted")
	}
	if err := runCmd("role", "list", "--data-dir", dir); err != nil || !strings.Contains(out.String(), "auditor") {
		t.Fatalf("role list: %v %s", err, out.String())
	}
	if err := runCmd("user", "roles", "--data-dir", dir, "cli@example.com", "ghost"); err == nil {
		t.Fatal("an unknown role was assigned")
	}
	if err := runCmd("user", "roles", "--data-dir", dir, "CLI@example.com", "auditor"); err != nil || !strings.Contains(out.String(), "auditor") {
		t.Fatalf("user roles: %v %s", err, out.String())
	}
	a, _, err := openFor(context.Background(), runEnv{getenv: func(string) string { return "" }, stderr: &out}, "check", []string{"--data-dir", dir})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := a.db.UserByEmail(context.Background(), "cli@example.com")
	if got, err := a.roles.Grant(context.Background(), u.ID, "logs:read logs:write"); err != nil || got != "logs:read" {
		t.Fatalf("grant after CLI assignment: %q %v", got, err)
	}
	a.Close()
	if err := runCmd("role", "delete", "--data-dir", dir, "auditor"); err != nil {
		t.Fatal(err)
	}
	if err := runCmd("role", "list", "--data-dir", dir); err != nil || strings.Contains(out.String(), "auditor") {
		t.Fatalf("after delete: %v %s", err, out.String())
	}
}
