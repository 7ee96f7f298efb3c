package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/mfa"
)

// TestScopeAcrossTheSecondStep: a sign-in that needs a second factor asks for its scope at
// the second step (like its delivery), and gets the granted part of it.
func TestScopeAcrossTheSecondStep(t *testing.T) {
	e := newEnv(t)
	e.enableMFA(accounts.MFAOptional)
	ck := e.signup("scoped@example.com")
	seed, _ := e.enrolHTTP(ck)
	e.do("POST", "/v1/admin/roles", map[string]any{"name": "writer", "scopes": []string{"orders:write"}}, asAdmin()...).wantStatus(t, http.StatusCreated)
	e.do("PUT", "/v1/admin/users/"+userID(t, e, ck)+"/roles", map[string]any{"roles": []string{"writer"}}, asAdmin()...).wantStatus(t, http.StatusOK)

	r := e.do("POST", "/v1/login", map[string]any{"email": "scoped@example.com", "password": goodPassword, "delivery": "token", "scope": "orders:write"})
	r.wantError(t, http.StatusForbidden, "mfa_required")
	tok := r.json(t)["mfa_token"].(string)
	r = e.do("POST", "/v1/login/mfa", map[string]any{"mfa_token": tok, "code": mfa.Code(seed, e.clock.Now()), "delivery": "token", "scope": "orders:write admin:all"})
	r.wantStatus(t, http.StatusOK)
	m := r.json(t)
	if m["scope"] != "openid orders:write" {
		t.Fatalf("scope after the second step: %v", m["scope"])
	}
	c, _, err := e.tokens.VerifyAccess(t.Context(), m["access_token"].(string))
	if err != nil || c.Scope != "openid orders:write" {
		t.Fatalf("access token scope claim: %+v %v", c, err)
	}
}
