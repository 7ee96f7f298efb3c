package main

import (
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestHandoffConfig(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "GATEHOUSE_HANDOFF_TARGETS" {
				return v
			}
			return ""
		}
	}
	cfg, _, err := loadConfig("serve", nil, env("https://auth.a.example/v1/handoff/complete,https://auth.b.example/v1/handoff/complete"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.HandoffTargets, []string{"https://auth.a.example/v1/handoff/complete", "https://auth.b.example/v1/handoff/complete"}) {
		t.Fatalf("handoff_targets %v", cfg.HandoffTargets)
	}
	// Every bad target is reported, at once.
	_, _, err = loadConfig("serve", nil, env("http://auth.a.example/v1/handoff/complete,https://auth.b.example/v1/handoff/complete?x=1"))
	if err == nil || strings.Count(err.Error(), "handoff_targets") != 2 {
		t.Fatalf("loadConfig: %v, want two handoff_targets problems", err)
	}
}

// TestHandoffEndToEnd: the real server, configured from the environment, hands a session from
// one host to another: the form post of the other host's page is accepted cross-site, once.
func TestHandoffEndToEnd(t *testing.T) {
	const targetB = "http://b.localhost/v1/handoff/complete"
	s := startServer(t, filepath.Join(t.TempDir(), "data"), map[string]string{
		"GATEHOUSE_HANDOFF_TARGETS": "http://a.localhost/v1/handoff/complete," + targetB})
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, m := postJSON(t, c, s.url+"/v1/signup", map[string]string{"email": "e2e-handoff@example.com", "password": "correct horse battery staple", "delivery": "token"})
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("signup: %d %v", res.StatusCode, m)
	}
	res, m = postJSON(t, c, s.url+"/v1/handoff", map[string]string{"target": targetB}, "Authorization", "Bearer "+m["access_token"].(string))
	if res.StatusCode != http.StatusOK || m["expires_in"] != float64(10) {
		t.Fatalf("handoff: %d %v", res.StatusCode, m)
	}
	complete := func() *http.Response {
		req, _ := http.NewRequest("POST", s.url+"/v1/handoff/complete", strings.NewReader(url.Values{"code": {m["code"].(string)}, "return_to": {"/app"}}.Encode()))
		req.Host = "b.localhost"
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		req.Header.Set("Origin", "http://a.localhost")
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	if res := complete(); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/app" || len(res.Cookies()) == 0 ||
		res.Cookies()[0].Name != "__Host-gh_session" {
		t.Fatalf("complete: %d %v %v", res.StatusCode, res.Header, res.Cookies())
	}
	if res := complete(); res.StatusCode != http.StatusBadRequest {
		t.Fatalf("second use: %d", res.StatusCode)
	}
}
