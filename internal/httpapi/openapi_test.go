package httpapi_test

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

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
	e := newEnv(t) // AccessKeys is set: every optional route is registered
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
