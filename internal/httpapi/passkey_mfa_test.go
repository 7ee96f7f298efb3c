package httpapi_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi"
	"github.com/gatehouse-auth/gatehouse/internal/passkeys"
	"github.com/gatehouse-auth/gatehouse/internal/passkeys/passkeystest"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
)

// TestPasskeySecondFactorHTTP: password, then a passkey as the second factor; then a passkey
// step-up; wrong assertions answer invalid_code.
func TestPasskeySecondFactorHTTP(t *testing.T) {
	pk := new(passkeys.Service)
	e := newEnv(t, func(c *httpapi.Config, _ *ratelimit.Policy) { c.Passkeys = pk })
	svc, err := passkeys.New(passkeys.Config{RPID: pkRPID, Origins: []string{pkOrigin}}, e.db, e.db, audit.NewLog(e.db, e.clock.Now), e.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	*pk = *svc
	e.accounts.WithPasskeyFactor(pk)
	ck := e.signup("pk2fa@example.com")
	a := passkeystest.New(pkRPID, pkOrigin)
	e.registerPasskey(ck, a, "")

	r := e.do("POST", "/v1/login", map[string]string{"email": "pk2fa@example.com", "password": goodPassword})
	r.wantStatus(t, http.StatusForbidden)
	m := r.json(t)
	if m["error"] != "mfa_required" || len(m["methods"].([]any)) != 1 || m["methods"].([]any)[0] != "passkey" {
		t.Fatalf("first step %v", m)
	}
	tok := m["mfa_token"].(string)

	// Made-up token: 401. Options for the real one name the user's credential.
	e.do("POST", "/v1/login/mfa/passkey/begin", map[string]string{"mfa_token": "x"}).wantError(t, http.StatusUnauthorized, "invalid_mfa_token")
	r = e.do("POST", "/v1/login/mfa/passkey/begin", map[string]string{"mfa_token": tok})
	r.wantStatus(t, http.StatusOK)
	var opts struct {
		PublicKey struct {
			Allow []any `json:"allowCredentials"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(r.body, &opts); err != nil || len(opts.PublicKey.Allow) != 1 {
		t.Fatalf("options %s", r.body)
	}
	// Another authenticator's answer is a wrong factor.
	stranger := passkeystest.New(pkRPID, pkOrigin)
	stranger.CredID = a.CredID
	e.do("POST", "/v1/login/mfa", map[string]any{"mfa_token": tok, "credential": json.RawMessage(must(stranger.Get(r.body)))}).
		wantError(t, http.StatusBadRequest, "invalid_code")

	r = e.do("POST", "/v1/login/mfa/passkey/begin", map[string]string{"mfa_token": tok})
	r.wantStatus(t, http.StatusOK)
	r = e.do("POST", "/v1/login/mfa", map[string]any{"mfa_token": tok, "credential": json.RawMessage(must(a.Get(r.body)))})
	r.wantStatus(t, http.StatusOK)
	sess := r.json(t)["session"].(map[string]any)
	if string(mustJSON(sess["amr"])) != `["pwd","hwk","mfa"]` {
		t.Fatalf("amr %v", sess["amr"])
	}
	ck2 := sessionCookie(t, r)

	// Step-up with the passkey: a new session.
	r = e.do("POST", "/v1/session/step-up/passkey/begin", nil, withCookie(ck2)...)
	r.wantStatus(t, http.StatusOK)
	r = e.do("POST", "/v1/session/step-up", map[string]any{"credential": json.RawMessage(must(a.Get(r.body)))}, withCookie(ck2)...)
	r.wantStatus(t, http.StatusOK)
	if c := sessionCookie(t, r); c.Value == ck2.Value {
		t.Fatal("step-up kept the session")
	}
	e.do("POST", "/v1/session/step-up/passkey/begin", nil).wantError(t, http.StatusUnauthorized, "unauthorized")
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
