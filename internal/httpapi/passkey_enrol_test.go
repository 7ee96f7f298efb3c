package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
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
