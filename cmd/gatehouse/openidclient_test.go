package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

// TestOpenIDClient runs the stock Node relying party openid-client (v6; test/rp) against the
// real server: discovery, code flow with PKCE, ID token (nonce, signature), userinfo, then
// RP-initiated logout with id_token_hint. Required when GATEHOUSE_TEST_BROWSER=1 (CI runs
// `npm ci --prefix test/rp`); skipped otherwise.
func TestOpenIDClient(t *testing.T) {
	rp, _ := filepath.Abs("../../test/rp")
	_, noModules := os.Stat(filepath.Join(rp, "node_modules", "openid-client"))
	node, noNode := exec.LookPath("node")
	if noModules != nil || noNode != nil {
		if os.Getenv("GATEHOUSE_TEST_BROWSER") == "1" {
			t.Fatalf("GATEHOUSE_TEST_BROWSER=1 needs node and `npm ci --prefix test/rp` (%v, %v)", noNode, noModules)
		}
		t.Skip("needs node and `npm ci --prefix test/rp` (required when GATEHOUSE_TEST_BROWSER=1)")
	}
	addr := freeAddr(t)
	issuer := "http://" + addr
	dir := filepath.Join(t.TempDir(), "data")
	startServer(t, dir, nil, "--issuer", issuer, "--addr", addr, "--insecure-dev")
	kb, err := os.ReadFile(filepath.Join(dir, "management-key"))
	if err != nil {
		t.Fatal(err)
	}
	admin := regexp.MustCompile(`gh_mk_[A-Za-z0-9_-]{43}`).FindString(string(kb))
	const cb, bye = "http://127.0.0.1/rp/callback", "http://127.0.0.1/rp/bye"
	res, c := postJSON(t, http.DefaultClient, issuer+"/v1/admin/clients", map[string]any{"name": "openid-client", "type": "confidential",
		"redirect_uris": []string{cb}, "post_logout_redirect_uris": []string{bye}, "first_party": true, "allowed_scopes": []string{"openid", "email"}},
		"Authorization", "Bearer "+admin)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("client: %d %v", res.StatusCode, c)
	}
	res, body := postJSON(t, http.DefaultClient, issuer+"/v1/signup", map[string]string{"email": "node-rp@example.com", "password": "correct horse battery staple"})
	if res.StatusCode != http.StatusCreated || len(res.Cookies()) == 0 {
		t.Fatalf("signup: %d %v", res.StatusCode, body)
	}
	session := res.Cookies()[0]
	_, disc := get(t, http.DefaultClient, issuer+"/.well-known/openid-configuration")
	alg := disc["id_token_signing_alg_values_supported"].([]any)[0].(string)

	cmd := exec.Command(node, "openid-client.mjs")
	cmd.Dir = rp
	cmd.Env = append(os.Environ(), "ISSUER="+issuer, "CLIENT_ID="+c["client_id"].(string), "CLIENT_SECRET="+c["client_secret"].(string),
		"REDIRECT_URI="+cb, "LOGOUT_URI="+bye, "COOKIE="+session.Name+"="+session.Value, "ALG="+alg)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openid-client: %v\n%s", err, stderr.String())
	}
	var got struct {
		Sub, Sid, Email string
		LogoutStatus    int    `json:"logout_status"`
		LogoutLocation  string `json:"logout_location"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	if got.Email != "node-rp@example.com" || got.Sid == "" || got.LogoutStatus != http.StatusFound || got.LogoutLocation != bye+"?state=bye" {
		t.Fatalf("openid-client saw %+v", got)
	}
	// The logout ended the browser session too.
	req, _ := http.NewRequest("GET", issuer+"/v1/session", nil)
	req.AddCookie(session)
	if res, _ := send(t, http.DefaultClient, req); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("browser session after logout: %d", res.StatusCode)
	}
}
