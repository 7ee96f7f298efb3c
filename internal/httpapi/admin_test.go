package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
)

func TestAdminRequiresManagementKey(t *testing.T) {
	e := newEnv(t)
	c := e.signup("a@example.com")
	for name, hdr := range map[string][]string{
		"none":          nil,
		"wrong key":     withBearer("gh_mk_wrong"),
		"session token": withBearer(c.Value),
		"cookie":        withCookie(c),
		"basic":         {"Authorization", "Basic " + adminKey},
		"key prefix":    withBearer(adminKey[:len(adminKey)-1]),
	} {
		t.Run(name, func(t *testing.T) {
			e.do("GET", "/v1/admin/users", nil, hdr...).wantError(t, http.StatusUnauthorized, "unauthorized")
			e.do("POST", "/v1/admin/users", map[string]string{"email": "x@example.com"}, hdr...).wantError(t, http.StatusUnauthorized, "unauthorized")
		})
	}
}

func TestAdminUserLifecycle(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/v1/admin/users", map[string]any{"email": "Bob@Example.com", "password": goodPassword, "email_verified": true}, asAdmin()...)
	r.wantStatus(t, http.StatusCreated)
	u := r.json(t)
	id := u["id"].(string)
	if u["email"] != "bob@example.com" || u["email_verified"] != true || u["has_password"] != true {
		t.Fatalf("created: %s", r.body)
	}
	e.do("POST", "/v1/admin/users", map[string]any{"email": "bob@example.com"}, asAdmin()...).wantError(t, http.StatusConflict, "email_taken")
	e.do("GET", "/v1/admin/users/"+id, nil, asAdmin()...).wantStatus(t, http.StatusOK)
	e.do("GET", "/v1/admin/users/zzzzzzzzzzzzzzzzzzzzzzzzzz", nil, asAdmin()...).wantError(t, http.StatusNotFound, "user_not_found")
	e.do("GET", "/v1/admin/users/../../etc", nil, asAdmin()...).wantStatus(t, http.StatusNotFound)

	s1 := e.login("bob@example.com")
	s2 := e.login("bob@example.com")
	r = e.do("GET", "/v1/admin/users/"+id+"/sessions", nil, asAdmin()...)
	if n := len(r.json(t)["sessions"].([]any)); n != 2 {
		t.Fatalf("admin sees %d sessions", n)
	}

	// Update: email and verification; sessions survive.
	r = e.do("PATCH", "/v1/admin/users/"+id, map[string]any{"email": "robert@example.com", "email_verified": false}, asAdmin()...)
	r.wantStatus(t, http.StatusOK)
	if r.json(t)["email"] != "robert@example.com" {
		t.Fatalf("update: %s", r.body)
	}
	e.do("GET", "/v1/session", nil, withCookie(s1)...).wantStatus(t, http.StatusOK)
	e.do("PATCH", "/v1/admin/users/"+id, map[string]any{"email_verified": "yes"}, asAdmin()...).wantError(t, 400, "invalid_request")
	e.do("PATCH", "/v1/admin/users/"+id, map[string]any{"password": "123"}, asAdmin()...).wantError(t, 400, "password_too_short")

	// Disable: every session dies at once, login fails the same way as a wrong password.
	r = e.do("POST", "/v1/admin/users/"+id+"/disable", nil, asAdmin()...)
	r.wantStatus(t, http.StatusOK)
	if r.json(t)["disabled"] != true {
		t.Fatal("not disabled")
	}
	for _, c := range []*http.Cookie{s1, s2} {
		e.do("GET", "/v1/session", nil, withCookie(c)...).wantError(t, http.StatusUnauthorized, "unauthorized")
	}
	e.do("POST", "/v1/login", map[string]string{"email": "robert@example.com", "password": goodPassword}).wantError(t, 401, "invalid_credentials")
	e.do("POST", "/v1/admin/users/"+id+"/enable", nil, asAdmin()...).wantStatus(t, http.StatusOK)
	s3 := e.login("robert@example.com")

	// Password change ends sessions too.
	e.do("PATCH", "/v1/admin/users/"+id, map[string]any{"password": "a brand new passphrase"}, asAdmin()...).wantStatus(t, http.StatusOK)
	e.do("GET", "/v1/session", nil, withCookie(s3)...).wantStatus(t, http.StatusUnauthorized)
	s4 := e.do("POST", "/v1/login", map[string]string{"email": "robert@example.com", "password": "a brand new passphrase"})
	s4.wantStatus(t, http.StatusOK)

	// Admin logout.
	r = e.do("POST", "/v1/admin/users/"+id+"/logout", nil, asAdmin()...)
	r.wantStatus(t, http.StatusOK)
	if r.json(t)["revoked"] != float64(1) {
		t.Fatalf("logout: %s", r.body)
	}
	e.do("GET", "/v1/session", nil, withCookie(sessionCookie(t, s4))...).wantStatus(t, http.StatusUnauthorized)

	// Delete.
	s5 := e.do("POST", "/v1/login", map[string]string{"email": "robert@example.com", "password": "a brand new passphrase"})
	e.do("DELETE", "/v1/admin/users/"+id, nil, asAdmin()...).wantStatus(t, http.StatusNoContent)
	e.do("GET", "/v1/session", nil, withCookie(sessionCookie(t, s5))...).wantStatus(t, http.StatusUnauthorized)
	e.do("GET", "/v1/admin/users/"+id, nil, asAdmin()...).wantError(t, http.StatusNotFound, "user_not_found")
	e.do("DELETE", "/v1/admin/users/"+id, nil, asAdmin()...).wantError(t, http.StatusNotFound, "user_not_found")

	// Every admin action is in the trail.
	r = e.do("GET", "/v1/admin/events?user="+id, nil, asAdmin()...)
	var types []string
	for _, ev := range r.json(t)["events"].([]any) {
		m := ev.(map[string]any)
		if m["actor"] == "admin" {
			types = append(types, m["type"].(string))
		}
	}
	want := []string{audit.AdminUserCreate, audit.AdminUserUpdate, audit.AdminUserDisable, audit.AdminUserEnable, audit.AdminUserUpdate, audit.AdminUserLogout, audit.AdminUserDelete}
	if fmt.Sprint(types) != fmt.Sprint(want) {
		t.Fatalf("admin events = %v, want %v", types, want)
	}
}

func TestAdminListPagination(t *testing.T) {
	e := newEnv(t)
	for i := range 5 {
		e.do("POST", "/v1/admin/users", map[string]any{"email": fmt.Sprintf("u%d@example.com", i)}, asAdmin()...).wantStatus(t, 201)
	}
	seen := map[string]bool{}
	next := ""
	for pages := 0; ; pages++ {
		path := "/v1/admin/users?limit=2"
		if next != "" {
			path += "&after=" + next
		}
		m := e.do("GET", path, nil, asAdmin()...).json(t)
		for _, u := range m["users"].([]any) {
			seen[u.(map[string]any)["id"].(string)] = true
		}
		if m["next"] == nil {
			break
		}
		next = m["next"].(string)
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
	}
	if len(seen) != 5 {
		t.Fatalf("paged %d users", len(seen))
	}
	if n := len(e.do("GET", "/v1/admin/users?email_prefix=u3", nil, asAdmin()...).json(t)["users"].([]any)); n != 1 {
		t.Fatalf("prefix filter: %d", n)
	}
	e.do("GET", "/v1/admin/users?limit=0", nil, asAdmin()...).wantError(t, 400, "invalid_request")
	e.do("GET", "/v1/admin/users?limit=abc", nil, asAdmin()...).wantError(t, 400, "invalid_request")
	e.do("GET", "/v1/admin/users?email=bad", nil, asAdmin()...).wantError(t, 400, "invalid_email")
	e.do("GET", "/v1/admin/events?after=-1", nil, asAdmin()...).wantError(t, 400, "invalid_request")
}

func TestAuditTrail(t *testing.T) {
	e := newEnv(t)
	c := e.signup("a@example.com")
	e.do("POST", "/v1/login", map[string]string{"email": "a@example.com", "password": "wrong password"}, "User-Agent", "curl/8")
	e.do("POST", "/v1/login", map[string]string{"email": "ghost@example.com", "password": "wrong password"})
	e.do("POST", "/v1/logout", nil, withCookie(c)...)
	m := e.do("GET", "/v1/admin/events", nil, asAdmin()...).json(t)
	var got []string
	for _, ev := range m["events"].([]any) {
		x := ev.(map[string]any)
		got = append(got, x["type"].(string)+":"+fmt.Sprint(x["reason"]))
		if x["ip"] == "" || x["time"] == "" {
			t.Fatalf("event lacks ip/time: %v", x)
		}
	}
	want := []string{"user.signup:<nil>", "user.login:<nil>", "user.login_failed:bad_password", "user.login_failed:unknown_user", "user.logout:local"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events = %v, want %v", got, want)
	}
	failed := e.do("GET", "/v1/admin/events?type=user.login_failed", nil, asAdmin()...).json(t)["events"].([]any)
	if len(failed) != 2 || failed[0].(map[string]any)["user_agent"] != "curl/8" {
		t.Fatalf("filtered: %v", failed)
	}
}

// TestNoSecretsInLogsOrEvents runs every flow that handles a secret and then searches the
// logs, the audit trail and the events table for any of them.
func TestNoSecretsInLogsOrEvents(t *testing.T) {
	e := newEnv(t)
	const pw2 = "another secret passphrase"
	c := e.signup("a@example.com")
	c2 := e.login("a@example.com")
	e.do("POST", "/v1/login", map[string]string{"email": "a@example.com", "password": pw2})
	e.do("POST", "/v1/login", map[string]string{"email": "nobody@example.com", "password": pw2})
	e.do("POST", "/v1/signup", map[string]string{"email": "b@example.com", "password": "password1"})
	e.do("GET", "/v1/session", nil, withBearer(c.Value+"x")...)
	e.do("GET", "/v1/admin/users", nil, withBearer(adminKey+"x")...)
	e.do("POST", "/v1/admin/users", map[string]any{"email": "c@example.com", "password": pw2}, asAdmin()...)
	e.do("POST", "/v1/logout", `{"scope":"global"}`, withCookie(c2)...)
	e.db.Close() // failures get logged with their underlying errors too
	e.do("POST", "/v1/login", map[string]string{"email": "a@example.com", "password": goodPassword})
	e.do("GET", "/v1/session", nil, withCookie(c)...)

	secrets := []string{goodPassword, pw2, "password1", adminKey, c.Value, c2.Value,
		strings.SplitN(c.Value, ".", 2)[1], strings.SplitN(c2.Value, ".", 2)[1]}
	logs := e.logs.String()
	if !strings.Contains(logs, "request failed") {
		t.Fatal("nothing was logged; the test would prove nothing")
	}
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("logs contain a secret %q…", s[:6])
		}
	}
	// The events table, read raw from a fresh connection.
	db := reopen(t, e)
	evs, err := db.ListEvents(context.Background(), audit.Filter{Limit: 1000})
	if err != nil || len(evs) < 5 {
		t.Fatalf("events: %d, %v", len(evs), err)
	}
	var all bytes.Buffer
	for _, ev := range evs {
		fmt.Fprintf(&all, "%+v\n", *ev)
	}
	for _, s := range secrets {
		if strings.Contains(all.String(), s) {
			t.Errorf("events contain a secret %q…", s[:6])
		}
	}
}
