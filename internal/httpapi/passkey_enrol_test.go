package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi"
	"github.com/gatehouse-auth/gatehouse/internal/passkeys"
	"github.com/gatehouse-auth/gatehouse/internal/passkeys/passkeystest"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
)

// TestPasskeyEnrolmentUnderRequired: under "mfa: required", the session limited to enrolment
// may register a passkey as its first factor (and nothing else beyond the TOTP routes); the
// registration ends that session, and the next sign-in asks for the passkey.
func TestPasskeyEnrolmentUnderRequired(t *testing.T) {
	pk := new(passkeys.Service)
	e := newEnv(t, func(c *httpapi.Config, _ *ratelimit.Policy) { c.Passkeys = pk })
	svc, err := passkeys.New(passkeys.Config{RPID: pkRPID, Origins: []string{pkOrigin}}, e.db, e.db, audit.NewLog(e.db, e.clock.Now), e.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	*pk = *svc
	e.enableMFA(accounts.MFARequired)

	r := e.do("POST", "/v1/signup", map[string]string{"email": "pkfirst@example.com", "password": goodPassword})
	r.wantError(t, http.StatusForbidden, "mfa_enrollment_required")
	limited := sessionCookie(t, r)

	// Passkeys that are not a second factor would not complete the enrolment: refused.
	e.do("POST", "/v1/passkeys/register/begin", nil, withCookie(limited)...).wantError(t, http.StatusForbidden, "mfa_enrollment_required")

	e.accounts.WithPasskeyFactor(pk)
	// Only registration is open to the limited session, not the rest of passkey management.
	e.do("GET", "/v1/passkeys", nil, withCookie(limited)...).wantError(t, http.StatusForbidden, "mfa_enrollment_required")
	e.do("POST", "/v1/session/step-up/passkey/begin", nil, withCookie(limited)...).wantError(t, http.StatusForbidden, "mfa_enrollment_required")

	a := passkeystest.New(pkRPID, pkOrigin)
	r = e.do("POST", "/v1/passkeys/register/begin", nil, withCookie(limited)...)
	r.wantStatus(t, http.StatusOK)
	r = e.do("POST", "/v1/passkeys/register/finish", string(must(a.Create(r.body))), withCookie(limited)...)
	r.wantStatus(t, http.StatusCreated)
	if c := sessionCookie(t, r); c.Value != "" || c.MaxAge >= 0 {
		t.Fatalf("the limited session's cookie was not cleared: %+v", c)
	}
	e.do("GET", "/v1/session", nil, withCookie(limited)...).wantError(t, http.StatusUnauthorized, "unauthorized")
	if ev, _ := e.db.ListEvents(context.Background(), audit.Filter{Type: audit.MFAEnrolled, Limit: 10}); len(ev) != 1 || ev[0].Reason != "passkey" {
		t.Fatalf("mfa.enrolled events %+v", ev)
	}

	// The next password sign-in asks for the passkey, which completes it.
	r = e.do("POST", "/v1/login", map[string]string{"email": "pkfirst@example.com", "password": goodPassword})
	r.wantError(t, http.StatusForbidden, "mfa_required")
	tok := r.json(t)["mfa_token"].(string)
	r = e.do("POST", "/v1/login/mfa/passkey/begin", map[string]string{"mfa_token": tok})
	r.wantStatus(t, http.StatusOK)
	r = e.do("POST", "/v1/login/mfa", map[string]any{"mfa_token": tok, "credential": json.RawMessage(must(a.Get(r.body)))})
	r.wantStatus(t, http.StatusOK)
	e.do("GET", "/v1/sessions", nil, withCookie(sessionCookie(t, r))...).wantStatus(t, http.StatusOK)
}

// TestAdminResetMFAPasskeys: the admin user object lists passkeys among the factors (no key
// material), the admin reset removes them with the other factors, and the passkey second
// factor has its own metrics.
func TestAdminResetMFAPasskeys(t *testing.T) {
	pk := new(passkeys.Service)
	e := newEnv(t, func(c *httpapi.Config, _ *ratelimit.Policy) { c.Passkeys = pk })
	svc, err := passkeys.New(passkeys.Config{RPID: pkRPID, Origins: []string{pkOrigin}}, e.db, e.db, audit.NewLog(e.db, e.clock.Now), e.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	*pk = *svc
	e.accounts.WithPasskeyFactor(pk)
	ck := e.signup("pkreset@example.com")
	id := userID(t, e, ck)
	a := passkeystest.New(pkRPID, pkOrigin)
	created := e.registerPasskey(ck, a, "laptop")

	r := e.do("GET", "/v1/admin/users/"+id, nil, asAdmin()...)
	r.wantStatus(t, http.StatusOK)
	var admin struct {
		MFA struct {
			TOTP     bool             `json:"totp"`
			Passkeys []map[string]any `json:"passkeys"`
		} `json:"mfa"`
	}
	if err := json.Unmarshal(r.body, &admin); err != nil || len(admin.MFA.Passkeys) != 1 ||
		admin.MFA.Passkeys[0]["id"] != created["id"] || admin.MFA.Passkeys[0]["name"] != "laptop" {
		t.Fatalf("admin user factors: %s", r.body)
	}
	for k := range admin.MFA.Passkeys[0] {
		if k == "public_key" || k == "credential_id" {
			t.Fatalf("admin user object shows %s: %s", k, r.body)
		}
	}

	// A passkey second factor: a wrong assertion, then the right one.
	tok := e.do("POST", "/v1/login", map[string]string{"email": "pkreset@example.com", "password": goodPassword}).json(t)["mfa_token"].(string)
	stranger := passkeystest.New(pkRPID, pkOrigin)
	stranger.CredID = a.CredID
	r = e.do("POST", "/v1/login/mfa/passkey/begin", map[string]string{"mfa_token": tok})
	e.do("POST", "/v1/login/mfa", map[string]any{"mfa_token": tok, "credential": json.RawMessage(must(stranger.Get(r.body)))}).
		wantError(t, http.StatusBadRequest, "invalid_code")
	r = e.do("POST", "/v1/login/mfa/passkey/begin", map[string]string{"mfa_token": tok})
	e.do("POST", "/v1/login/mfa", map[string]any{"mfa_token": tok, "credential": json.RawMessage(must(a.Get(r.body)))}).
		wantStatus(t, http.StatusOK)
	e.do("POST", "/v1/login/mfa/passkey/begin", map[string]string{"mfa_token": "made-up"}).wantError(t, http.StatusUnauthorized, "invalid_mfa_token")
	m := string(e.do("GET", "/metrics", nil).body)
	for _, want := range []string{
		`gatehouse_mfa_passkey_total{outcome="invalid_code",path="login"} 1`,
		`gatehouse_mfa_passkey_total{outcome="success",path="login"} 1`,
		`gatehouse_mfa_passkey_total{outcome="success",path="login_begin"} 2`,
		`gatehouse_mfa_passkey_total{outcome="invalid_token",path="login_begin"} 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s\n%s", want, metricLines(m))
		}
	}

	e.do("DELETE", "/v1/admin/users/"+id+"/mfa", nil, asAdmin()...).wantStatus(t, http.StatusNoContent)
	if r := e.do("GET", "/v1/admin/users/"+id, nil, asAdmin()...); !strings.Contains(string(r.body), `"mfa":{"totp":false,"recovery_codes":0,"passkeys":[]}`) {
		t.Fatalf("admin user after reset: %s", r.body)
	}
	// No factor left: the password alone signs in, and the passkey no longer does.
	e.login("pkreset@example.com")
	e.passkeyLogin(a, "").wantError(t, http.StatusUnauthorized, "passkey_invalid")
	ev, _ := e.db.ListEvents(context.Background(), audit.Filter{Type: passkeys.EventDeleted, Limit: 10})
	if len(ev) != 1 || ev[0].Actor != "admin" || ev[0].Reason != "mfa_reset" {
		t.Fatalf("passkey.deleted events %+v", ev)
	}
}
