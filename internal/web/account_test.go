package web

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/mfa"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

// TestAccountPagesLabelled renders the account page with every section open and every field
// in error, and the email-link pages: each visible input has a <label for>, each
// aria-describedby names an element of the page, each page has its alert region.
func TestAccountPagesLabelled(t *testing.T) {
	h := newTestHandler(t, Config{})
	full := &accountPage{User: &users.User{Email: "a@example.com"}, EmailMail: true, MFA: true, Passkeys: true, Apps: true, Reauth: true,
		Sessions:    []sessionRow{{ID: "s1", Current: true}, {ID: "s2"}},
		PasskeyList: []passkeyRow{{ID: "p1", Name: "Key"}},
		Consents:    []Consent{{ClientID: "c1", Scopes: []string{"openid"}}},
		Enrol:       &enrolView{QR: "data:image/png;base64,AAAA", Secret: "ABC", URI: "otpauth://totp/x"},
		Errors: map[string]string{"name": "x", "locale": "x", "picture": "x", "new_email": "x", "current_password": "x", "new_password": "x",
			"reauth_password": "x", "totp_code": "x", "confirm_email": "x"}}
	code := &accountPage{User: &users.User{Email: "a@example.com"}, MFA: true, Reauth: true, ReauthCode: true, TOTP: mfa.Status{TOTP: true, RecoveryCodes: 3},
		Errors: map[string]string{"code": "x"}}
	for _, tc := range []struct {
		name string
		data any
	}{
		{"account", full},
		{"account", code},
		{"account", &accountPage{User: &users.User{}, Enrolment: true, MFA: true, Errors: map[string]string{}}},
		{"email_verify", &tokenForm{Title: "t", Errors: map[string]string{}}},
		{"password_reset", &tokenForm{Title: "t", Token: "x", Errors: map[string]string{"password": "x"}}},
		{"password_forgot", &tokenForm{Title: "t", Errors: map[string]string{"email": "x"}}},
	} {
		w := httptest.NewRecorder()
		h.Page(w, httptest.NewRequest("GET", "/ui/x", nil), http.StatusOK, tc.name, tc.data)
		body := w.Body.String()
		if w.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", tc.name, w.Code, body)
		}
		for _, in := range inputTag.FindAllString(body, -1) {
			if strings.Contains(in, `type="hidden"`) || strings.Contains(in, `aria-hidden="true"`) {
				continue
			}
			m := idAttr.FindStringSubmatch(in)
			if m == nil || !strings.Contains(body, `<label for="`+m[1]+`">`) {
				t.Errorf("%s: input without a label: %s", tc.name, in)
			}
		}
		for _, m := range regexp.MustCompile(`aria-describedby="([^"]+)"`).FindAllStringSubmatch(body, -1) {
			for _, id := range strings.Fields(m[1]) {
				if !strings.Contains(body, `id="`+id+`"`) {
					t.Errorf("%s: aria-describedby names %q, which is not on the page", tc.name, id)
				}
			}
		}
		if !strings.Contains(body, `role="alert"`) {
			t.Errorf("%s: no alert region", tc.name)
		}
	}
}

func TestQRURLOnlyPNGDataURLs(t *testing.T) {
	for in, want := range map[string]string{
		"data:image/png;base64,iVBORw0KGgo=": "data:image/png;base64,iVBORw0KGgo=",
		"javascript:alert(1)":                "",
		"data:text/html;base64,PHNjcmlwdD4=": "",
		`data:image/png;base64,x" onerror=`:  "",
	} {
		if got := string(qrURL(in)); got != want {
			t.Errorf("qrURL(%q) = %q, want %q", in, got, want)
		}
	}
}
