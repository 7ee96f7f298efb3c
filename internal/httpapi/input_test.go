package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestStrictJSONMembers: every JSON endpoint refuses what two parsers could read differently
// (case-variant or duplicate member names) and what a store cannot hold (NUL, invalid UTF-8),
// with 400 invalid_request, and nothing is written.
func TestStrictJSONMembers(t *testing.T) {
	e := newEnv(t)
	const pw = `"correct horse battery staple"`
	for _, tt := range []struct {
		name, path, body string
	}{
		{"upper-case member", "/v1/signup", `{"EMAIL":"a@example.com","password":` + pw + `}`},
		{"capitalised member", "/v1/signup", `{"Email":"a@example.com","password":` + pw + `}`},
		{"Kelvin sign folds onto k", "/v1/login", `{"email":"a@example.com","password":` + pw + `,"delivery":"cookie","\u212a":1}`},
		{"duplicate member", "/v1/signup", `{"email":"a@example.com","email":"b@example.com","password":` + pw + `}`},
		{"duplicate differing in case", "/v1/signup", `{"email":"a@example.com","password":` + pw + `,"PASSWORD":"x"}`},
		{"escaped duplicate", "/v1/signup", `{"email":"a@example.com","\u0065mail":"b@example.com","password":` + pw + `}`},
		{"NUL in a value", "/v1/signup", `{"email":"a@example.com","password":"correct horse\u0000battery"}`},
		{"NUL in a member name", "/v1/signup", `{"email":"a@example.com","password":` + pw + `,"x\u0000":1}`},
		{"invalid UTF-8", "/v1/signup", "{\"email\":\"a\xff@example.com\",\"password\":" + pw + "}"},
		{"cut mid-rune", "/v1/signup", "{\"email\":\"a@example.com\",\"password\":\"" + strings.Repeat("€", 20)[:29] + "\"}"},
		{"duplicate in login", "/v1/login", `{"email":"a@example.com","password":` + pw + `,"password":"other"}`},
		{"duplicate admin create", "/v1/admin/users", `{"email":"a@example.com","email":"c@example.com"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e.do("POST", tt.path, tt.body, asAdmin()...).wantError(t, 400, "invalid_request")
		})
	}
	// Nothing was created by any of them.
	if users := e.do("GET", "/v1/admin/users", nil, asAdmin()...).json(t)["users"].([]any); len(users) != 0 {
		t.Fatalf("refused requests created users: %v", users)
	}
	// The exact spelling still works.
	e.do("POST", "/v1/signup", `{"email":"a@example.com","password":`+pw+`}`).wantStatus(t, 201)
}

// TestInvalidTextInURL: a path or query parameter with a NUL or invalid UTF-8 answers 400
// invalid_request before it reaches the store.
func TestInvalidTextInURL(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{
		"/v1/admin/users?email_prefix=%00",
		"/v1/admin/users?email_prefix=%ff",
		"/v1/admin/users?after=a%ffb",
		"/v1/admin/users?%ff=1",
		"/v1/admin/users/%ff",
		"/v1/admin/users/a%00b/sessions",
		"/v1/admin/events?type=%00",
		"/v1/revocations?after=%ff",
	} {
		t.Run(path, func(t *testing.T) {
			e.do("GET", path, nil, asAdmin()...).wantError(t, 400, "invalid_request")
		})
	}
	// Form-encoded OAuth endpoints too.
	req, _ := http.NewRequest("POST", e.srv.URL+"/oauth/token", strings.NewReader("grant_type=refresh_token&client_id=gatehouse&refresh_token=%ff%00"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	e.send(req).wantError(t, 400, "invalid_request")
}

// TestUserAgentIsCleaned: a User-Agent with invalid UTF-8, control characters or a multi-byte
// character cut at the length limit is stored as valid text, and the sign-up succeeds.
func TestUserAgentIsCleaned(t *testing.T) {
	e := newEnv(t)
	for i, ua := range []string{"Mozilla/5.0 \xff\xfe", strings.Repeat("€", 200), "x" + strings.Repeat("€", 200)} {
		email := string(rune('a'+i)) + "@example.com"
		res := e.do("POST", "/v1/signup", map[string]string{"email": email, "password": "correct horse battery staple"}, "User-Agent", ua)
		res.wantStatus(t, 201)
		list := e.do("GET", "/v1/sessions", nil, withCookie(sessionCookie(t, res))...).json(t)["sessions"].([]any)
		got := list[0].(map[string]any)["user_agent"].(string)
		if !utf8.ValidString(got) || len(got) > 512 || strings.ContainsAny(got, "\x00\x01\x7f") {
			t.Fatalf("stored user agent %q (%d bytes) is not clean text", got, len(got))
		}
	}
}

// TestShedRequestsAreSampledInLogs: a flood turned away by the saturated hash queue is counted
// in a metric, answered 503 with Retry-After, and logged as a sample, not a line a request.
func TestShedRequestsAreSampledInLogs(t *testing.T) {
	e := newEnv(t)
	e.signup("shed@example.com")
	e.hasher.busy.Store(true)
	const n = 15 // under the per-IP sign-in limit, so that only the hash queue turns them away
	for i := range n {
		res := e.do("POST", "/v1/login", map[string]string{"email": fmt.Sprintf("shed%d@example.com", i), "password": "correct horse battery staple"})
		res.wantError(t, 503, "temporarily_unavailable")
		if res.Header.Get("Retry-After") == "" {
			t.Fatal("503 without Retry-After")
		}
	}
	lines := strings.Count(e.logs.String(), `"code":"temporarily_unavailable"`)
	if lines < 1 || lines > 5 {
		t.Fatalf("%d log lines for %d shed requests, want a sample of a few", lines, n)
	}
	if strings.Contains(e.logs.String(), `"level":"ERROR"`) {
		t.Fatal("shedding logged at ERROR")
	}
	metrics := e.do("GET", "/metrics", nil)
	if !strings.Contains(string(metrics.body), `gatehouse_requests_shed_total{reason="hash_queue"} 15`) {
		t.Fatalf("shed metric missing or wrong:\n%s", grepLines(string(metrics.body), "shed"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for l := range strings.Lines(s) {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}
