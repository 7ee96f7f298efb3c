package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/userimport"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

const (
	importPassword = "correct horse battery staple"
	// Made by passlib 1.7.4 (internal/password/testdata/legacy_vectors.json).
	importBcrypt = "$2b$05$sTcTyUBskOX/R1LwlqPu9ehqQkmT.jhE3bPybXidVXhRCSik8zTb6"
)

func (e *env) importUsers(query, body string, hdr ...string) *resp {
	e.t.Helper()
	req, err := http.NewRequest("POST", e.srv.URL+"/v1/admin/users/import"+query, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	return e.send(req, append(asAdmin(), hdr...)...)
}

func ndjson(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("answer line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// TestImportThenSignIn imports an Auth0 export over HTTP, signs the user in with the old
// password, and watches password_scheme go from bcrypt to argon2id with the rehash audited.
func TestImportThenSignIn(t *testing.T) {
	e := newEnv(t)
	body := `{"_id":{"$oid":"60425da93519d90068f82966"},"email_verified":true,"email":"ann@example.com","passwordHash":"` + importBcrypt + `","tenant":"dev"}
{"_id":{"$oid":"60425da93519d90068f82967"},"email":"bad","passwordHash":"` + importBcrypt + `"}
`
	r := e.importUsers("?format=auth0&issuer=https://dev.auth0.example/", body)
	r.wantStatus(t, http.StatusOK)
	if ct := r.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Fatalf("Content-Type %q", ct)
	}
	lines := ndjson(t, r.body)
	if len(lines) != 3 || lines[0]["status"] != "created" || lines[0]["line"] != 1.0 || lines[1]["status"] != "invalid" || lines[1]["error"] == nil {
		t.Fatalf("answer %s", r.body)
	}
	if s, _ := lines[2]["summary"].(map[string]any); s["created"] != 1.0 || s["invalid"] != 1.0 || s["exists"] != 0.0 || s["updated"] != 0.0 {
		t.Fatalf("summary %v", lines[2])
	}
	id := lines[0]["id"].(string)
	u := e.do("GET", "/v1/admin/users/"+id, nil, asAdmin()...).json(t)
	if u["password_scheme"] != "bcrypt" || u["email_verified"] != true {
		t.Fatalf("imported user %v", u)
	}
	e.do("POST", "/v1/login", map[string]any{"email": "ann@example.com", "password": "wrong " + importPassword}).wantError(t, http.StatusUnauthorized, "invalid_credentials")
	e.do("POST", "/v1/login", map[string]any{"email": "ann@example.com", "password": importPassword}).wantStatus(t, http.StatusOK)
	if u := e.do("GET", "/v1/admin/users/"+id, nil, asAdmin()...).json(t); u["password_scheme"] != "argon2id" {
		t.Fatalf("after sign-in %v", u)
	}
	ev := e.do("GET", "/v1/admin/events?type=user.password_rehashed", nil, asAdmin()...).json(t)
	if list, _ := ev["events"].([]any); len(list) != 1 || list[0].(map[string]any)["reason"] != "bcrypt" {
		t.Fatalf("rehash events %v", ev)
	}
	ev = e.do("GET", "/v1/admin/events?type=admin.users.imported", nil, asAdmin()...).json(t)
	if list, _ := ev["events"].([]any); len(list) != 1 {
		t.Fatalf("import events %v", ev)
	}
	// Again: the same user exists; a user without a password shows scheme none.
	r = e.importUsers("?format=auth0&issuer=https://dev.auth0.example/", body+`{"_id":{"$oid":"x"},"email":"nopw@example.com"}`)
	if lines := ndjson(t, r.body); lines[0]["status"] != "exists" || lines[0]["id"] != id || lines[2]["status"] != "created" {
		t.Fatalf("second import %s", r.body)
	} else if u := e.do("GET", "/v1/admin/users/"+lines[2]["id"].(string), nil, asAdmin()...).json(t); u["password_scheme"] != "none" {
		t.Fatalf("user without a password %v", u)
	}
}

func TestImportRequestErrors(t *testing.T) {
	e := newEnv(t)
	line := `{"email":"a@example.com"}` + "\n"
	for _, tt := range []struct {
		name, query string
		hdr         []string
		status      int
		code        string
	}{
		{"json content type", "", []string{"Content-Type", "application/json"}, 415, "unsupported_media_type"},
		{"unknown format", "?format=okta", nil, 400, "invalid_request"},
		{"firebase over HTTP", "?format=firebase", nil, 400, "invalid_request"},
		{"bad mode", "?mode=merge", nil, 400, "invalid_request"},
		{"bad dry_run", "?dry_run=yes", nil, 400, "invalid_request"},
		{"auth0 without issuer", "?format=auth0", nil, 400, "invalid_request"},
		{"no management key", "", []string{"Authorization", "Bearer nope"}, 401, "unauthorized"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e.importUsers(tt.query, line, tt.hdr...).wantError(t, tt.status, tt.code)
		})
	}
	if list, _ := e.db.ListUsers(t.Context(), usersFilter()); len(list) != 0 {
		t.Fatalf("a refused request imported %d users", len(list))
	}
}

// TestImportStreams sends a body over a pipe and reads the first results before the body
// ends: the answer streams as the import goes (full duplex), and the body is not held to the
// 64 KiB limit of other routes.
func TestImportStreams(t *testing.T) {
	e := newEnv(t)
	pr, pw := io.Pipe()
	req, err := http.NewRequest("POST", e.srv.URL+"/v1/admin/users/import?dry_run=false", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Authorization", "Bearer "+adminKey)
	write := func(from, to int) {
		for i := from; i < to; i++ {
			fmt.Fprintf(pw, `{"email":"user%d@example.com","password_hash":%q,"metadata":{"n":%d}}`+"\n", i, importBcrypt, i)
		}
	}
	const batch = userimport.DefaultBatchSize
	go write(0, batch) // one full batch: its results are flushed at once
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for i := range batch {
		if !sc.Scan() {
			t.Fatalf("answer ended after %d lines: %v", i, sc.Err())
		}
	}
	go func() { write(batch, batch+500); pw.Close() }()
	n := batch
	var last string
	for sc.Scan() {
		n++
		last = sc.Text()
	}
	if n != batch+501 || !strings.Contains(last, fmt.Sprintf(`"created":%d`, batch+500)) {
		t.Fatalf("%d lines, last %q", n, last)
	}
}

func usersFilter() users.ListFilter { return users.ListFilter{Limit: 10} }

// TestImportAuth0DefaultsToTheOnlyLegacyIssuer: an Auth0 import without ?issuer= links the
// identities to the only registered legacy issuer; with none it must be given.
func TestImportAuth0DefaultsToTheOnlyLegacyIssuer(t *testing.T) {
	e := newEnv(t)
	line := `{"_id":{"$oid":"60425da93519d90068f82970"},"email_verified":true,"email":"lee@example.com","passwordHash":"` + importBcrypt + `"}` + "\n"
	e.importUsers("?format=auth0", line).wantError(t, http.StatusBadRequest, "invalid_request")
	const iss = "https://only.auth0.example/"
	e.do("POST", "/v1/admin/legacy-issuers", map[string]any{"issuer": iss, "audiences": []string{"https://api.example.com"}}, asAdmin()...).wantStatus(t, http.StatusCreated)
	r := e.importUsers("?format=auth0", line)
	r.wantStatus(t, http.StatusOK)
	lines := ndjson(t, r.body)
	if lines[0]["status"] != "created" {
		t.Fatalf("import %s", r.body)
	}
	u, err := e.db.UserByIdentity(context.Background(), iss, "auth0|60425da93519d90068f82970")
	if err != nil || u.ID != lines[0]["id"] {
		t.Fatalf("identity not linked to the only legacy issuer: %v %v", u, err)
	}
}
