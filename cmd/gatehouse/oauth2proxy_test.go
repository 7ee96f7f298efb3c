package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestOAuth2Proxy puts the stock oauth2-proxy (github.com/oauth2-proxy/oauth2-proxy/v7) in
// front of an upstream with Gatehouse as its OpenID Provider: a browser (an HTTP client with a
// cookie jar) signs in through the hosted /ui/login form, reaches the upstream, signs out at
// the proxy and is refused afterwards. It needs the oauth2-proxy binary: CI builds it with
// `go install` (.ci/run) and sets GATEHOUSE_TEST_OAUTH2PROXY=1; OAUTH2_PROXY_BIN names it
// (default: oauth2-proxy on PATH).
func TestOAuth2Proxy(t *testing.T) {
	if os.Getenv("GATEHOUSE_TEST_OAUTH2PROXY") != "1" {
		t.Skip("set GATEHOUSE_TEST_OAUTH2PROXY=1 (and OAUTH2_PROXY_BIN) to run oauth2-proxy against Gatehouse")
	}
	bin := os.Getenv("OAUTH2_PROXY_BIN")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("oauth2-proxy"); err != nil {
			t.Fatal("GATEHOUSE_TEST_OAUTH2PROXY=1 but no oauth2-proxy binary (set OAUTH2_PROXY_BIN)")
		}
	}
	addr := freeAddr(t)
	issuer := "http://" + addr
	dir := filepath.Join(t.TempDir(), "data")
	s := startServer(t, dir, nil, "--issuer", issuer, "--addr", addr, "--insecure-dev")
	kb, err := os.ReadFile(filepath.Join(dir, "management-key"))
	if err != nil {
		t.Fatal(err)
	}
	admin := regexp.MustCompile(`gh_mk_[A-Za-z0-9_-]{43}`).FindString(string(kb))
	res, body := postJSON(t, http.DefaultClient, s.url+"/v1/signup", map[string]string{"email": "proxy@example.com", "password": "correct horse battery staple"})
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("signup: %d %v", res.StatusCode, body)
	}

	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "upstream hello %s", r.Header.Get("X-Forwarded-Email"))
	}))
	defer upstream.Close()

	proxyAddr := freeAddr(t)
	proxy := "http://" + proxyAddr
	res, c := postJSON(t, http.DefaultClient, s.url+"/v1/admin/clients", map[string]any{"name": "oauth2-proxy", "type": "confidential",
		"redirect_uris": []string{proxy + "/oauth2/callback"}, "first_party": true, "allowed_scopes": []string{"openid", "email", "profile"}},
		"Authorization", "Bearer "+admin)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("client: %d %v", res.StatusCode, c)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs lockedBuffer
	cmd := exec.CommandContext(ctx, bin,
		"--provider=oidc", "--oidc-issuer-url="+issuer, "--client-id="+c["client_id"].(string), "--client-secret="+c["client_secret"].(string),
		"--redirect-url="+proxy+"/oauth2/callback", "--http-address="+proxyAddr, "--upstream="+upstream.URL,
		"--email-domain=*", "--cookie-secret=0123456789abcdef0123456789abcdef", "--cookie-secure=false",
		"--insecure-oidc-allow-unverified-email=true", "--skip-provider-button=true", "--code-challenge-method=S256",
		"--scope=openid email profile", "--pass-user-headers=true")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); cmd.Wait() }()
	for i := 0; ; i++ {
		if r, err := http.Get(proxy + "/ping"); err == nil {
			r.Body.Close()
			break
		}
		if i > 100 {
			t.Fatalf("oauth2-proxy did not start:\n%s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	get := func(u string) (*http.Response, string) {
		t.Helper()
		r, err := browser.Get(u)
		if err != nil {
			t.Fatalf("GET %s: %v\n%s", u, err, logs.String())
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		return r, string(b)
	}
	// Not signed in: the proxy sends the browser to Gatehouse, which shows its sign-in page.
	r, page := get(proxy + "/private")
	if r.Request.URL.Path != "/ui/login" || !strings.Contains(page, `name="password"`) {
		t.Fatalf("expected the sign-in page, got %s (%d)", r.Request.URL, r.StatusCode)
	}
	form := url.Values{"email": {"proxy@example.com"}, "password": {"correct horse battery staple"}, "return_to": {r.Request.URL.Query().Get("return_to")}}
	req, _ := http.NewRequest("POST", s.url+"/ui/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	r, err = browser.Do(req)
	if err != nil {
		t.Fatalf("sign-in: %v\n%s", err, logs.String())
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != http.StatusOK || !strings.Contains(string(b), "upstream hello proxy@example.com") {
		t.Fatalf("after sign-in: %s %d %s\n%s", r.Request.URL, r.StatusCode, b, logs.String())
	}
	// Signed in at the proxy: the upstream answers directly.
	noFollow := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	r, err = noFollow.Get(proxy + "/private")
	if err != nil || r.StatusCode != http.StatusOK {
		t.Fatalf("signed-in request: %v %v", r, err)
	}
	r.Body.Close()
	// Sign out at the proxy: refused (sent to sign in) afterwards.
	r, err = noFollow.Get(proxy + "/oauth2/sign_out")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	r, err = noFollow.Get(proxy + "/private")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode == http.StatusOK {
		t.Fatal("the upstream answered after sign-out")
	}
}
