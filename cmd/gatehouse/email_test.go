package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/mail/smtptest"
	"github.com/gatehouse-auth/gatehouse/internal/webhooks"
)

const (
	testAdminKey    = "gh_mk_test_admin_key_0123456789abcdef0123456789"
	testHookSecret  = "whsec_0123456789abcdef"
	emailPassword   = "correct horse battery staple"
	emailPassword2  = "a different long passphrase"
	unknownEmail    = "nobody@example.com"
	emailTestSender = "Acme <no-reply@acme.test>"
)

// hookReceiver is an operator's webhook endpoint: it checks every signature.
type hookReceiver struct {
	mu     sync.Mutex
	events []map[string]any
	bad    int
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := webhooks.Verify(r.Header.Get(webhooks.SignatureHeader), testHookSecret, body, 5*time.Minute, time.Now()); err != nil {
		h.bad++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var e map[string]any
	json.Unmarshal(body, &e)
	h.events = append(h.events, e)
}

func (h *hookReceiver) types() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, e := range h.events {
		out = append(out, e["type"].(string))
	}
	return out
}

// startEmailServer starts serve with a real SMTP server, a webhook receiver and extra env.
func startEmailServer(t *testing.T, databaseURL string, extra map[string]string) (*server, *smtptest.Server, *hookReceiver) {
	t.Helper()
	mailSrv := smtptest.Start(t)
	hooks := &hookReceiver{}
	hs := httptest.NewServer(hooks)
	t.Cleanup(hs.Close)
	dir := t.TempDir()
	cfg, _ := json.Marshal(map[string]any{
		"webhooks":    []map[string]any{{"url": hs.URL + "/hook", "secret": testHookSecret, "events": []string{"user.*"}}},
		"email_login": true,
	})
	cfgFile := filepath.Join(dir, "config.json")
	if err := os.WriteFile(cfgFile, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"GATEHOUSE_CONFIG": cfgFile, "GATEHOUSE_SMTP_URL": mailSrv.URL(), "GATEHOUSE_EMAIL_FROM": emailTestSender,
		"GATEHOUSE_ADMIN_KEY": testAdminKey, "GATEHOUSE_DATABASE_URL": databaseURL,
	}
	for k, v := range extra {
		env[k] = v
	}
	return startServer(t, filepath.Join(dir, "data"), env), mailSrv, hooks
}

func newBrowser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar}
}

func expect(t *testing.T, what string, res *http.Response, body map[string]any, status int, code string) {
	t.Helper()
	if res.StatusCode != status || (code != "" && body["error"] != code) {
		t.Fatalf("%s: %d %v, want %d %s", what, res.StatusCode, body, status, code)
	}
}

func TestEmailFlowsSQLite(t *testing.T) { testEmailFlows(t, "") }

func TestEmailFlowsPostgres(t *testing.T) { testEmailFlows(t, testDatabase(t)) }

// testEmailFlows walks every email flow through the real server and a real SMTP server:
// verification by link (once) and by code, password reset ending every credential of the
// user, the same answer for an unknown address, email sign-in, and signed webhooks.
func testEmailFlows(t *testing.T, databaseURL string) {
	s, mailSrv, hooks := startEmailServer(t, databaseURL, nil)

	// Sign-up sends a verification mail with a link and a code.
	alice := newBrowser()
	res, body := postJSON(t, alice, s.url+"/v1/signup", map[string]string{"email": "alice@example.com", "password": emailPassword})
	expect(t, "signup", res, body, 201, "")
	m := mailSrv.WaitFor(t, "alice@example.com", "Verify your email")
	if m.Token() == "" || m.Code() == "" || !strings.Contains(m.Text, "http://localhost:8080/ui/email/verify#token=") {
		t.Fatalf("verification mail without link or code:\n%s", m.Text)
	}
	if m.MessageID == "" || !strings.HasSuffix(m.MessageID, "@acme.test>") {
		t.Fatalf("Message-ID %q", m.MessageID)
	}
	_, body = get(t, alice, s.url+"/v1/me")
	if body["email_verified"] != false || body["email"] != "alice@example.com" {
		t.Fatalf("me before verification: %v", body)
	}
	res, body = postJSON(t, http.DefaultClient, s.url+"/v1/email/verify", map[string]string{"token": m.Token()})
	expect(t, "verify by link", res, body, 200, "")
	if body["status"] != "email_verified" {
		t.Fatalf("verify: %v", body)
	}
	res, body = postJSON(t, http.DefaultClient, s.url+"/v1/email/verify", map[string]string{"token": m.Token()})
	expect(t, "second use of the link", res, body, 400, "invalid_token")
	_, body = get(t, alice, s.url+"/v1/me")
	if body["email_verified"] != true {
		t.Fatalf("me after verification: %v", body)
	}

	// The code path, with the session; a wrong code counts, the right one works once.
	bob := newBrowser()
	res, body = postJSON(t, bob, s.url+"/v1/signup", map[string]string{"email": "bob@example.com", "password": emailPassword})
	expect(t, "signup bob", res, body, 201, "")
	code := mailSrv.WaitFor(t, "bob@example.com", "Verify your email").Code()
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	res, body = postJSON(t, bob, s.url+"/v1/email/verify", map[string]string{"code": wrong})
	expect(t, "wrong code", res, body, 400, "invalid_code")
	res, body = postJSON(t, bob, s.url+"/v1/email/verify", map[string]string{"code": code})
	expect(t, "right code", res, body, 200, "")
	res, body = postJSON(t, bob, s.url+"/v1/email/verify", map[string]string{"code": code})
	expect(t, "code reused", res, body, 400, "invalid_code")
	res, body = postJSON(t, bob, s.url+"/v1/email/verify/resend", nil)
	if res.StatusCode != 200 || body["status"] != "already_verified" {
		t.Fatalf("resend when verified: %d %v", res.StatusCode, body)
	}

	// Password reset: alice has a cookie session and a token session with an access token.
	res, tokens := postJSON(t, http.DefaultClient, s.url+"/v1/login", map[string]string{"email": "alice@example.com", "password": emailPassword, "delivery": "token"})
	expect(t, "token login", res, tokens, 200, "")
	access := tokens["access_token"].(string)
	sid := tokens["session_id"].(string)
	if res, _ := get(t, http.DefaultClient, s.url+"/oauth/userinfo", "Authorization", "Bearer "+access); res.StatusCode != 200 {
		t.Fatalf("userinfo before reset: %d", res.StatusCode)
	}
	forgot := func(email string) (int, []byte) {
		b, _ := json.Marshal(map[string]string{"email": email})
		res, err := http.Post(s.url+"/v1/password/forgot", "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		out, _ := io.ReadAll(res.Body)
		return res.StatusCode, out
	}
	st1, b1 := forgot(unknownEmail)
	st2, b2 := forgot("alice@example.com")
	if st1 != 202 || st2 != 202 || !bytes.Equal(b1, b2) {
		t.Fatalf("forgot answers differ: unknown %d %s, known %d %s", st1, b1, st2, b2)
	}
	reset := mailSrv.WaitFor(t, "alice@example.com", "Reset your")
	res, body = postJSON(t, http.DefaultClient, s.url+"/v1/password/reset", map[string]string{"token": reset.Token(), "password": "short"})
	expect(t, "reset with a weak password", res, body, 400, "password_too_short")
	res, body = postJSON(t, http.DefaultClient, s.url+"/v1/password/reset", map[string]string{"token": reset.Token(), "password": emailPassword2})
	expect(t, "reset", res, body, 200, "")
	res, body = postJSON(t, http.DefaultClient, s.url+"/v1/password/reset", map[string]string{"token": reset.Token(), "password": emailPassword2})
	expect(t, "reset link reused", res, body, 400, "invalid_token")
	if res, _ := get(t, alice, s.url+"/v1/session"); res.StatusCode != 401 {
		t.Fatalf("cookie session after reset: %d", res.StatusCode)
	}
	if res, _ := get(t, http.DefaultClient, s.url+"/oauth/userinfo", "Authorization", "Bearer "+access); res.StatusCode != 401 {
		t.Fatalf("old access token after reset: %d", res.StatusCode)
	}
	_, feed := get(t, http.DefaultClient, s.url+"/v1/revocations", "Authorization", "Bearer "+testAdminKey)
	if !strings.Contains(mustJSON(t, feed), sid) {
		t.Fatalf("the revocation feed does not carry the ended session %s: %v", sid, feed)
	}
	res, body = postForm(t, s.url+"/oauth/token", "grant_type=refresh_token&client_id=gatehouse&refresh_token="+tokens["refresh_token"].(string))
	expect(t, "old refresh token after reset", res, body, 400, "invalid_grant")
	res, body = postJSON(t, http.DefaultClient, s.url+"/v1/login", map[string]string{"email": "alice@example.com", "password": emailPassword})
	expect(t, "old password", res, body, 401, "invalid_credentials")
	mailSrv.WaitFor(t, "alice@example.com", "password was changed")

	// Email sign-in: a code by mail, then a session with amr ["email"].
	res, body = postJSON(t, http.DefaultClient, s.url+"/v1/login/email", map[string]string{"email": "alice@example.com"})
	expect(t, "ask for a sign-in code", res, body, 202, "")
	lc := mailSrv.WaitFor(t, "alice@example.com", "sign-in code").Code()
	res, body = postJSON(t, http.DefaultClient, s.url+"/v1/login/email/verify", map[string]string{"email": "alice@example.com", "code": lc, "delivery": "token"})
	expect(t, "email sign-in", res, body, 200, "")
	_, sess := get(t, http.DefaultClient, s.url+"/v1/session", "Authorization", "Bearer "+body["access_token"].(string))
	if amr := mustJSON(t, sess["session"].(map[string]any)["amr"]); amr != `["email"]` {
		t.Fatalf("amr %s", amr)
	}
	res, body = postJSON(t, http.DefaultClient, s.url+"/v1/login/email/verify", map[string]string{"email": "alice@example.com", "code": lc})
	expect(t, "sign-in code reused", res, body, 400, "invalid_code")

	// Self-service with a fresh cookie session.
	alice = newBrowser()
	res, body = postJSON(t, alice, s.url+"/v1/login", map[string]string{"email": "alice@example.com", "password": emailPassword2})
	expect(t, "login with the new password", res, body, 200, "")
	patch := func(v any) (*http.Response, map[string]any) {
		b, _ := json.Marshal(v)
		req, _ := http.NewRequest("PATCH", s.url+"/v1/me", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		return send(t, alice, req)
	}
	res, body = patch(map[string]string{"name": "Alice Liddell", "locale": "en-GB", "picture": "https://img.example.com/a.png"})
	if res.StatusCode != 200 || body["name"] != "Alice Liddell" || body["locale"] != "en-GB" {
		t.Fatalf("patch me: %d %v", res.StatusCode, body)
	}
	res, body = patch(map[string]string{"picture": "javascript:alert(1)"})
	expect(t, "patch with a bad picture", res, body, 400, "invalid_request")
	res, body = patch(map[string]string{"metadata": "{}"})
	expect(t, "patch metadata", res, body, 400, "invalid_request")
	// Metadata is the administrator's: set through the management API, read-only for the user.
	_, me := get(t, alice, s.url+"/v1/me")
	b, _ := json.Marshal(map[string]any{"metadata": map[string]any{"plan": "pro"}})
	req, _ := http.NewRequest("PATCH", s.url+"/v1/admin/users/"+me["id"].(string), bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+testAdminKey)
	res, body = send(t, http.DefaultClient, req)
	if res.StatusCode != 200 || mustJSON(t, body["metadata"]) != `{"plan":"pro"}` {
		t.Fatalf("admin sets metadata: %d %v", res.StatusCode, body)
	}
	if _, me = get(t, alice, s.url+"/v1/me"); mustJSON(t, me["metadata"]) != `{"plan":"pro"}` {
		t.Fatalf("me after admin metadata: %v", me)
	}
	res, body = get(t, alice, s.url+"/v1/me/export")
	if res.StatusCode != 200 || body["user"].(map[string]any)["name"] != "Alice Liddell" || len(body["sessions"].([]any)) == 0 || len(body["events"].([]any)) == 0 {
		t.Fatalf("export: %d %v", res.StatusCode, body)
	}
	res, body = postJSON(t, alice, s.url+"/v1/me/email", map[string]string{"email": "alice@new.example.com"})
	expect(t, "change email", res, body, 202, "")
	mailSrv.WaitFor(t, "alice@example.com", "is changing")
	change := mailSrv.WaitFor(t, "alice@new.example.com", "Verify your email")
	res, body = postJSON(t, http.DefaultClient, s.url+"/v1/email/verify", map[string]string{"token": change.Token()})
	if res.StatusCode != 200 || body["status"] != "email_changed" {
		t.Fatalf("verify the new address: %d %v", res.StatusCode, body)
	}
	res, body = postJSON(t, alice, s.url+"/v1/me/password", map[string]string{"current_password": "not it at all", "password": emailPassword})
	expect(t, "wrong current password", res, body, 403, "invalid_current_password")
	res, body = postJSON(t, alice, s.url+"/v1/me/password", map[string]string{"current_password": emailPassword2, "password": emailPassword})
	expect(t, "change password", res, body, 204, "")
	req, _ = http.NewRequest("DELETE", s.url+"/v1/me", nil)
	res, body = send(t, alice, req)
	expect(t, "delete me", res, body, 204, "")
	if res, _ := get(t, alice, s.url+"/v1/me"); res.StatusCode != 401 {
		t.Fatalf("me after delete: %d", res.StatusCode)
	}
	res, body = postJSON(t, http.DefaultClient, s.url+"/v1/login", map[string]string{"email": "alice@new.example.com", "password": emailPassword})
	expect(t, "login after delete", res, body, 401, "invalid_credentials")

	// Every message went out once; none to the unknown address.
	for _, m := range mailSrv.Messages() {
		if m.To == unknownEmail {
			t.Fatal("a mail went to an address without an account")
		}
	}
	_, metrics := getText(t, s.url+"/metrics")
	if !strings.Contains(metrics, `gatehouse_outbox_deliveries_total{outcome="sent",queue="mail"}`) {
		t.Fatal("no outbox metric")
	}
	// Webhooks: the audited events arrived signed.
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := strings.Join(hooks.types(), ",")
		if strings.Contains(got, "user.signup") && strings.Contains(got, "user.password_reset") && strings.Contains(got, "user.email_verified") && strings.Contains(got, "user.deleted") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhook events: %s (bad signatures: %d)", got, hooks.bad)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if hooks.bad != 0 {
		t.Fatalf("%d webhook deliveries with a bad signature", hooks.bad)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func postForm(t *testing.T, u, form string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return send(t, http.DefaultClient, req)
}

// TestRequireVerifiedEmail: with require_verified_email, an unverified account cannot sign
// in (only after a correct password does it say why), and can once verified.
func TestRequireVerifiedEmail(t *testing.T) {
	s, mailSrv, _ := startEmailServer(t, "", map[string]string{"GATEHOUSE_REQUIRE_VERIFIED_EMAIL": "true"})
	res, body := postJSON(t, http.DefaultClient, s.url+"/v1/signup", map[string]string{"email": "carol@example.com", "password": emailPassword})
	expect(t, "signup", res, body, 403, "email_not_verified")
	res, body = postJSON(t, http.DefaultClient, s.url+"/v1/login", map[string]string{"email": "carol@example.com", "password": "wrong password here"})
	expect(t, "wrong password", res, body, 401, "invalid_credentials")
	res, body = postJSON(t, http.DefaultClient, s.url+"/v1/login", map[string]string{"email": "carol@example.com", "password": emailPassword})
	expect(t, "unverified login", res, body, 403, "email_not_verified")
	m := mailSrv.WaitFor(t, "carol@example.com", "Verify your email")
	res, body = postJSON(t, http.DefaultClient, s.url+"/v1/email/verify", map[string]string{"email": "carol@example.com", "code": m.Code()})
	expect(t, "verify by code and email", res, body, 200, "")
	res, body = postJSON(t, http.DefaultClient, s.url+"/v1/login", map[string]string{"email": "carol@example.com", "password": emailPassword})
	expect(t, "verified login", res, body, 200, "")
}

// TestEmailWithoutSMTP: in production without smtp_url the start says so, and the flows
// that need email answer 503 email_unavailable; settings that cannot work refuse to start.
func TestEmailWithoutSMTP(t *testing.T) {
	s := startServer(t, filepath.Join(t.TempDir(), "data"), nil)
	if !strings.Contains(s.stderr.String(), "email_unavailable") {
		t.Fatalf("the start does not say that email is off:\n%s", s.stderr)
	}
	res, body := postJSON(t, http.DefaultClient, s.url+"/v1/password/forgot", map[string]string{"email": "a@example.com"})
	expect(t, "forgot without SMTP", res, body, 503, "email_unavailable")
	res, body = postJSON(t, http.DefaultClient, s.url+"/v1/login/email", map[string]string{"email": "a@example.com"})
	expect(t, "email login off", res, body, 404, "not_found")
	res, body = postJSON(t, http.DefaultClient, s.url+"/v1/signup", map[string]string{"email": "a@example.com", "password": emailPassword})
	expect(t, "signup still works", res, body, 201, "")

	// Development mode prints the messages to the log instead.
	dev := startServer(t, filepath.Join(t.TempDir(), "data"), nil, "--insecure-dev")
	res, body = postJSON(t, http.DefaultClient, dev.url+"/v1/signup", map[string]string{"email": "dev@example.com", "password": emailPassword})
	expect(t, "dev signup", res, body, 201, "")
	res, body = postJSON(t, http.DefaultClient, dev.url+"/v1/password/forgot", map[string]string{"email": "dev@example.com"})
	expect(t, "dev forgot", res, body, 202, "")
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(dev.stderr.String(), "Reset your Gatehouse password"); {
		if time.Now().After(deadline) {
			t.Fatalf("the reset mail was not printed in development mode:\n%s", dev.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(dev.stderr.String(), "DEVELOPMENT MODE email") {
		t.Fatal("development mail not marked as such")
	}

	_, _, err := loadConfig("serve", nil, func(k string) string {
		return map[string]string{"GATEHOUSE_REQUIRE_VERIFIED_EMAIL": "true"}[k]
	})
	if err == nil || !strings.Contains(err.Error(), "require_verified_email needs smtp_url") {
		t.Fatalf("require_verified_email without SMTP: %v", err)
	}
}
