package httpapi_test

import (
	"net/http"
	"testing"
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
