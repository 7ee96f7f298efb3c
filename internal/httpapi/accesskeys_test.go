package httpapi_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"
)

func TestAdminAccessKeys(t *testing.T) {
	e := newEnv(t)
	e.do("POST", "/v1/admin/access-keys", map[string]any{"name": "x"}).wantError(t, 401, "unauthorized")

	owner := e.do("POST", "/v1/admin/users", map[string]any{"email": "svc@example.com"}, asAdmin()...).json(t)["id"].(string)
	exp := e.clock.Now().Add(24 * time.Hour).Format(time.RFC3339)
	res := e.do("POST", "/v1/admin/access-keys", map[string]any{"name": "billing", "scopes": []string{"orders:read", "gatehouse:introspect"}, "expires_at": exp, "user_id": owner}, asAdmin()...)
	res.wantStatus(t, 201)
	k := res.json(t)
	key, id := k["key"].(string), k["id"].(string)
	if !strings.HasPrefix(key, "gh_ak_"+id+"_") || k["user_id"] != owner || k["expires_at"] == nil {
		t.Fatalf("created %v", k)
	}
	got := e.do("GET", "/v1/admin/access-keys/"+id, nil, asAdmin()...).json(t)
	if _, shown := got["key"]; shown {
		t.Fatal("the key is shown again after creation")
	}
	if strings.Contains(string(e.do("GET", "/v1/admin/access-keys", nil, asAdmin()...).body), key[len("gh_ak_")+27:]) {
		t.Fatal("the list shows the key's secret")
	}

	// Update: rename, narrow scopes, clear the expiry.
	up := e.do("PATCH", "/v1/admin/access-keys/"+id, `{"name":"billing-2","scopes":["orders:read"],"expires_at":null}`, asAdmin()...)
	up.wantStatus(t, 200)
	if u := up.json(t); u["name"] != "billing-2" || u["expires_at"] != nil || len(u["scopes"].([]any)) != 1 {
		t.Fatalf("updated %v", u)
	}

	// Bad input answers 400 and creates nothing.
	for name, body := range map[string]any{
		"no name":       map[string]any{"scopes": []string{"a"}},
		"bad scope":     map[string]any{"name": "x", "scopes": []string{"a b"}},
		"past expiry":   map[string]any{"name": "x", "expires_at": "2020-01-01T00:00:00Z"},
		"unknown owner": map[string]any{"name": "x", "user_id": "aaaaaaaaaaaaaaaaaaaaaaaaaa"},
	} {
		t.Run(name, func(t *testing.T) {
			e.do("POST", "/v1/admin/access-keys", body, asAdmin()...).wantError(t, 400, "invalid_request")
		})
	}
	list := e.do("GET", "/v1/admin/access-keys?user_id="+owner, nil, asAdmin()...).json(t)["access_keys"].([]any)
	if len(list) != 1 {
		t.Fatalf("owner's keys: %d, want 1", len(list))
	}

	e.do("DELETE", "/v1/admin/access-keys/"+id, nil, asAdmin()...).wantStatus(t, 204)
	e.do("GET", "/v1/admin/access-keys/"+id, nil, asAdmin()...).wantError(t, 404, "access_key_not_found")
	e.do("DELETE", "/v1/admin/access-keys/"+id, nil, asAdmin()...).wantError(t, 404, "access_key_not_found")
}

func TestAdminImportAccessKeys(t *testing.T) {
	e := newEnv(t)
	sum := sha256.Sum256([]byte("legacy-hash-only-key-42"))
	body := map[string]any{"keys": []map[string]any{
		{"key": "sk_live_legacy_cleartext_1", "name": "a", "scopes": []string{"orders:read"}},
		{"key_sha256": hex.EncodeToString(sum[:]), "name": "b"},
		{"key": "sk_live_legacy_cleartext_1", "name": "a again"},
		{"key": "short", "name": "c"},
		{"name": "d"},
	}}
	res := e.do("POST", "/v1/admin/access-keys/import", body, asAdmin()...)
	res.wantStatus(t, 200)
	results := res.json(t)["results"].([]any)
	want := []string{"created", "created", "exists", "invalid", "invalid"}
	for i, r := range results {
		m := r.(map[string]any)
		if m["status"] != want[i] || int(m["index"].(float64)) != i {
			t.Fatalf("result %d = %v, want %s", i, m, want[i])
		}
		if (m["status"] == "invalid") != (m["error"] != nil) || (m["status"] != "invalid") != (m["id"] != nil) {
			t.Fatalf("result %d = %v", i, m)
		}
	}
	// Importing the same file again changes nothing.
	res = e.do("POST", "/v1/admin/access-keys/import", body, asAdmin()...)
	for i, r := range res.json(t)["results"].([]any) {
		if st := r.(map[string]any)["status"]; i < 3 && st != "exists" {
			t.Fatalf("second import, entry %d: %v", i, st)
		}
	}
	if n := len(e.do("GET", "/v1/admin/access-keys", nil, asAdmin()...).json(t)["access_keys"].([]any)); n != 2 {
		t.Fatalf("%d keys after two imports, want 2", n)
	}
	e.do("POST", "/v1/admin/access-keys/import", map[string]any{"keys": []any{}}, asAdmin()...).wantError(t, 400, "invalid_request")
}
