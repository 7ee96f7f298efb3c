package main

import (
	"net/http"
	"strings"
	"testing"
)

// TestNonUTF8InputOnPostgres: input PostgreSQL cannot store as text (invalid UTF-8, a
// multi-byte character cut at a length limit, NUL) never turns into a 503, and a write that
// happened is never reported as failed: headers are cleaned, parameters and bodies refused
// with 400.
func TestNonUTF8InputOnPostgres(t *testing.T) {
	key := strings.Repeat("m", 40)
	s := startServer(t, t.TempDir(), map[string]string{"GATEHOUSE_ADMIN_KEY": key}, "--database-url", testDatabase(t))
	admin := []string{"Authorization", "Bearer " + key}
	body := map[string]string{"email": "utf@example.com", "password": "correct horse battery staple"}

	for _, ua := range []string{"Mozilla/5.0 \xff", strings.Repeat("€", 200)} {
		res, _ := postJSON(t, http.DefaultClient, s.url+"/v1/login", map[string]string{"email": "utf@example.com", "password": "wrong password here"}, "User-Agent", ua)
		if res.StatusCode != 401 {
			t.Fatalf("login of an unknown user with UA %q: %d, want 401", ua, res.StatusCode)
		}
	}
	res, _ := postJSON(t, http.DefaultClient, s.url+"/v1/signup", body, "User-Agent", "Mozilla/5.0 \xff")
	if res.StatusCode != 201 {
		t.Fatalf("sign-up with a non-UTF-8 User-Agent: %d, want 201", res.StatusCode)
	}
	res, _ = postJSON(t, http.DefaultClient, s.url+"/v1/login", body, "User-Agent", strings.Repeat("€", 200))
	if res.StatusCode != 200 {
		t.Fatalf("login with a long multi-byte User-Agent: %d, want 200", res.StatusCode)
	}
	res, _ = postJSON(t, http.DefaultClient, s.url+"/v1/login", map[string]string{"email": body["email"], "password": "not the password"}, "User-Agent", "\xff\xfe")
	if res.StatusCode != 401 {
		t.Fatalf("wrong password with a non-UTF-8 User-Agent: %d, want 401", res.StatusCode)
	}
	_, ev := get(t, http.DefaultClient, s.url+"/v1/admin/events?type=user.login_failed", admin...)
	if n := len(ev["events"].([]any)); n < 3 {
		t.Fatalf("failed sign-ins audited: %d, want 3", n)
	}
	for _, q := range []string{"email_prefix=%00", "email_prefix=%ff", "after=%ff"} {
		if res, _ := get(t, http.DefaultClient, s.url+"/v1/admin/users?"+q, admin...); res.StatusCode != 400 {
			t.Fatalf("?%s: %d, want 400", q, res.StatusCode)
		}
	}
	if res, _ := get(t, http.DefaultClient, s.url+"/v1/admin/users/%ff", admin...); res.StatusCode != 400 {
		t.Fatalf("non-UTF-8 user id: %d, want 400", res.StatusCode)
	}
	_, list := get(t, http.DefaultClient, s.url+"/v1/admin/users", admin...)
	if n := len(list["users"].([]any)); n != 1 {
		t.Fatalf("users: %d, want 1", n)
	}
}
