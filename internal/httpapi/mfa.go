package httpapi

import (
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/mfa"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
)

// Second factors, step-up and the MFA policies (docs/security.md "Second factors").

// DeviceCookie is the long-lived device cookie of the adaptive MFA policy: a random device
// id signed for the user who signed in with it (never a secret of the session).
const DeviceCookie = "__Host-gh_device"

const devDeviceCookie = "gh_device"

// deviceCookieTTL is how long a browser stays a known device without signing in.
const deviceCookieTTL = 400 * 24 * time.Hour // the longest lifetime browsers allow

// Error codes of second factors.
const (
	codeMFARequired       = "mfa_required"
	codeEnrolmentRequired = "mfa_enrollment_required"
	codeInvalidMFAToken   = "invalid_mfa_token"
	codeInvalidCode       = "invalid_code"
	codeStepUpRequired    = "step_up_required"
	codeNotEnrolled       = "mfa_not_enrolled"
	codeAlreadyEnrolled   = "mfa_already_enrolled"
)

// mfaError maps the errors of second factors; nil when err is not one of them.
func mfaError(err error) *Error {
	switch {
	case errors.Is(err, accounts.ErrMFAToken):
		return &Error{Status: http.StatusUnauthorized, Code: codeInvalidMFAToken, Description: "the mfa_token is invalid, expired or used up; sign in again", Err: err}
	case errors.Is(err, mfa.ErrInvalidCode), errors.Is(err, mfa.ErrMalformedCode):
		return &Error{Status: http.StatusBadRequest, Code: codeInvalidCode, Description: "the code is wrong, expired or already used", Err: err}
	case errors.Is(err, accounts.ErrStepUpRequired):
		return &Error{Status: http.StatusForbidden, Code: codeStepUpRequired, Description: "sign in again with a second factor (POST /v1/session/step-up) first", Err: err}
	case errors.Is(err, accounts.ErrEnrolmentOnly):
		return &Error{Status: http.StatusForbidden, Code: codeEnrolmentRequired, Description: "enrol a second factor first; this session may only do that", Err: err}
	case errors.Is(err, accounts.ErrNoProof):
		return &Error{Status: http.StatusBadRequest, Code: codeInvalidRequest, Description: err.Error(), Err: err}
	case errors.Is(err, mfa.ErrNotEnrolled):
		return &Error{Status: http.StatusNotFound, Code: codeNotEnrolled, Description: "no such second factor (or its enrolment expired)", Err: err}
	case errors.Is(err, mfa.ErrAlreadyEnrolled):
		return &Error{Status: http.StatusConflict, Code: codeAlreadyEnrolled, Description: "an authenticator app is already enrolled; remove it first", Err: err}
	}
	return nil
}

func (s *Server) mfaRoutes() {
	s.handle("POST /v1/login/mfa", s.loginMFA)
	s.handle("POST /v1/session/step-up", s.stepUp)
	s.handle("GET /v1/mfa", s.mfaStatus)
	s.handle("POST /v1/mfa/totp", s.enrolTOTP)
	s.handle("POST /v1/mfa/totp/confirm", s.confirmTOTP)
	s.handle("DELETE /v1/mfa/totp", s.removeTOTP)
	s.handle("POST /v1/mfa/recovery-codes", s.newRecoveryCodes)
	s.handle("DELETE /v1/admin/users/{id}/mfa", s.admin(s.adminResetMFA))
}

// mfaCounter counts second-factor events by path and outcome (gatehouse_mfa_total).
func (m *Metrics) mfaEvent(path, outcome string) { m.mfa.WithLabelValues(path, outcome).Inc() }

// mfaPasskeyEvent counts a passkey second factor (gatehouse_mfa_passkey_total).
func (m *Metrics) mfaPasskeyEvent(path, outcome string) {
	m.mfaPasskey.WithLabelValues(path, outcome).Inc()
}

// loginSecondStep is the gatehouse_logins_total outcome of a right password that needs a
// second factor or enrolment (mfa_required, mfa_enrollment_required).
const loginSecondStep = "second_step"

func isSecondStep(err error) bool {
	return errors.As(err, new(*accounts.MFARequiredError)) || errors.As(err, new(*accounts.EnrolmentRequiredError))
}

// mfaOutcome names err for the metrics.
func mfaOutcome(err error) string {
	var rl *accounts.RateLimitedError
	switch {
	case err == nil:
		return "success"
	case errors.As(err, &rl):
		return "rate_limited"
	case errors.Is(err, accounts.ErrMFAToken):
		return "invalid_token"
	case errors.Is(err, mfa.ErrInvalidCode), errors.Is(err, accounts.ErrNoProof):
		return "invalid_code"
	case errors.Is(err, mfa.ErrNotEnrolled):
		return "not_enrolled" // a passkey begin for a user without one
	default:
		return "error"
	}
}

// answerSignIn writes the answers of a correct password that are not a session: 403
// mfa_required with the mfa_token, or 403 mfa_enrollment_required with a session limited to
// enrolment. It reports false for other errors.
func (s *Server) answerSignIn(w http.ResponseWriter, in *credentials, err error) bool {
	var mr *accounts.MFARequiredError
	var er *accounts.EnrolmentRequiredError
	switch {
	case errors.As(err, &mr):
		s.cfg.Metrics.mfaEvent("login", "challenged")
		writeJSON(w, http.StatusForbidden, struct {
			Error       string   `json:"error"`
			Description string   `json:"error_description"`
			MFAToken    string   `json:"mfa_token"`
			Methods     []string `json:"methods"`
			ExpiresIn   int      `json:"expires_in"`
		}{codeMFARequired, "a second factor is required: POST /v1/login/mfa", string(mr.Token), mr.Methods, int(mfa.ChallengeTTL.Seconds())})
		return true
	case errors.As(err, &er):
		s.cfg.Metrics.mfaEvent("login", "enrolment_required")
		res := er.Result
		body := struct {
			Error        string      `json:"error"`
			Description  string      `json:"error_description"`
			User         userJSON    `json:"user"`
			Session      sessionJSON `json:"session"`
			SessionToken string      `json:"session_token,omitempty"`
		}{Error: codeEnrolmentRequired, Description: "enrol a second factor (POST /v1/mfa/totp), then sign in again",
			User: toUserJSON(res.User), Session: s.toSessionJSON(res.Session, "")}
		if in.Delivery == "token" {
			body.SessionToken = string(res.Token) // a bearer for /v1/mfa/* and /v1/session only
		} else {
			http.SetCookie(w, s.sessionCookie(string(res.Token), res.Session.ExpiresAt))
		}
		writeJSON(w, http.StatusForbidden, body)
		return true
	}
	return false
}

// setDeviceCookie sets the device cookie a sign-in returned.
func (s *Server) setDeviceCookie(w http.ResponseWriter, res *accounts.Result) {
	if res.Device == "" {
		return
	}
	name := DeviceCookie
	if s.cfg.InsecureDevCookies {
		name = devDeviceCookie
	}
	http.SetCookie(w, &http.Cookie{Name: name, Value: res.Device, Path: "/", Secure: !s.cfg.InsecureDevCookies, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: int(deviceCookieTTL.Seconds())})
}

func (s *Server) deviceCookieName() string {
	if s.cfg.InsecureDevCookies {
		return devDeviceCookie
	}
	return DeviceCookie
}

// proofIn is a second factor in a request body.
type proofIn struct {
	Code         string   `json:"code"`
	RecoveryCode string   `json:"recovery_code"`
	Credential   jsonBlob `json:"credential"`
}

func (p proofIn) proof() accounts.Proof {
	return accounts.Proof{Code: p.Code, RecoveryCode: p.RecoveryCode, Credential: p.Credential}
}

// jsonBlob keeps a JSON value as it came (a WebAuthn credential, for the passkey factor).
type jsonBlob []byte

func (b *jsonBlob) UnmarshalJSON(v []byte) error {
	if string(v) != "null" {
		*b = append((*b)[:0], v...)
	}
	return nil
}

// loginMFALimit bounds second-step attempts per client address.
var loginMFALimit = ratelimit.Limit{Burst: 30, Per: time.Second}

func (s *Server) loginMFA(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		MFAToken string `json:"mfa_token"`
		proofIn
		Delivery      string `json:"delivery"`
		RefreshCookie bool   `json:"refresh_cookie"`
		Scope         string `json:"scope"`
	}
	if err := decodeJSON(w, r, &in, false); err != nil {
		return err
	}
	if err := required("mfa_token", in.MFAToken); err != nil {
		return err
	}
	// Guessing is bounded per user; this bounds what one address can make the server do
	// with made-up tokens (each costs a store read).
	if err := s.allow(r, "login_mfa", loginMFALimit); err != nil {
		return err
	}
	cred := credentials{Delivery: in.Delivery, RefreshCookie: in.RefreshCookie, Scope: in.Scope, Email: "-", Password: "-"}
	if err := cred.check(); err != nil {
		return err
	}
	res, err := s.cfg.Accounts.LoginMFA(r.Context(), in.MFAToken, in.proof(), cred.client(s.client(r)))
	s.cfg.Metrics.mfaEvent("login", mfaOutcome(err))
	if len(in.Credential) > 0 {
		s.cfg.Metrics.mfaPasskeyEvent("login", mfaOutcome(err))
	}
	if err != nil {
		return err
	}
	cred.RefreshCookie = res.RefreshCookie // as the first step asked
	s.endPreviousSession(r)
	return s.deliver(w, r, &cred, res, http.StatusOK)
}

// stepUp replaces the caller's session with a stronger one, in the delivery it has: tokens
// when the session has a refresh token (in the cookie if the request carried it), else the
// session cookie.
func (s *Server) stepUp(w http.ResponseWriter, r *http.Request) error {
	var in proofIn
	if err := decodeJSON(w, r, &in, false); err != nil {
		return err
	}
	sess, err := s.caller(r)
	if err != nil {
		return err
	}
	cred := credentials{Delivery: "cookie"}
	if sess.Refresh.Gen > 0 {
		cred.Delivery = "token"
		if c, err := r.Cookie(s.refreshCookie); err == nil && c.Value != "" {
			cred.RefreshCookie = true
		}
	}
	res, err := s.cfg.Accounts.StepUp(r.Context(), sess, in.proof(), cred.client(s.client(r)))
	s.cfg.Metrics.mfaEvent("step_up", mfaOutcome(err))
	if len(in.Credential) > 0 {
		s.cfg.Metrics.mfaPasskeyEvent("step_up", mfaOutcome(err))
	}
	if err != nil {
		return err
	}
	return s.deliver(w, r, &cred, res, http.StatusOK)
}

type mfaStatusJSON struct {
	TOTP          bool       `json:"totp"`
	TOTPPending   bool       `json:"totp_pending"`
	TOTPSince     *time.Time `json:"totp_since,omitempty"`
	RecoveryCodes int        `json:"recovery_codes"`
}

func toMFAStatusJSON(st mfa.Status) mfaStatusJSON {
	out := mfaStatusJSON{TOTP: st.TOTP, TOTPPending: st.TOTPPending, RecoveryCodes: st.RecoveryCodes}
	if !st.TOTPSince.IsZero() {
		out.TOTPSince = &st.TOTPSince
	}
	return out
}

func (s *Server) mfaStatus(w http.ResponseWriter, r *http.Request) error {
	sess, err := s.callerAny(r)
	if err != nil {
		return err
	}
	st, err := s.cfg.Accounts.MFAStatus(r.Context(), sess.UserID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toMFAStatusJSON(st))
	return nil
}

func (s *Server) enrolTOTP(w http.ResponseWriter, r *http.Request) error {
	if err := decodeJSON(w, r, &struct{}{}, true); err != nil {
		return err
	}
	sess, err := s.callerAny(r)
	if err != nil {
		return err
	}
	e, err := s.cfg.Accounts.EnrolTOTP(r.Context(), sess)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"secret": string(e.Secret), "otpauth_uri": string(e.URI), "qr": string(e.QR),
		"expires_in": int(mfa.PendingFor.Seconds())})
	return nil
}

func (s *Server) confirmTOTP(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Code string `json:"code"`
	}
	if err := decodeJSON(w, r, &in, false); err != nil {
		return err
	}
	if err := required("code", in.Code); err != nil {
		return err
	}
	sess, err := s.callerAny(r)
	if err != nil {
		return err
	}
	codes, err := s.cfg.Accounts.ConfirmTOTP(r.Context(), sess, in.Code, s.client(r))
	if err != nil {
		return err
	}
	if sess.Purpose != "" {
		// The limited session ended with enrolment: the client signs in again, with MFA.
		http.SetCookie(w, s.sessionCookie("", time.Time{}))
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"recovery_codes": codes})
	return nil
}

func (s *Server) removeTOTP(w http.ResponseWriter, r *http.Request) error {
	sess, err := s.caller(r)
	if err != nil {
		return err
	}
	if err := s.cfg.Accounts.RemoveTOTP(r.Context(), sess, s.client(r)); err != nil {
		return err
	}
	writeJSON(w, http.StatusNoContent, nil)
	return nil
}

func (s *Server) newRecoveryCodes(w http.ResponseWriter, r *http.Request) error {
	if err := decodeJSON(w, r, &struct{}{}, true); err != nil {
		return err
	}
	sess, err := s.caller(r)
	if err != nil {
		return err
	}
	codes, err := s.cfg.Accounts.RegenerateRecoveryCodes(r.Context(), sess, s.client(r))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"recovery_codes": codes})
	return nil
}

func (s *Server) adminResetMFA(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUser(r)
	if err != nil {
		return err
	}
	if err := s.cfg.Accounts.ResetMFA(r.Context(), id, s.client(r)); err != nil {
		return err
	}
	writeJSON(w, http.StatusNoContent, nil)
	return nil
}

// adminUserMFA is the mfa member of the admin user object: which factors are enrolled, never
// their secrets. Passkeys are listed when passkeys are enabled (they are a second factor then).
type adminUserMFA struct {
	TOTP          bool           `json:"totp"`
	RecoveryCodes int            `json:"recovery_codes"`
	Passkeys      *[]passkeyJSON `json:"passkeys,omitempty"`
}

// adminUserFactors is the mfa member of the admin user object of userID.
func (s *Server) adminUserFactors(r *http.Request, userID string) (adminUserMFA, error) {
	st, err := s.cfg.Accounts.MFAStatus(r.Context(), userID)
	if err != nil {
		return adminUserMFA{}, err
	}
	out := adminUserMFA{TOTP: st.TOTP, RecoveryCodes: st.RecoveryCodes}
	if s.cfg.Passkeys != nil {
		list, err := s.cfg.Passkeys.List(r.Context(), userID)
		if err != nil {
			return adminUserMFA{}, err
		}
		pks := make([]passkeyJSON, 0, len(list))
		for _, p := range list {
			pks = append(pks, toPasskeyJSON(p))
		}
		out.Passkeys = &pks
	}
	return out, nil
}

// callerAny is caller that also accepts a session limited to enrolment.
func (s *Server) callerAny(r *http.Request) (*sessions.Session, error) { return s.callerSession(r) }
