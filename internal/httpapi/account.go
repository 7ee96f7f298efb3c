package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

// Error codes of the email and self-service routes (docs/errors.md, docs/email.md);
// invalid_code and step_up_required are shared with the second factors (mfa.go).
const (
	codeEmailNotVerified  = "email_not_verified"
	codeInvalidToken      = "invalid_token"
	codeEmailUnavailable  = "email_unavailable"
	codeInvalidCurrentPwd = "invalid_current_password"
)

// accountError maps the errors of the email and self-service flows; nil for others.
func accountError(err error) *Error {
	var pe *accounts.ProfileError
	switch {
	case errors.As(err, &pe):
		return &Error{Status: http.StatusBadRequest, Code: codeInvalidRequest, Description: pe.Msg, Err: err}
	case errors.Is(err, accounts.ErrEmailNotVerified):
		return &Error{Status: http.StatusForbidden, Code: codeEmailNotVerified,
			Description: "verify your email address first: use the link or code we sent (POST /v1/email/verify), or ask for a new one", Err: err}
	case errors.Is(err, accounts.ErrInvalidToken):
		return &Error{Status: http.StatusBadRequest, Code: codeInvalidToken,
			Description: "this link is invalid, expired or already used; ask for a new one", Err: err}
	case errors.Is(err, accounts.ErrInvalidCode):
		return &Error{Status: http.StatusBadRequest, Code: codeInvalidCode,
			Description: "the code is wrong or expired (each code allows 5 tries); ask for a new one", Err: err}
	case errors.Is(err, accounts.ErrEmailUnavailable):
		return &Error{Status: http.StatusServiceUnavailable, Code: codeEmailUnavailable,
			Description: "this server cannot send email (no smtp_url is configured), so this operation is not available", Err: err}
	case errors.Is(err, accounts.ErrStepUpRequired):
		return &Error{Status: http.StatusForbidden, Code: codeStepUpRequired,
			Description: "this operation needs a sign-in from the last 10 minutes; sign in again (or step up) and retry", Err: err}
	case errors.Is(err, accounts.ErrCurrentPassword):
		return &Error{Status: http.StatusForbidden, Code: codeInvalidCurrentPwd, Description: "the current password is wrong", Err: err}
	}
	return nil
}

func (s *Server) accountRoutes() {
	s.handle("POST /v1/email/verify", s.verifyEmail)
	s.handle("POST /v1/email/verify/resend", s.resendVerification)
	s.handle("POST /v1/password/forgot", s.forgotPassword)
	s.handle("POST /v1/password/reset", s.resetPassword)
	s.handle("GET /v1/me", s.me)
	s.handle("PATCH /v1/me", s.patchMe)
	s.handle("DELETE /v1/me", s.deleteMe)
	s.handle("POST /v1/me/password", s.changePassword)
	s.handle("POST /v1/me/email", s.changeEmail)
	s.handle("GET /v1/me/export", s.exportMe)
	s.handle("POST /v1/login/email", s.requestEmailLogin)
	s.handle("POST /v1/login/email/verify", s.emailLogin)
}

// meJSON is the caller's own account: the user object plus the profile.
type meJSON struct {
	userJSON
	Name     string          `json:"name"`
	Locale   string          `json:"locale"`
	Picture  string          `json:"picture"`
	Metadata json.RawMessage `json:"metadata,omitempty"`
}

func toMe(u *users.User) *meJSON {
	if u == nil {
		return nil
	}
	m := &meJSON{userJSON: toUserJSON(u), Name: u.Name, Locale: u.Locale, Picture: u.Picture}
	if u.Metadata != "" {
		m.Metadata = json.RawMessage(u.Metadata)
	}
	return m
}

type accountsVerify struct {
	u *users.User
	o accounts.VerifyOutcome
}

type statusJSON struct {
	Status string  `json:"status"`
	User   *meJSON `json:"user,omitempty"`
}

func (s *Server) verifyEmail(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Token string `json:"token"`
		Code  string `json:"code"`
		Email string `json:"email"`
	}
	if err := decodeJSON(w, r, &in, false); err != nil {
		return err
	}
	c := s.client(r)
	var (
		res accountsVerify
		err error
	)
	switch {
	case in.Token != "" && in.Code == "" && in.Email == "":
		res.u, res.o, err = s.cfg.Accounts.VerifyEmail(r.Context(), in.Token, c)
	case in.Code != "" && in.Token == "" && in.Email != "":
		res.u, res.o, err = s.cfg.Accounts.VerifyEmailCodeFor(r.Context(), in.Email, in.Code, c)
	case in.Code != "" && in.Token == "":
		sess, cerr := s.caller(r)
		if cerr != nil {
			return cerr
		}
		res.u, res.o, err = s.cfg.Accounts.VerifyEmailCode(r.Context(), sess.UserID, in.Code, c)
	default:
		return errorf(http.StatusBadRequest, codeInvalidRequest, `send {"token"}, or {"code"} with a session, or {"email", "code"}`)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, statusJSON{Status: string(res.o), User: toMe(res.u)})
	return nil
}

func (s *Server) resendVerification(w http.ResponseWriter, r *http.Request) error {
	sess, err := s.caller(r)
	if err != nil {
		return err
	}
	sent, err := s.cfg.Accounts.ResendVerification(r.Context(), sess, s.client(r))
	if err != nil {
		return err
	}
	if !sent {
		writeJSON(w, http.StatusOK, statusJSON{Status: "already_verified"})
		return nil
	}
	writeJSON(w, http.StatusAccepted, statusJSON{Status: "sent"})
	return nil
}

// accepted is the one answer of the routes that must not tell whether an account exists.
var accepted = statusJSON{Status: "accepted"}

func (s *Server) forgotPassword(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email string `json:"email"`
	}
	if err := decodeJSON(w, r, &in, false); err != nil {
		return err
	}
	if err := required("email", in.Email); err != nil {
		return err
	}
	if err := s.cfg.Accounts.ForgotPassword(r.Context(), in.Email, s.client(r)); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, accepted)
	return nil
}

func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Token    string `json:"token"`
		Password string `json:"password"`
	}
	if err := decodeJSON(w, r, &in, false); err != nil {
		return err
	}
	if err := required("token", in.Token, "password", in.Password); err != nil {
		return err
	}
	if err := s.cfg.Accounts.ResetPassword(r.Context(), in.Token, in.Password, s.client(r)); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, statusJSON{Status: "password_reset"})
	return nil
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	sess, err := s.caller(r)
	if err != nil {
		return err
	}
	u, err := s.cfg.Accounts.Users().UserByID(r.Context(), sess.UserID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toMe(u))
	return nil
}

func (s *Server) patchMe(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name    *string `json:"name"`
		Locale  *string `json:"locale"`
		Picture *string `json:"picture"`
	}
	if err := decodeJSON(w, r, &in, false); err != nil {
		return err
	}
	sess, err := s.caller(r)
	if err != nil {
		return err
	}
	u, err := s.cfg.Accounts.UpdateProfile(r.Context(), sess, accounts.ProfilePatch{Name: in.Name, Locale: in.Locale, Picture: in.Picture}, s.client(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toMe(u))
	return nil
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		CurrentPassword string `json:"current_password"`
		Password        string `json:"password"`
	}
	if err := decodeJSON(w, r, &in, false); err != nil {
		return err
	}
	if err := required("password", in.Password); err != nil {
		return err
	}
	sess, err := s.caller(r)
	if err != nil {
		return err
	}
	if err := s.cfg.Accounts.ChangePassword(r.Context(), sess, in.CurrentPassword, in.Password, s.client(r)); err != nil {
		return err
	}
	writeJSON(w, http.StatusNoContent, nil)
	return nil
}

func (s *Server) changeEmail(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email string `json:"email"`
	}
	if err := decodeJSON(w, r, &in, false); err != nil {
		return err
	}
	if err := required("email", in.Email); err != nil {
		return err
	}
	sess, err := s.caller(r)
	if err != nil {
		return err
	}
	if err := s.cfg.Accounts.ChangeEmail(r.Context(), sess, in.Email, s.client(r)); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, statusJSON{Status: "verification_sent"})
	return nil
}

func (s *Server) deleteMe(w http.ResponseWriter, r *http.Request) error {
	sess, err := s.caller(r)
	if err != nil {
		return err
	}
	if err := s.cfg.Accounts.DeleteAccount(r.Context(), sess, s.client(r)); err != nil {
		return err
	}
	http.SetCookie(w, s.sessionCookie("", time.Time{}))
	if _, err := r.Cookie(s.refreshCookie); err == nil {
		http.SetCookie(w, s.makeRefreshCookie("", time.Time{}))
	}
	writeJSON(w, http.StatusNoContent, nil)
	return nil
}

func (s *Server) exportMe(w http.ResponseWriter, r *http.Request) error {
	sess, err := s.caller(r)
	if err != nil {
		return err
	}
	return s.writeExport(w, r, sess)
}

// writeExport writes the data of sess's user (GET /v1/me/export and the account page).
func (s *Server) writeExport(w http.ResponseWriter, r *http.Request, sess *sessions.Session) error {
	x, err := s.cfg.Accounts.ExportAccount(r.Context(), sess)
	if err != nil {
		return err
	}
	out := struct {
		User     *meJSON       `json:"user"`
		Sessions []sessionJSON `json:"sessions"`
		Events   []eventJSON   `json:"events"`
	}{User: toMe(x.User), Sessions: []sessionJSON{}, Events: []eventJSON{}}
	for _, ss := range x.Sessions {
		out.Sessions = append(out.Sessions, s.toSessionJSON(ss, sess.ID))
	}
	for _, e := range x.Events {
		out.Events = append(out.Events, toEventJSON(e))
	}
	w.Header().Set("Content-Disposition", `attachment; filename="gatehouse-export.json"`)
	writeJSON(w, http.StatusOK, out)
	return nil
}

func toEventJSON(e *audit.Event) eventJSON {
	return eventJSON{ID: e.ID, Type: e.Type, Time: e.Time.UTC().Format("2006-01-02T15:04:05.000000Z07:00"), UserID: e.UserID,
		SessionID: e.SessionID, Actor: e.Actor, IP: e.IP, UserAgent: e.UserAgent, Outcome: e.Outcome, Reason: e.Reason}
}

// errEmailLoginOff answers the email sign-in routes when email_login is off.
var errEmailLoginOff = errorf(http.StatusNotFound, codeNotFound, "email sign-in is not enabled on this server (email_login)")

func (s *Server) requestEmailLogin(w http.ResponseWriter, r *http.Request) error {
	if !s.cfg.Accounts.EmailLoginEnabled() {
		return errEmailLoginOff
	}
	var in struct {
		Email string `json:"email"`
	}
	if err := decodeJSON(w, r, &in, false); err != nil {
		return err
	}
	if err := required("email", in.Email); err != nil {
		return err
	}
	if err := s.cfg.Accounts.RequestEmailLogin(r.Context(), in.Email, s.client(r)); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, accepted)
	return nil
}

func (s *Server) emailLogin(w http.ResponseWriter, r *http.Request) error {
	if !s.cfg.Accounts.EmailLoginEnabled() {
		return errEmailLoginOff
	}
	var in struct {
		Email         string `json:"email"`
		Code          string `json:"code"`
		Delivery      string `json:"delivery"`
		RefreshCookie bool   `json:"refresh_cookie"`
	}
	if err := decodeJSON(w, r, &in, false); err != nil {
		return err
	}
	if err := required("email", in.Email, "code", in.Code); err != nil {
		return err
	}
	cr := credentials{Email: in.Email, Password: "-", Delivery: in.Delivery, RefreshCookie: in.RefreshCookie}
	if err := cr.check(); err != nil {
		return err
	}
	res, err := s.cfg.Accounts.EmailLogin(r.Context(), in.Email, in.Code, cr.client(s.client(r)))
	if err != nil {
		return err
	}
	s.endPreviousSession(r)
	return s.deliver(w, r, &cr, res, http.StatusOK)
}

// maxMetadata bounds an account's administrator metadata.
const maxMetadata = 16 << 10

// adminMetadata checks the metadata member of an admin update: absent (nil: unchanged), null
// or {} (clear), or a JSON object of at most maxMetadata bytes, stored compacted.
func adminMetadata(raw json.RawMessage) (*string, error) {
	if raw == nil {
		return nil, nil
	}
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, errorf(http.StatusBadRequest, codeInvalidRequest, "metadata must be a JSON object or null")
	}
	out := ""
	if len(obj) > 0 {
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err != nil {
			return nil, errorf(http.StatusBadRequest, codeInvalidRequest, "metadata must be a JSON object or null")
		}
		if b.Len() > maxMetadata {
			return nil, errorf(http.StatusBadRequest, codeInvalidRequest, "metadata must be at most %d bytes", maxMetadata)
		}
		out = b.String()
	}
	return &out, nil
}
