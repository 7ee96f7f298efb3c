package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi"
)

// FuzzJSONEndpoints sends arbitrary bodies to every JSON endpoint: the answer is always a
// well-formed JSON error or success, never a 5xx.
func FuzzJSONEndpoints(f *testing.F) {
	for _, s := range []string{
		`{"email":"a@example.com","password":"correct horse battery staple"}`,
		`{"email":"a@example.com","password":"x","delivery":"token"}`,
		`{"scope":"global"}`, `{"email":null}`, `[]`, `"x"`, `{"email":{"$gt":""}}`, "\x00", `{"a":1e999}`,
	} {
		f.Add(s)
	}
	e := newEnv(f)
	f.Fuzz(func(t *testing.T, body string) {
		e.t = t
		for _, path := range []string{"/v1/signup", "/v1/login", "/v1/logout"} {
			r := e.do("POST", path, body)
			if r.StatusCode >= 500 {
				t.Fatalf("%s %q: %d %s", path, body, r.StatusCode, r.body)
			}
			if r.StatusCode >= 400 && r.StatusCode != http.StatusTooManyRequests {
				if m := r.json(t); m["error"] == nil {
					t.Fatalf("%s: error without code: %s", path, r.body)
				}
			}
		}
	})
}

// FuzzCleanHeader: whatever a client sends as a header, what is stored is valid UTF-8,
// within the limit, without control characters, and unchanged when it already was clean.
func FuzzCleanHeader(f *testing.F) {
	for _, s := range []string{"", "Mozilla/5.0", "\xff\xfe", strings.Repeat("€", 200), "a\x00b\x1bc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := httpapi.CleanHeader(s, 64)
		if !utf8.ValidString(got) || len(got) > 64 {
			t.Fatalf("CleanHeader(%q) = %q", s, got)
		}
		for _, r := range got {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
				t.Fatalf("CleanHeader(%q) kept control %U", s, r)
			}
		}
		if len(s) <= 64 && utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }) && got != s {
			t.Fatalf("CleanHeader changed clean %q to %q", s, got)
		}
	})
}
