package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/gatehouse-auth/gatehouse/api"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi"
)

// loadOpenAPI parses api/openapi.yaml as plain YAML values.
func loadOpenAPI(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal(api.OpenAPI, &doc); err != nil {
		t.Fatalf("api/openapi.yaml: %v", err)
	}
	if doc["openapi"] != "3.1.0" {
		t.Fatalf("openapi = %v, want 3.1.0", doc["openapi"])
	}
	return doc
}

// get walks doc along keys; it fails the test if a key is missing.
func get(t *testing.T, doc any, keys ...string) any {
	t.Helper()
	v := doc
	for i, k := range keys {
		m, ok := v.(map[string]any)
		if !ok || m[k] == nil {
			t.Fatalf("api/openapi.yaml has no %s", strings.Join(keys[:i+1], "."))
		}
		v = m[k]
	}
	return v
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// describedOperations lists "METHOD /path" for every operation of the document.
func describedOperations(t *testing.T, doc map[string]any) []string {
	t.Helper()
	var ops []string
	for path, item := range get(t, doc, "paths").(map[string]any) {
		for key := range item.(map[string]any) {
			if slices.Contains(httpMethods, key) {
				ops = append(ops, strings.ToUpper(key)+" "+path)
			}
		}
	}
	slices.Sort(ops)
	return ops
}

// missing returns the members of want that have is lacks.
func missing(want, have []string) []string {
	var out []string
	for _, w := range want {
		if !slices.Contains(have, w) {
			out = append(out, w)
		}
	}
	return out
}

// TestOpenAPIMatchesRoutes: every route the server registers is described in
// api/openapi.yaml, and every described operation is a registered route.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	e := newEnv(t, withPages) // AccessKeys is set: every optional route is registered
	srv := e.srv.Config.Handler.(*httpapi.Server)
	var routes []string
	for _, p := range srv.Patterns() {
		if p == "/" { // the catch-all answering 404 and 405
			continue
		}
		method, path, ok := strings.Cut(p, " ")
		if !ok || strings.ContainsAny(method, "/{") || !strings.HasPrefix(path, "/") {
			t.Errorf("route %q has no method or has a host: the test (and the document) expect \"METHOD /path\"", p)
			continue
		}
		routes = append(routes, p)
	}
	slices.Sort(routes)
	// A route registered on the mux without going through the recording would escape the
	// comparison: every pattern literal in the sources must have been recorded.
	for _, p := range sourcePatterns(t) {
		if !slices.Contains(srv.Patterns(), p) {
			t.Errorf("pattern %q is registered in the sources but not recorded in Server.patterns", p)
		}
	}
	if len(routes) < 30 {
		t.Fatalf("only %d routes registered: %v", len(routes), routes)
	}
	ops := describedOperations(t, loadOpenAPI(t))
	if m := missing(routes, ops); len(m) > 0 {
		t.Errorf("routes not described in api/openapi.yaml:\n  %s", strings.Join(m, "\n  "))
	}
	if m := missing(ops, routes); len(m) > 0 {
		t.Errorf("api/openapi.yaml describes operations the server does not register:\n  %s", strings.Join(m, "\n  "))
	}
	t.Logf("%d routes, %d described operations", len(routes), len(ops))
}

// sourceFiles returns the package's non-test Go sources by name.
func sourceFiles(t *testing.T) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[f] = src
	}
	return out
}

// sourcePatterns returns the pattern literals passed to s.handle, mux.Handle or
// mux.HandleFunc in the package's sources.
func sourcePatterns(t *testing.T) []string {
	t.Helper()
	re := regexp.MustCompile(`\.(?:handle|Handle|HandleFunc)\("([^"]+)"`)
	var out []string
	for _, src := range sourceFiles(t) {
		for _, m := range re.FindAllSubmatch(src, -1) {
			out = append(out, string(m[1]))
		}
	}
	if len(out) < 30 {
		t.Fatalf("found only %d route patterns in the sources: the pattern no longer matches the code", len(out))
	}
	return out
}

// serverErrorCodes collects every error code the package's Go sources can answer: the
// code… constants, Code: "…" fields and codes written literally in errorf calls.
func serverErrorCodes(t *testing.T) []string {
	t.Helper()
	res := []*regexp.Regexp{
		regexp.MustCompile(`(?m)^\s*code[A-Z]\w*\s*=\s*"([a-z_]+)"`),
		regexp.MustCompile(`Code:\s*"([a-z_]+)"`),
		regexp.MustCompile(`errorf\([^,()]+,\s*"([a-z_]+)"`),
	}
	var codes []string
	for _, src := range sourceFiles(t) {
		for _, re := range res {
			for _, m := range re.FindAllSubmatch(src, -1) {
				codes = append(codes, string(m[1]))
			}
		}
	}
	slices.Sort(codes)
	return slices.Compact(codes)
}

// TestOpenAPIErrorCodes: the Error schema's enum is exactly the set of codes the server can
// answer; every code an operation documents is in it; docs/errors.md explains each one.
func TestOpenAPIErrorCodes(t *testing.T) {
	doc := loadOpenAPI(t)
	var enum []string
	for _, c := range get(t, doc, "components", "schemas", "Error", "properties", "error", "enum").([]any) {
		enum = append(enum, c.(string))
	}
	server := serverErrorCodes(t)
	if len(server) < 20 {
		t.Fatalf("found only %d codes in the sources (%v): the patterns no longer match the code", len(server), server)
	}
	if m := missing(server, enum); len(m) > 0 {
		t.Errorf("codes the server answers that the Error schema's enum lacks: %v", m)
	}
	if m := missing(enum, server); len(m) > 0 {
		t.Errorf("codes in the Error schema's enum that no server code answers: %v", m)
	}

	// Codes narrowed per response (allOf [Error, {properties: {error: {const|enum}}}]).
	var documented []string
	walk(doc, func(m map[string]any) {
		props, _ := m["properties"].(map[string]any)
		e, _ := props["error"].(map[string]any)
		if c, ok := e["const"].(string); ok {
			documented = append(documented, c)
		}
		for _, c := range asList(e["enum"]) {
			documented = append(documented, c.(string))
		}
	})
	if len(documented) <= len(enum) {
		t.Fatalf("found only %d documented codes: the responses no longer narrow the code", len(documented))
	}
	if m := missing(documented, enum); len(m) > 0 {
		t.Errorf("responses document codes the Error schema's enum lacks: %v", m)
	}

	md, err := os.ReadFile(filepath.Join("..", "..", "docs", "errors.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range enum {
		if !bytes.Contains(md, []byte("| `"+c+"`")) {
			t.Errorf("docs/errors.md has no table row for %q", c)
		}
	}
}

func asList(v any) []any { l, _ := v.([]any); return l }

// walk calls f on every mapping in v, depth first.
func walk(v any, f func(map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		f(v)
		for _, c := range v {
			walk(c, f)
		}
	case []any:
		for _, c := range v {
			walk(c, f)
		}
	}
}

// TestOpenAPIStructure checks what a validator would catch most often in a hand-written
// document: dangling $refs, duplicate operationIds, undeclared path parameters, operations
// without responses.
func TestOpenAPIStructure(t *testing.T) {
	doc := loadOpenAPI(t)
	walk(doc, func(m map[string]any) {
		ref, ok := m["$ref"].(string)
		if !ok {
			return
		}
		if !strings.HasPrefix(ref, "#/") {
			t.Errorf("$ref %q is not local", ref)
			return
		}
		var v any = doc
		for _, k := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			mm, _ := v.(map[string]any)
			if v = mm[k]; v == nil {
				t.Errorf("$ref %q resolves to nothing", ref)
				return
			}
		}
	})

	// Every schema uses only JSON Schema / OpenAPI keywords: a typo, or a YAML flow mapping
	// split by a comma in an unquoted description, shows up as an unknown keyword.
	for name, sc := range get(t, doc, "components", "schemas").(map[string]any) {
		checkSchema(t, "components.schemas."+name, sc)
	}
	walk(doc, func(m map[string]any) {
		if sc, ok := m["schema"]; ok {
			checkSchema(t, "a schema", sc)
		}
	})

	params := regexp.MustCompile(`\{([^}]+)\}`)
	ids := map[string]string{}
	for path, item := range get(t, doc, "paths").(map[string]any) {
		item := item.(map[string]any)
		for _, method := range httpMethods {
			op, ok := item[method].(map[string]any)
			if !ok {
				continue
			}
			name := strings.ToUpper(method) + " " + path
			id, _ := op["operationId"].(string)
			if id == "" {
				t.Errorf("%s has no operationId", name)
			} else if other, dup := ids[id]; dup {
				t.Errorf("operationId %q is used by %s and %s", id, other, name)
			}
			ids[id] = name
			if r, _ := op["responses"].(map[string]any); len(r) == 0 {
				t.Errorf("%s has no responses", name)
			}
			declared := map[string]bool{}
			for _, p := range append(asList(item["parameters"]), asList(op["parameters"])...) {
				p := p.(map[string]any)
				if ref, ok := p["$ref"].(string); ok {
					p = get(t, doc, strings.Split(strings.TrimPrefix(ref, "#/"), "/")...).(map[string]any)
				}
				if p["in"] == "path" {
					declared[p["name"].(string)] = true
				}
			}
			for _, m := range params.FindAllStringSubmatch(path, -1) {
				if !declared[m[1]] {
					t.Errorf("%s does not declare its path parameter %q", name, m[1])
				}
				delete(declared, m[1])
			}
			for p := range declared {
				t.Errorf("%s declares a path parameter %q its path lacks", name, p)
			}
		}
	}
}

// schemaKeywords are the JSON Schema 2020-12 and OpenAPI 3.1 keywords the document may use.
var schemaKeywords = strings.Fields(`$ref type enum const default description title format pattern
	minimum maximum minLength maxLength minItems maxItems properties required items
	additionalProperties unevaluatedProperties allOf oneOf anyOf not examples example deprecated
	readOnly writeOnly`)

// checkSchema reports keys of the schema v (and its subschemas) that are not schema keywords.
func checkSchema(t *testing.T, where string, v any) {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		if _, isBool := v.(bool); !isBool {
			t.Errorf("%s: a schema must be a mapping or a boolean, not %T", where, v)
		}
		return
	}
	for k, sub := range m {
		switch {
		case !slices.Contains(schemaKeywords, k):
			t.Errorf("%s: %q is not a schema keyword", where, k)
		case k == "properties":
			for name, p := range sub.(map[string]any) {
				checkSchema(t, where+"."+name, p)
			}
		case k == "items" || k == "additionalProperties" || k == "unevaluatedProperties" || k == "not":
			checkSchema(t, where+"."+k, sub)
		case k == "allOf" || k == "oneOf" || k == "anyOf":
			for _, s := range asList(sub) {
				checkSchema(t, where+"."+k, s)
			}
		}
	}
}

func TestOpenAPIServed(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/openapi.yaml", nil)
	r.wantStatus(t, http.StatusOK)
	if !bytes.Equal(r.body, api.OpenAPI) {
		t.Fatal("GET /openapi.yaml does not answer api/openapi.yaml")
	}
	for h, want := range map[string]string{"Content-Type": "application/yaml", "Cache-Control": "public, max-age=3600"} {
		if got := r.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	etag := r.Header.Get("ETag")
	if !strings.HasPrefix(etag, `"`) || len(etag) < 10 {
		t.Fatalf("ETag = %q", etag)
	}
	again := e.do("GET", "/openapi.yaml", nil, "If-None-Match", etag)
	again.wantStatus(t, http.StatusNotModified)
	if len(again.body) != 0 {
		t.Errorf("304 has a body of %d bytes", len(again.body))
	}
}

// schemaChecker checks JSON values against the document's schemas: the subset of JSON Schema
// the document uses, with objects that declare properties treated as closed, so that a field
// the server answers but the document lacks is caught as well as a missing required one.
type schemaChecker struct{ doc map[string]any }

func (c schemaChecker) resolve(v any) any {
	for {
		m, ok := v.(map[string]any)
		if !ok {
			return v
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return v
		}
		v = c.doc
		for _, k := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			v = v.(map[string]any)[k]
		}
	}
}

func jsonType(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		if v == float64(int64(v)) {
			return "integer"
		}
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}

// check returns what is wrong with v against schema sc, each problem prefixed by at.
func (c schemaChecker) check(at string, sc, v any) []string {
	sc = c.resolve(sc)
	s, ok := sc.(map[string]any)
	if !ok {
		return nil // true
	}
	var errs []string
	if t, ok := s["type"]; ok {
		types := asList(t)
		if name, ok := t.(string); ok {
			types = []any{name}
		}
		got := jsonType(v)
		if !slices.Contains(types, any(got)) && !(got == "integer" && slices.Contains(types, any("number"))) {
			return []string{at + ": is " + got + ", want " + toString(t)}
		}
	}
	if cv, ok := s["const"]; ok && cv != v {
		errs = append(errs, at+": is "+toString(v)+", want "+toString(cv))
	}
	if e, ok := s["enum"]; ok && !slices.Contains(asList(e), v) {
		errs = append(errs, at+": "+toString(v)+" is not one of "+toString(e))
	}
	if str, ok := v.(string); ok {
		if p, ok := s["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(str) {
			errs = append(errs, at+": "+str+" does not match "+p)
		}
		if s["format"] == "date-time" {
			if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
				errs = append(errs, at+": "+str+" is not an RFC 3339 time")
			}
		}
	}
	if obj, ok := v.(map[string]any); ok {
		props, _ := s["properties"].(map[string]any)
		for _, r := range asList(s["required"]) {
			if _, ok := obj[r.(string)]; !ok {
				errs = append(errs, at+": lacks required "+r.(string))
			}
		}
		for k, pv := range obj {
			if ps, ok := props[k]; ok {
				errs = append(errs, c.check(at+"."+k, ps, pv)...)
			} else if props != nil && s["type"] == "object" {
				errs = append(errs, at+": has "+k+", which the document does not describe")
			}
		}
	}
	if arr, ok := v.([]any); ok && s["items"] != nil {
		for i, iv := range arr {
			errs = append(errs, c.check(at+"["+strconv.Itoa(i)+"]", s["items"], iv)...)
		}
	}
	for _, sub := range asList(s["allOf"]) {
		errs = append(errs, c.check(at, sub, v)...)
	}
	if one := asList(s["oneOf"]); len(one) > 0 {
		matched := 0
		var why []string
		for _, sub := range one {
			if e := c.check(at, sub, v); len(e) == 0 {
				matched++
			} else {
				why = append(why, e...)
			}
		}
		if matched != 1 {
			errs = append(errs, at+": matches "+strconv.Itoa(matched)+" of oneOf, want 1: "+strings.Join(why, "; "))
		}
	}
	return errs
}

func toString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// answer checks that r, the answer to method on the route template, is documented: its status
// is one of the operation's responses and its JSON body matches that response's schema.
func (c schemaChecker) answer(t *testing.T, method, template string, r *resp) {
	t.Helper()
	op, _ := c.resolve(get(t, c.doc, "paths", template, strings.ToLower(method))).(map[string]any)
	name := method + " " + template + " " + strconv.Itoa(r.StatusCode)
	res := c.resolve(op["responses"].(map[string]any)[strconv.Itoa(r.StatusCode)])
	if res == nil {
		t.Errorf("%s: status not documented (body %s)", name, r.body)
		return
	}
	content, _ := res.(map[string]any)["content"].(map[string]any)
	if len(r.body) == 0 {
		if content != nil {
			t.Errorf("%s: empty body, but the document describes one", name)
		}
		return
	}
	media, _ := content["application/json"].(map[string]any)
	if media == nil {
		t.Errorf("%s: the document describes no JSON body", name)
		return
	}
	var v any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Errorf("%s: body is not JSON: %s", name, r.body)
		return
	}
	for _, p := range c.check("body", media["schema"], v) {
		t.Errorf("%s: %s", name, p)
	}
}

// TestOpenAPIDescribesAnswers drives every JSON route and checks the status and body of each
// answer against the document.
func TestOpenAPIDescribesAnswers(t *testing.T) {
	e := newEnv(t)
	c := schemaChecker{doc: loadOpenAPI(t)}
	check := func(method, template string, r *resp) { t.Helper(); c.answer(t, method, template, r) }
	cred := func(email, password string, more ...string) map[string]any {
		m := map[string]any{"email": email, "password": password}
		for i := 0; i+1 < len(more); i += 2 {
			m[more[i]] = more[i+1]
		}
		return m
	}

	check("GET", "/healthz", e.do("GET", "/healthz", nil))
	check("GET", "/readyz", e.do("GET", "/readyz", nil))
	check("GET", "/.well-known/openid-configuration", e.do("GET", "/.well-known/openid-configuration", nil))
	check("GET", "/.well-known/jwks.json", e.do("GET", "/.well-known/jwks.json", nil))

	r := e.do("POST", "/v1/signup", cred("ann@example.com", goodPassword))
	check("POST", "/v1/signup", r)
	cookie := withCookie(sessionCookie(t, r))
	check("POST", "/v1/signup", e.do("POST", "/v1/signup", cred("ann@example.com", goodPassword)))
	check("POST", "/v1/signup", e.do("POST", "/v1/signup", cred("bob@example.com", "short")))
	check("POST", "/v1/signup", e.do("POST", "/v1/signup", "text", "Content-Type", "text/plain"))
	check("POST", "/v1/signup", e.do("POST", "/v1/signup", `{"email":"`+strings.Repeat("a", 70<<10)+`"}`))
	check("POST", "/v1/login", e.do("POST", "/v1/login", cred("ann@example.com", goodPassword)))
	r = e.do("POST", "/v1/login", cred("ann@example.com", goodPassword, "delivery", "token"))
	check("POST", "/v1/login", r)
	ts := parseTokens(t, r)
	check("POST", "/v1/login", e.do("POST", "/v1/login", map[string]any{"email": "ann@example.com", "password": goodPassword, "delivery": "token", "refresh_cookie": true}))
	check("POST", "/v1/login", e.do("POST", "/v1/login", cred("ann@example.com", "wrong password")))
	check("POST", "/v1/login", e.do("POST", "/v1/login", cred("ann@example.com", goodPassword, "delivery", "carrier pigeon")))

	check("GET", "/v1/session", e.do("GET", "/v1/session", nil, cookie...))
	check("GET", "/v1/session", e.do("GET", "/v1/session", nil, withBearer(ts.Access)...))
	check("GET", "/v1/session", e.do("GET", "/v1/session", nil))
	check("GET", "/v1/sessions", e.do("GET", "/v1/sessions", nil, cookie...))
	check("DELETE", "/v1/sessions/{id}", e.do("DELETE", "/v1/sessions/aaaaaaaaaaaaaaaaaaaaaaaaaa", nil, cookie...))

	r = e.refresh(ts.Refresh)
	check("POST", "/oauth/token", r)
	ts2 := parseTokens(t, r)
	check("POST", "/oauth/token", e.refresh("ghr_garbage"))
	check("POST", "/oauth/token", e.form("/oauth/token", url.Values{"grant_type": {"password"}, "client_id": {"gatehouse"}}))
	check("POST", "/oauth/token", e.form("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {"evil"}}))
	for _, tok := range []string{ts2.Access, ts2.Refresh, "nonsense"} {
		check("POST", "/oauth/introspect", e.form("/oauth/introspect", url.Values{"token": {tok}}, asAdmin()...))
	}
	check("POST", "/oauth/introspect", e.form("/oauth/introspect", url.Values{"token": {ts2.Access}}))
	check("GET", "/oauth/userinfo", e.do("GET", "/oauth/userinfo", nil, withBearer(ts2.Access)...))
	check("GET", "/oauth/userinfo", e.do("GET", "/oauth/userinfo", nil))
	check("POST", "/oauth/revoke", e.form("/oauth/revoke", url.Values{"token": {ts2.Access}, "client_id": {"gatehouse"}}))
	check("POST", "/oauth/revoke", e.form("/oauth/revoke", url.Values{"client_id": {"gatehouse"}}))
	check("POST", "/v1/logout", e.do("POST", "/v1/logout", map[string]string{"scope": "others"}, cookie...))
	check("POST", "/v1/logout", e.do("POST", "/v1/logout", map[string]string{"scope": "everything"}, cookie...))
	check("POST", "/v1/logout", e.do("POST", "/v1/logout", map[string]string{"scope": "global"}))
	check("POST", "/v1/logout", e.do("POST", "/v1/logout", nil, cookie...))

	check("GET", "/v1/revocations", e.do("GET", "/v1/revocations", nil, asAdmin()...))
	check("GET", "/v1/revocations", e.do("GET", "/v1/revocations?after=x", nil, asAdmin()...))
	check("GET", "/v1/revocations", e.do("GET", "/v1/revocations", nil))

	r = e.do("POST", "/v1/admin/users", map[string]any{"email": "cy@example.com", "password": goodPassword, "email_verified": true}, asAdmin()...)
	check("POST", "/v1/admin/users", r)
	uid := r.json(t)["id"].(string)
	check("POST", "/v1/admin/users", e.do("POST", "/v1/admin/users", map[string]any{"email": "cy@example.com"}, asAdmin()...))
	check("POST", "/v1/admin/users", e.do("POST", "/v1/admin/users", map[string]any{"email": "dee@example.com"}))
	check("GET", "/v1/admin/users", e.do("GET", "/v1/admin/users?limit=1", nil, asAdmin()...))
	check("GET", "/v1/admin/users", e.do("GET", "/v1/admin/users?email=nope", nil, asAdmin()...))
	check("GET", "/v1/admin/users/{id}", e.do("GET", "/v1/admin/users/"+uid, nil, asAdmin()...))
	check("GET", "/v1/admin/users/{id}", e.do("GET", "/v1/admin/users/nobody", nil, asAdmin()...))
	check("PATCH", "/v1/admin/users/{id}", e.do("PATCH", "/v1/admin/users/"+uid, map[string]any{"email_verified": false}, asAdmin()...))
	check("PATCH", "/v1/admin/users/{id}", e.do("PATCH", "/v1/admin/users/"+uid, map[string]any{"email": "ann@example.com"}, asAdmin()...))
	check("POST", "/v1/admin/users/{id}/disable", e.do("POST", "/v1/admin/users/"+uid+"/disable", nil, asAdmin()...))
	check("POST", "/v1/admin/users/{id}/enable", e.do("POST", "/v1/admin/users/"+uid+"/enable", nil, asAdmin()...))
	check("POST", "/v1/admin/users/{id}/logout", e.do("POST", "/v1/admin/users/"+uid+"/logout", nil, asAdmin()...))
	check("GET", "/v1/admin/users/{id}/sessions", e.do("GET", "/v1/admin/users/"+uid+"/sessions", nil, asAdmin()...))
	check("GET", "/v1/admin/events", e.do("GET", "/v1/admin/events?limit=2", nil, asAdmin()...))
	check("GET", "/v1/admin/events", e.do("GET", "/v1/admin/events?after=-1", nil, asAdmin()...))
	check("GET", "/v1/admin/keys", e.do("GET", "/v1/admin/keys", nil, asAdmin()...))
	check("POST", "/v1/admin/keys/rotate", e.do("POST", "/v1/admin/keys/rotate", nil, asAdmin()...))

	r = e.do("POST", "/v1/admin/access-keys", map[string]any{"name": "ci", "scopes": []string{"gatehouse:introspect"}, "user_id": uid, "expires_at": "2030-01-01T00:00:00Z"}, asAdmin()...)
	check("POST", "/v1/admin/access-keys", r)
	kid := r.json(t)["id"].(string)
	check("POST", "/v1/admin/access-keys", e.do("POST", "/v1/admin/access-keys", map[string]any{"name": ""}, asAdmin()...))
	check("GET", "/v1/admin/access-keys", e.do("GET", "/v1/admin/access-keys", nil, asAdmin()...))
	check("GET", "/v1/admin/access-keys/{id}", e.do("GET", "/v1/admin/access-keys/"+kid, nil, asAdmin()...))
	check("GET", "/v1/admin/access-keys/{id}", e.do("GET", "/v1/admin/access-keys/nope", nil, asAdmin()...))
	check("PATCH", "/v1/admin/access-keys/{id}", e.do("PATCH", "/v1/admin/access-keys/"+kid, map[string]any{"expires_at": nil}, asAdmin()...))
	check("POST", "/v1/admin/access-keys/import", e.do("POST", "/v1/admin/access-keys/import", map[string]any{"keys": []map[string]any{
		{"key": "legacy-key-0123456789abcdef", "name": "old"}, {"key_sha256": "zz", "name": "bad"}}}, asAdmin()...))
	check("POST", "/v1/admin/access-keys/import", e.do("POST", "/v1/admin/access-keys/import", map[string]any{"keys": []any{}}, asAdmin()...))
	check("DELETE", "/v1/admin/access-keys/{id}", e.do("DELETE", "/v1/admin/access-keys/"+kid, nil, asAdmin()...))
	check("DELETE", "/v1/admin/users/{id}", e.do("DELETE", "/v1/admin/users/"+uid, nil, asAdmin()...))
	check("DELETE", "/v1/admin/users/{id}", e.do("DELETE", "/v1/admin/users/"+uid, nil, asAdmin()...))
}
