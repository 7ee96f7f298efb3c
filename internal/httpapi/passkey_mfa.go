package httpapi

import (
	"net/http"
)

// A passkey as the second factor (internal/accounts/passkey_mfa.go): each begin route answers
// WebAuthn request options for the user's own passkeys; the assertion the browser makes from
// them goes to the usual second step as "credential" (POST /v1/login/mfa or
// /v1/session/step-up).

func (s *Server) passkeyMFARoutes() {
	s.handle("POST /v1/login/mfa/passkey/begin", s.loginMFAPasskeyBegin)
	s.handle("POST /v1/session/step-up/passkey/begin", s.stepUpPasskeyBegin)
}

// loginMFAPasskeyBegin answers request options bound to the mfa_token. The token must be
// presented as at POST /v1/login/mfa: same network, user agent and delivery as the first step.
func (s *Server) loginMFAPasskeyBegin(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		MFAToken string `json:"mfa_token"`
		Delivery string `json:"delivery"`
	}
	if err := decodeJSON(w, r, &in, false); err != nil {
		return err
	}
	if err := required("mfa_token", in.MFAToken); err != nil {
		return err
	}
	// Each begin stores a challenge: bounded per address like the second step itself.
	if err := s.allow(r, "login_mfa", loginMFALimit); err != nil {
		return err
	}
	cred := credentials{Delivery: in.Delivery, Email: "-", Password: "-"}
	if err := cred.check(); err != nil {
		return err
	}
	opts, err := s.cfg.Accounts.BeginMFAPasskey(r.Context(), in.MFAToken, cred.client(s.client(r)))
	s.cfg.Metrics.mfaPasskeyEvent("login_begin", mfaOutcome(err))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, opts)
	return nil
}

// stepUpPasskeyBegin answers request options bound to the caller's session.
func (s *Server) stepUpPasskeyBegin(w http.ResponseWriter, r *http.Request) error {
	if err := decodeJSON(w, r, &struct{}{}, true); err != nil {
		return err
	}
	sess, err := s.caller(r)
	if err != nil {
		return err
	}
	opts, err := s.cfg.Accounts.BeginStepUpPasskey(r.Context(), sess)
	s.cfg.Metrics.mfaPasskeyEvent("step_up_begin", mfaOutcome(err))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, opts)
	return nil
}
