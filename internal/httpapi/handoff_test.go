package httpapi_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
)

const (
	hostA   = "auth.a.example"
	hostB   = "auth.b.example"
	targetA = "https://" + hostA + "/v1/handoff/complete"
	targetB = "https://" + hostB + "/v1/handoff/complete"
)

func handoffEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	if err := e.accounts.WithHandoff([]string{targetA, targetB}, e.db); err != nil {
		t.Fatal(err)
	}
	return e
}

// startHandoff asks for a code for target with the session cookie ck.
func (e *env) startHandoff(ck *http.Cookie, target string) string {
	e.t.Helper()
	r := e.do("POST", "/v1/handoff", map[string]string{"target": target}, withCookie(ck)...)
	r.wantStatus(e.t, http.StatusOK)
	m := r.json(e.t)
	if m["expires_in"] != float64(10) || m["target"] != target || m["code"] == "" {
		e.t.Fatalf("handoff answer %v", m)
	}
	return m["code"].(string)
}

// completeAt posts to /v1/handoff/complete as if the request arrived at host: JSON when
// form is nil, else the form, without following redirects.
func (e *env) completeAt(host string, json any, form url.Values, hdr ...string) *resp {
	e.t.Helper()
	var (
		req *http.Request
		err error
	)
	if form != nil {
		req, err = http.NewRequest("POST", e.srv.URL+"/v1/handoff/complete", strings.NewReader(form.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	} else {
		req, err = http.NewRequest("POST", e.srv.URL+"/v1/handoff/complete", bytes.NewReader(mustJSON(json)))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
	}
	if err != nil {
		e.t.Fatal(err)
	}
	req.Host = host
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	c := *e.srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return &resp{Response: res, body: b}
}

func TestHandoffJSON(t *testing.T) {
	e := handoffEnv(t)
	ck := e.signup("handoff@example.com")
	e.clock.Add(120e9) // auth_time is kept: the new session's must be the original one
	code := e.startHandoff(ck, targetB)

	r := e.completeAt(hostB, map[string]string{"code": code, "delivery": "token"}, nil)
	r.wantStatus(t, http.StatusOK)
	m := r.json(t)
	if m["access_token"] == nil || m["refresh_token"] == nil || m["session_id"] == nil {
		t.Fatalf("token delivery answer %v", m)
	}
	orig := e.do("GET", "/v1/session", nil, withCookie(ck)...).json(t)["session"].(map[string]any)
	got := e.do("GET", "/v1/session", nil, withBearer(m["access_token"].(string))...).json(t)["session"].(map[string]any)
	if got["id"] == orig["id"] || got["auth_time"] != orig["auth_time"] || string(mustJSON(got["amr"])) != string(mustJSON(orig["amr"])) {
		t.Fatalf("handed-off session %v, original %v", got, orig)
	}

	// Used: refused. At another host: refused. Unknown target: refused at the start.
	e.completeAt(hostB, map[string]string{"code": code}, nil).wantError(t, http.StatusBadRequest, "invalid_grant")
	e.completeAt(hostA, map[string]string{"code": e.startHandoff(ck, targetB)}, nil).wantError(t, http.StatusBadRequest, "invalid_grant")
	e.completeAt("auth.c.example", map[string]string{"code": e.startHandoff(ck, targetB)}, nil).wantError(t, http.StatusBadRequest, "invalid_grant")
	late := e.startHandoff(ck, targetB)
	e.clock.Add(10e9)
	e.completeAt(hostB, map[string]string{"code": late}, nil).wantError(t, http.StatusBadRequest, "invalid_grant")
	e.do("POST", "/v1/handoff", map[string]string{"target": "https://evil.example/v1/handoff/complete"}, withCookie(ck)...).
		wantError(t, http.StatusBadRequest, "invalid_target")
	e.do("POST", "/v1/handoff", map[string]string{"target": targetB}).wantError(t, http.StatusUnauthorized, "unauthorized")

	// Cookie delivery sets this host's session cookie.
	r = e.completeAt(hostB, map[string]string{"code": e.startHandoff(ck, targetB)}, nil)
	r.wantStatus(t, http.StatusOK)
	if c := sessionCookie(t, r); c.Value == ck.Value {
		t.Fatal("the handoff reused the original session token")
	}

	evs, err := e.db.ListEvents(context.Background(), audit.Filter{Type: audit.HandoffRefused, Limit: 100})
	if err != nil || len(evs) != 4 {
		t.Fatalf("handoff.refused events: %d %v, want 4", len(evs), err)
	}
	if evs, _ := e.db.ListEvents(context.Background(), audit.Filter{Type: audit.HandoffCompleted, Limit: 100}); len(evs) != 2 {
		t.Fatalf("handoff.completed events: %d, want 2", len(evs))
	}
}

// TestHandoffFormCrossSite: the hosted page's form post comes from the other host, so the
// browser marks it cross-site; exactly this route accepts that, every other POST still
// refuses it.
func TestHandoffFormCrossSite(t *testing.T) {
	e := handoffEnv(t)
	ck := e.signup("form@example.com")
	crossSite := []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://" + hostA}

	r := e.completeAt(hostB, nil, url.Values{"code": {e.startHandoff(ck, targetB)}, "return_to": {"/app/inbox?x=1"}}, crossSite...)
	r.wantStatus(t, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "/app/inbox?x=1" {
		t.Fatalf("Location %q", loc)
	}
	if c := sessionCookie(t, r); c.Value == "" || c.Value == ck.Value {
		t.Fatalf("form handoff cookie %v", c)
	}

	for _, rt := range []string{"", "//evil.example/", "https://evil.example/", "/\\evil.example", "app"} {
		r := e.completeAt(hostB, nil, url.Values{"code": {e.startHandoff(ck, targetB)}, "return_to": {rt}}, crossSite...)
		r.wantStatus(t, http.StatusSeeOther)
		if loc := r.Header.Get("Location"); loc != "/ui/account" {
			t.Fatalf("return_to %q: Location %q, want /ui/account", rt, loc)
		}
	}

	// A used code: an HTML page, escaped, no cookie.
	code := e.startHandoff(ck, targetB)
	e.completeAt(hostB, nil, url.Values{"code": {code}}, crossSite...).wantStatus(t, http.StatusSeeOther)
	r = e.completeAt(hostB, nil, url.Values{"code": {code}, "return_to": {"/<script>"}}, crossSite...)
	r.wantStatus(t, http.StatusBadRequest)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") || !strings.Contains(string(r.body), "expired") ||
		strings.Contains(string(r.body), "<script>") || len(r.Cookies()) != 0 {
		t.Fatalf("failure page: %s %q %v", ct, r.body, r.Cookies())
	}
	// The code never comes from the query string.
	req, _ := http.NewRequest("POST", e.srv.URL+"/v1/handoff/complete?code="+url.QueryEscape(e.startHandoff(ck, targetB)), strings.NewReader(""))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Host = hostB
	if r := e.send(req); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("code in the query string: %d", r.StatusCode)
	}

	// Every other POST keeps its cross-origin protection, /v1/handoff included.
	e.do("POST", "/v1/handoff", map[string]string{"target": targetB}, append(withCookie(ck), crossSite...)...).
		wantError(t, http.StatusForbidden, "cross_origin_request")
	e.do("POST", "/v1/logout", map[string]string{}, append(withCookie(ck), crossSite...)...).
		wantError(t, http.StatusForbidden, "cross_origin_request")
}
