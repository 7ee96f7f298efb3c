package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/mail"
	"github.com/gatehouse-auth/gatehouse/internal/mfa"
	"github.com/gatehouse-auth/gatehouse/internal/oidc"
	"github.com/gatehouse-auth/gatehouse/internal/passkeys/passkeystest"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
)

// hiddenAll returns every value of the hidden field name, in page order.
func hiddenAll(body, name string) []string {
	var out []string
	for _, m := range hiddenField.FindAllStringSubmatch(body, -1) {
		if m[1] == name {
			out = append(out, m[2])
		}
	}
	return out
}

func (e *env) sessionStatus(ck *http.Cookie) int {
	e.t.Helper()
	return e.do("GET", "/v1/session", nil, withCookie(ck)...).StatusCode
}

func TestWebAccountSessions(t *testing.T) {
	e := newEnv(t, withPages)
	a := e.signup("dev@example.com")
	b := e.login("dev@example.com")
	body := e.page("GET", "/ui/account", nil, withCookie(a)...).wantHTML(t, http.StatusOK)
	ids := hiddenAll(body, "session_id")
	if len(ids) != 1 || strings.Count(body, "this device") != 1 || !strings.Contains(body, `aria-current="true"`) {
		t.Fatalf("sessions: want the other device revocable and this one marked: %v %s", ids, body)
	}
	// Revoke the other device: its cookie stops working, this one does not.
	e.page("POST", "/ui/account/sessions/revoke", url.Values{"session_id": {ids[0]}}, withCookie(a)...).wantRedirect(t, "/ui/account?done=session")
	if e.sessionStatus(b) != http.StatusUnauthorized || e.sessionStatus(a) != http.StatusOK {
		t.Fatal("revoked session still valid, or the wrong one revoked")
	}
	if body := e.page("GET", "/ui/account?done=session", nil, withCookie(a)...).wantHTML(t, 200); !strings.Contains(body, "That device was signed out.") {
		t.Fatalf("no flash: %s", body)
	}
	// A session of another user cannot be revoked (a not-found page, nothing ends).
	other := e.signup("other@example.com")
	oid := hiddenAll(e.page("GET", "/ui/account", nil, withCookie(e.login("other@example.com"))...).body2(), "session_id")
	e.page("POST", "/ui/account/sessions/revoke", url.Values{"session_id": {oid[0]}}, withCookie(a)...).wantHTML(t, http.StatusNotFound)
	if e.sessionStatus(other) != http.StatusOK {
		t.Fatal("another user's session was revoked")
	}
	// Sign out everywhere else.
	c := e.login("dev@example.com")
	e.page("POST", "/ui/account/sessions/logout", url.Values{"scope": {"others"}}, withCookie(a)...).wantRedirect(t, "/ui/account?done=others")
	if e.sessionStatus(c) != http.StatusUnauthorized || e.sessionStatus(a) != http.StatusOK {
		t.Fatal("scope others")
	}
	// Everywhere: this one too, and the cookie is cleared.
	d := e.login("dev@example.com")
	r := e.page("POST", "/ui/account/sessions/logout", url.Values{"scope": {"global"}}, withCookie(a)...)
	r.wantHTML(t, http.StatusOK)
	if e.sessionStatus(a) != http.StatusUnauthorized || e.sessionStatus(d) != http.StatusUnauthorized {
		t.Fatal("scope global left a session")
	}
	if ck := sessionCookie(t, r); ck.Value != "" {
		t.Fatalf("cookie not cleared: %+v", ck)
	}
}

func (r *resp) body2() string { return string(r.body) }

func TestWebAccountPassword(t *testing.T) {
	e := newEnv(t, withPages)
	ck := e.signup("pw@example.com")
	other := e.login("pw@example.com")
	// With the current password.
	e.page("POST", "/ui/account/password", url.Values{"current_password": {goodPassword}, "new_password": {"a brand new passphrase"}}, withCookie(ck)...).
		wantRedirect(t, "/ui/account?done=password")
	if e.sessionStatus(other) != http.StatusUnauthorized || e.sessionStatus(ck) != http.StatusOK {
		t.Fatal("password change: other sessions must end, this one stay")
	}
	e.do("POST", "/v1/login", map[string]string{"email": "pw@example.com", "password": "a brand new passphrase"}).wantStatus(t, http.StatusOK)
	// A wrong current password: a field error, nothing typed reflected.
	body := e.page("POST", "/ui/account/password", url.Values{"current_password": {"wrong-pass-xyz"}, "new_password": {"another passphrase 1"}}, withCookie(ck)...).
		wantHTML(t, http.StatusForbidden)
	if !strings.Contains(body, `id="current_password-error"`) || strings.Contains(body, "wrong-pass-xyz") || strings.Contains(body, "another passphrase 1") {
		t.Fatalf("wrong current password page: %s", body)
	}
	// Without it, after RecentAuth: the page asks to confirm instead of failing.
	e.clock.Add(accounts.RecentAuth + time.Minute)
	body = e.page("POST", "/ui/account/password", url.Values{"new_password": {"third passphrase here"}}, withCookie(ck)...).wantHTML(t, http.StatusForbidden)
	if !strings.Contains(body, `action="/ui/account/reauth"`) || !strings.Contains(body, `id="reauth-password"`) || !strings.Contains(body, `role="alert"`) {
		t.Fatalf("no re-auth step: %s", body)
	}
	e.page("POST", "/ui/account/reauth", url.Values{"password": {"wrong"}}, withCookie(ck)...).wantHTML(t, http.StatusUnauthorized)
	r := e.page("POST", "/ui/account/reauth", url.Values{"password": {"a brand new passphrase"}}, withCookie(ck)...)
	r.wantRedirect(t, "/ui/account?done=reauth")
	fresh := sessionCookie(t, r)
	e.page("POST", "/ui/account/password", url.Values{"new_password": {"third passphrase here"}}, withCookie(fresh)...).wantRedirect(t, "/ui/account?done=password")
	e.do("POST", "/v1/login", map[string]string{"email": "pw@example.com", "password": "third passphrase here"}).wantStatus(t, http.StatusOK)
	// A too-short password: the new-password field says so.
	body = e.page("POST", "/ui/account/password", url.Values{"new_password": {"short"}}, withCookie(fresh)...).wantHTML(t, http.StatusBadRequest)
	if !strings.Contains(body, `id="new_password-error"`) {
		t.Fatalf("policy error not on the field: %s", body)
	}
}

var secretField = regexp.MustCompile(`<code id="totp-secret">([A-Z2-7]+)</code>`)

// enrolWeb enrols an authenticator app through the account page and returns its seed and the
// page showing the recovery codes.
func (e *env) enrolWeb(ck *http.Cookie, returnTo string) ([]byte, string) {
	t := e.t
	t.Helper()
	body := e.page("POST", "/ui/account/totp", url.Values{"return_to": {returnTo}}, withCookie(ck)...).wantHTML(t.(*testing.T), http.StatusOK)
	if !strings.Contains(body, `src="data:image/png;base64,`) {
		t.Fatalf("no QR image: %s", body)
	}
	m := secretField.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no secret in text: %s", body)
	}
	seed, err := mfa.ParseSeed(m[1])
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"return_to": {returnTo}, "secret": {hidden(t.(*testing.T), body, "secret")}, "uri": {hidden(t.(*testing.T), body, "uri")}}
	form.Set("code", "000000")
	bad := e.page("POST", "/ui/account/totp/confirm", form, withCookie(ck)...).wantHTML(t.(*testing.T), http.StatusBadRequest)
	if !strings.Contains(bad, `id="totp_code-error"`) || !strings.Contains(bad, m[1]) {
		t.Fatalf("wrong first code: %s", bad)
	}
	form.Set("code", mfa.Code(seed, e.clock.Now()))
	body = e.page("POST", "/ui/account/totp/confirm", form, withCookie(ck)...).wantHTML(t.(*testing.T), http.StatusOK)
	if !strings.Contains(body, "Recovery codes") {
		t.Fatalf("no recovery codes: %s", body)
	}
	e.clock.Add(3 * mfa.Period)
	return seed, body
}

var codeItem = regexp.MustCompile(`<li><code>([^<]+)</code></li>`)

func TestWebAccountTOTP(t *testing.T) {
	e := newEnv(t, withPages)
	ck := e.signup("totp@example.com")
	seed, body := e.enrolWeb(ck, "")
	codes := codeItem.FindAllStringSubmatch(body, -1)
	if len(codes) != 10 {
		t.Fatalf("want 10 recovery codes: %s", body)
	}
	if e.sessionStatus(ck) != http.StatusOK {
		t.Fatal("enrolling ended the session")
	}
	// Sign-in now asks for the code, and takes it.
	r := e.page("POST", "/ui/login", url.Values{"email": {"totp@example.com"}, "password": {goodPassword}})
	tok := hidden(t, r.wantHTML(t, http.StatusOK), "mfa_token")
	e.page("POST", "/ui/mfa", url.Values{"mfa_token": {tok}, "code": {mfa.Code(seed, e.clock.Now())}}).wantRedirect(t, "/ui/account")
	e.clock.Add(3 * mfa.Period)

	// New recovery codes need a recent sign-in: the page asks for a code.
	e.clock.Add(accounts.RecentAuth)
	body = e.page("POST", "/ui/account/recovery-codes", url.Values{}, withCookie(ck)...).wantHTML(t, http.StatusForbidden)
	if !strings.Contains(body, `id="reauth-code"`) {
		t.Fatalf("no code re-auth: %s", body)
	}
	r = e.page("POST", "/ui/account/reauth", url.Values{"code": {mfa.Code(seed, e.clock.Now())}}, withCookie(ck)...)
	r.wantRedirect(t, "/ui/account?done=reauth")
	fresh := sessionCookie(t, r)
	if e.sessionStatus(ck) != http.StatusUnauthorized {
		t.Fatal("a step-up replaces the session")
	}
	body = e.page("POST", "/ui/account/recovery-codes", url.Values{}, withCookie(fresh)...).wantHTML(t, http.StatusOK)
	renewed := codeItem.FindAllStringSubmatch(body, -1)
	if len(renewed) != 10 || renewed[0][1] == codes[0][1] {
		t.Fatalf("codes not renewed: %v", renewed)
	}
	// An old recovery code no longer signs in; a new one does.
	r = e.page("POST", "/ui/login", url.Values{"email": {"totp@example.com"}, "password": {goodPassword}})
	tok = hidden(t, r.wantHTML(t, http.StatusOK), "mfa_token")
	e.page("POST", "/ui/mfa", url.Values{"mfa_token": {tok}, "recovery_code": {codes[0][1]}, "method": {"recovery"}}).wantHTML(t, http.StatusBadRequest)
	e.page("POST", "/ui/mfa", url.Values{"mfa_token": {tok}, "recovery_code": {renewed[0][1]}, "method": {"recovery"}}).wantRedirect(t, "/ui/account")
	if body := e.page("GET", "/ui/account", nil, withCookie(fresh)...).wantHTML(t, 200); !strings.Contains(body, "9 recovery codes left") {
		t.Fatalf("count of codes left: %s", body)
	}
	// Remove the app (recent: the step-up above).
	e.page("POST", "/ui/account/totp/remove", url.Values{}, withCookie(fresh)...).wantRedirect(t, "/ui/account?done=totp_removed")
	e.page("POST", "/ui/login", url.Values{"email": {"totp@example.com"}, "password": {goodPassword}}).wantRedirect(t, "/ui/account")
}

func TestWebAccountEnrolmentRequired(t *testing.T) {
	e := newEnv(t, withPages)
	e.enableMFA(accounts.MFARequired)
	r := e.page("POST", "/ui/signup", url.Values{"email": {"must@example.com"}, "password": {goodPassword}, "return_to": {"https://app.example.com/cb"}})
	r.wantRedirect(t, "/ui/account?return_to="+url.QueryEscape("https://app.example.com/cb"))
	limited := sessionCookie(t, r)
	body := e.page("GET", "/ui/account?return_to="+url.QueryEscape("https://app.example.com/cb"), nil, withCookie(limited)...).wantHTML(t, http.StatusOK)
	if !strings.Contains(body, `action="/ui/account/totp"`) || strings.Contains(body, `action="/ui/account/password"`) || hidden(t, body, "return_to") != "https://app.example.com/cb" {
		t.Fatalf("enrolment page: %s", body)
	}
	// Nothing but enrolment: other actions go back to the page.
	e.page("POST", "/ui/account/profile", url.Values{"name": {"X"}}, withCookie(limited)...).wantRedirect(t, "/ui/account")
	seed, body := e.enrolWeb(limited, "https://app.example.com/cb")
	if !strings.Contains(body, `href="/ui/login?return_to=`+url.QueryEscape("https://app.example.com/cb")+`"`) {
		t.Fatalf("no way on with return_to: %s", body)
	}
	if e.sessionStatus(limited) != http.StatusUnauthorized {
		t.Fatal("the enrolment session must end")
	}
	r = e.page("POST", "/ui/login", url.Values{"email": {"must@example.com"}, "password": {goodPassword}, "return_to": {"https://app.example.com/cb"}})
	tok := hidden(t, r.wantHTML(t, http.StatusOK), "mfa_token")
	e.page("POST", "/ui/mfa", url.Values{"mfa_token": {tok}, "code": {mfa.Code(seed, e.clock.Now())}, "return_to": {"https://app.example.com/cb"}}).
		wantRedirect(t, "https://app.example.com/cb")
}

func TestWebAccountProfileAndExport(t *testing.T) {
	e := newEnv(t, withPages)
	ck := e.signup("prof@example.com")
	body := e.page("POST", "/ui/account/profile", url.Values{"name": {"Ada"}, "locale": {"en"}, "picture": {"http://not-https.example/p.png"}}, withCookie(ck)...).
		wantHTML(t, http.StatusBadRequest)
	if !strings.Contains(body, `id="picture-error"`) || !strings.Contains(body, `value="http://not-https.example/p.png"`) || !strings.Contains(body, `value="Ada"`) {
		t.Fatalf("profile error page: %s", body)
	}
	e.page("POST", "/ui/account/profile", url.Values{"name": {"Ada Lovelace"}, "locale": {"en-GB"}, "picture": {""}}, withCookie(ck)...).wantRedirect(t, "/ui/account?done=profile")
	if m := e.do("GET", "/v1/me", nil, withCookie(ck)...).json(t); m["name"] != "Ada Lovelace" || m["locale"] != "en-GB" {
		t.Fatalf("profile not saved: %v", m)
	}
	r := e.page("POST", "/ui/account/export", url.Values{}, withCookie(ck)...)
	if r.StatusCode != 200 || !strings.Contains(r.Header.Get("Content-Disposition"), "attachment") || !strings.Contains(string(r.body), `"email":"prof@example.com"`) {
		t.Fatalf("export: %d %v %s", r.StatusCode, r.Header, r.body)
	}
}

func TestWebAccountPasskeys(t *testing.T) {
	e := newPasskeyEnv(t, withPages)
	ck := e.signup("pk@example.com")
	a := passkeystest.New(pkRPID, pkOrigin)
	id := e.registerPasskey(ck, a, "Old name")["id"].(string)
	body := e.page("GET", "/ui/account", nil, withCookie(ck)...).wantHTML(t, http.StatusOK)
	if !strings.Contains(body, "Old name") || !strings.Contains(body, `id="passkey-add"`) {
		t.Fatalf("passkeys section: %s", body)
	}
	e.page("POST", "/ui/account/passkeys/rename", url.Values{"id": {id}, "name": {"Work laptop"}}, withCookie(ck)...).wantRedirect(t, "/ui/account?done=passkey_rename")
	if body := e.page("GET", "/ui/account", nil, withCookie(ck)...).body2(); !strings.Contains(body, "Work laptop") || strings.Contains(body, "Old name") {
		t.Fatalf("not renamed: %s", body)
	}
	e.page("POST", "/ui/account/passkeys/rename", url.Values{"id": {id}, "name": {""}}, withCookie(ck)...).wantHTML(t, http.StatusBadRequest)
	// Deleting needs a recent sign-in.
	e.clock.Add(accounts.RecentAuth + time.Minute)
	e.page("POST", "/ui/account/passkeys/delete", url.Values{"id": {id}}, withCookie(ck)...).wantHTML(t, http.StatusForbidden)
	r := e.page("POST", "/ui/account/reauth", url.Values{"password": {goodPassword}}, withCookie(ck)...)
	fresh := sessionCookie(t, r)
	e.page("POST", "/ui/account/passkeys/delete", url.Values{"id": {id}}, withCookie(fresh)...).wantRedirect(t, "/ui/account?done=passkey_delete")
	if body := e.page("GET", "/ui/account", nil, withCookie(fresh)...).body2(); strings.Contains(body, "Work laptop") {
		t.Fatalf("not deleted: %s", body)
	}
}

func TestWebAccountConsents(t *testing.T) {
	e := newEnv(t, withPages)
	ck := e.signup("apps@example.com")
	id, _ := e.registerClient("confidential", false)
	uid := e.do("GET", "/v1/me", nil, withCookie(ck)...).json(t)["id"].(string)
	if err := e.db.PutConsent(context.Background(), &oidc.Consent{UserID: uid, ClientID: id, Scopes: []string{"openid", "email"}, CreatedAt: e.clock.Now(), UpdatedAt: e.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	body := e.page("GET", "/ui/account", nil, withCookie(ck)...).wantHTML(t, http.StatusOK)
	if !strings.Contains(body, "RP confidential") || !strings.Contains(body, "openid, email") {
		t.Fatalf("connected apps: %s", body)
	}
	e.page("POST", "/ui/account/consents/revoke", url.Values{"client_id": {id}}, withCookie(ck)...).wantRedirect(t, "/ui/account?done=consent")
	if m := e.do("GET", "/v1/consents", nil, withCookie(ck)...).json(t); len(m["consents"].([]any)) != 0 {
		t.Fatalf("consent not revoked: %v", m)
	}
	e.page("POST", "/ui/account/consents/revoke", url.Values{"client_id": {id}}, withCookie(ck)...).wantHTML(t, http.StatusNotFound)
}

func TestWebAccountDelete(t *testing.T) {
	e := newEnv(t, withPages)
	ck := e.signup("gone@example.com")
	body := e.page("POST", "/ui/account/delete", url.Values{"confirm_email": {"someone@example.com"}}, withCookie(ck)...).wantHTML(t, http.StatusBadRequest)
	if !strings.Contains(body, `id="confirm_email-error"`) {
		t.Fatalf("confirmation error: %s", body)
	}
	// A GET deletes nothing (no such page), nor does a cross-site form post.
	e.page("GET", "/ui/account/delete?confirm_email=gone@example.com", nil, withCookie(ck)...)
	r := e.page("POST", "/ui/account/delete", url.Values{"confirm_email": {"gone@example.com"}}, append(withCookie(ck), "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")...)
	r.wantHTML(t, http.StatusForbidden)
	if e.sessionStatus(ck) != http.StatusOK {
		t.Fatal("account deleted by a GET or a cross-site post")
	}
	// Old sign-in: the page asks to confirm first.
	e.clock.Add(accounts.RecentAuth + time.Minute)
	e.page("POST", "/ui/account/delete", url.Values{"confirm_email": {"gone@example.com"}}, withCookie(ck)...).wantHTML(t, http.StatusForbidden)
	fresh := sessionCookie(t, e.page("POST", "/ui/account/reauth", url.Values{"password": {goodPassword}}, withCookie(ck)...))
	r = e.page("POST", "/ui/account/delete", url.Values{"confirm_email": {"Gone@example.com"}}, withCookie(fresh)...)
	r.wantHTML(t, http.StatusOK)
	if e.sessionStatus(fresh) != http.StatusUnauthorized {
		t.Fatal("session survived the deletion")
	}
	e.do("POST", "/v1/login", map[string]string{"email": "gone@example.com", "password": goodPassword}).wantStatus(t, http.StatusUnauthorized)
}

func TestWebAccountCrossSiteRefused(t *testing.T) {
	e := newEnv(t, withPages)
	ck := e.signup("csrf@example.com")
	b := e.login("csrf@example.com")
	r := e.page("POST", "/ui/account/sessions/logout", url.Values{"scope": {"others"}}, append(withCookie(ck), "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")...)
	r.wantHTML(t, http.StatusForbidden)
	r = e.page("POST", "/ui/account/password", url.Values{"current_password": {goodPassword}, "new_password": {"attacker chosen pass"}}, append(withCookie(ck), "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")...)
	r.wantHTML(t, http.StatusForbidden)
	// A GET of an action route changes nothing.
	if r := e.page("GET", "/ui/account/sessions/logout?scope=others", nil, withCookie(ck)...); r.StatusCode != http.StatusMethodNotAllowed && r.StatusCode != http.StatusNotFound {
		t.Fatalf("GET of an action: %d", r.StatusCode)
	}
	if e.sessionStatus(b) != http.StatusOK {
		t.Fatal("a cross-site post or a GET signed out the other device")
	}
	e.do("POST", "/v1/login", map[string]string{"email": "csrf@example.com", "password": goodPassword}).wantStatus(t, http.StatusOK)
}

// recordingMailer keeps the mails the account service queues.
type recordingMailer struct {
	mu   sync.Mutex
	sent []mail.Data
	kind []mail.Kind
}

func (m *recordingMailer) Enqueue(_ context.Context, k mail.Kind, _ string, d mail.Data) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent, m.kind = append(m.sent, d), append(m.kind, k)
	return nil
}

// linkToken returns the token of the last mail of kind k, and the link's path.
func (m *recordingMailer) linkToken(t *testing.T, k mail.Kind) (path, tok string) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.sent) - 1; i >= 0; i-- {
		if m.kind[i] == k {
			u, err := url.Parse(m.sent[i].Link)
			if err != nil || !strings.HasPrefix(u.Fragment, "token=") {
				t.Fatalf("link %q", m.sent[i].Link)
			}
			return u.Path, strings.TrimPrefix(u.Fragment, "token=")
		}
	}
	t.Fatalf("no %s mail", k)
	return "", ""
}

func (e *env) withMail() *recordingMailer {
	m := &recordingMailer{}
	if err := e.accounts.WithEmail(accounts.EmailConfig{Mailer: m, Tokens: e.db, Buckets: ratelimit.NewMemory(0),
		CodeKey: []byte("code key for tests, 32 bytes ok!"), BaseURL: testIssuer}); err != nil {
		e.t.Fatal(err)
	}
	return m
}

func TestWebEmailVerify(t *testing.T) {
	e := newEnv(t, withPages)
	m := e.withMail()
	ck := e.signup("verify@example.com")
	path, tok := m.linkToken(t, mail.VerifyEmail)
	if path != "/ui/email/verify" {
		t.Fatalf("link path %q", path)
	}
	// GET (a link scanner) shows the button and uses nothing.
	r := e.page("GET", path+"?token="+url.QueryEscape(tok), nil)
	body := r.wantHTML(t, http.StatusOK)
	if r.Header.Get("Referrer-Policy") != "no-referrer" || !strings.Contains(body, `action="/ui/email/verify"`) || !strings.Contains(body, "data-fragment-token") {
		t.Fatalf("verify page: %v %s", r.Header, body)
	}
	if e.do("GET", "/v1/me", nil, withCookie(ck)...).json(t)["email_verified"] != false {
		t.Fatal("a GET verified the address")
	}
	// The account page offers a new mail meanwhile.
	if body := e.page("GET", "/ui/account", nil, withCookie(ck)...).body2(); !strings.Contains(body, `action="/ui/account/email/resend"`) || !strings.Contains(body, "not verified") {
		t.Fatalf("no resend: %s", body)
	}
	// Without JavaScript the hidden field stays empty and the pasted text field carries it.
	r = e.page("POST", "/ui/email/verify", url.Values{"token": {"", tok}})
	if body := r.wantHTML(t, http.StatusOK); !strings.Contains(body, "Email address confirmed") || strings.Contains(body, tok) {
		t.Fatalf("verified page: %s", body)
	}
	if e.do("GET", "/v1/me", nil, withCookie(ck)...).json(t)["email_verified"] != true {
		t.Fatal("not verified")
	}
	// Used: the expired page, with the way to a new one.
	body = e.page("POST", "/ui/email/verify", url.Values{"token": {tok}}).wantHTML(t, http.StatusBadRequest)
	if !strings.Contains(body, "expired") || !strings.Contains(body, `href="/ui/account"`) {
		t.Fatalf("expired page: %s", body)
	}
	// Change the address from the account page: a link to the new one, an undo to the old.
	e.page("POST", "/ui/account/email", url.Values{"new_email": {"not-an-email"}}, withCookie(ck)...).wantHTML(t, http.StatusBadRequest)
	e.page("POST", "/ui/account/email", url.Values{"new_email": {"moved@example.com"}}, withCookie(ck)...).wantRedirect(t, "/ui/account?done=email_change")
	_, tok = m.linkToken(t, mail.VerifyEmail)
	body = e.page("POST", "/ui/email/verify", url.Values{"token": {tok}}).wantHTML(t, http.StatusOK)
	if !strings.Contains(body, "Email address changed") {
		t.Fatalf("change page: %s", body)
	}
	m.mu.Lock()
	var undo string
	for i, k := range m.kind {
		if k == mail.EmailChanged {
			undo = m.sent[i].UndoLink
		}
	}
	m.mu.Unlock()
	u, _ := url.Parse(undo)
	if u == nil || u.Path != "/ui/email/verify" {
		t.Fatalf("undo link %q", undo)
	}
	body = e.page("POST", "/ui/email/verify", url.Values{"token": {strings.TrimPrefix(u.Fragment, "token=")}}).wantHTML(t, http.StatusOK)
	if !strings.Contains(body, "Email change undone") || e.sessionStatus(ck) != http.StatusUnauthorized {
		t.Fatalf("undo: %s", body)
	}
}

func TestWebPasswordReset(t *testing.T) {
	e := newEnv(t, withPages)
	m := e.withMail()
	ck := e.signup("reset@example.com")
	if body := e.page("GET", "/ui/login", nil).body2(); !strings.Contains(body, `href="/ui/password/forgot"`) {
		t.Fatalf("sign-in page does not offer a reset: %s", body)
	}
	body := e.page("GET", "/ui/password/forgot", nil).wantHTML(t, http.StatusOK)
	if !strings.Contains(body, `action="/ui/password/forgot"`) {
		t.Fatalf("forgot page: %s", body)
	}
	known := e.page("POST", "/ui/password/forgot", url.Values{"email": {"reset@example.com"}}).wantHTML(t, http.StatusOK)
	unknown := e.page("POST", "/ui/password/forgot", url.Values{"email": {"nobody@example.com"}}).wantHTML(t, http.StatusOK)
	strip := func(s string) string { return regexp.MustCompile(`nonce(-|=")[A-Za-z0-9_-]+`).ReplaceAllString(s, "") }
	if strip(strings.ReplaceAll(known, "reset@example.com", "X")) != strip(strings.ReplaceAll(unknown, "nobody@example.com", "X")) {
		t.Fatal("forgot-password answers differ between a known and an unknown address")
	}
	e.accounts.Wait()
	path, tok := m.linkToken(t, mail.PasswordReset)
	if path != "/ui/password/reset" {
		t.Fatalf("link path %q", path)
	}
	body = e.page("GET", path+"?token="+url.QueryEscape(tok), nil).wantHTML(t, http.StatusOK)
	if !strings.Contains(body, "data-policy") || hidden(t, body, "token") != tok {
		t.Fatalf("reset page: %s", body)
	}
	// A refused password keeps the token in the form (not in any URL) and costs nothing.
	r := e.page("POST", "/ui/password/reset", url.Values{"token": {tok}, "password": {"short"}})
	body = r.wantHTML(t, http.StatusBadRequest)
	if !strings.Contains(body, `id="password-error"`) || hidden(t, body, "token") != tok || r.Header.Get("Location") != "" {
		t.Fatalf("refused password: %s", body)
	}
	body = e.page("POST", "/ui/password/reset", url.Values{"token": {tok}, "password": {"reset passphrase ok"}}).wantHTML(t, http.StatusOK)
	if !strings.Contains(body, "Password changed") || !strings.Contains(body, `href="/ui/login"`) {
		t.Fatalf("reset done: %s", body)
	}
	if e.sessionStatus(ck) != http.StatusUnauthorized {
		t.Fatal("sessions survived a reset")
	}
	e.do("POST", "/v1/login", map[string]string{"email": "reset@example.com", "password": "reset passphrase ok"}).wantStatus(t, http.StatusOK)
	body = e.page("POST", "/ui/password/reset", url.Values{"token": {tok}, "password": {"another passphrase"}}).wantHTML(t, http.StatusBadRequest)
	if !strings.Contains(body, `href="/ui/password/forgot"`) {
		t.Fatalf("used link: %s", body)
	}
}
