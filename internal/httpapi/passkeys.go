package httpapi

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/mfa"
	"github.com/gatehouse-auth/gatehouse/internal/passkeys"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

// Passkeys (WebAuthn; docs/security.md "Passkeys"): registration and management need a
// session; a password-less sign-in answers exactly as POST /v1/login does.

const (
	codePasskeyInvalid  = "passkey_invalid"
	codePasskeyNotFound = "passkey_not_found"
	codePasskeyExists   = "passkey_exists"
)

// passkeyService returns the passkey service, or 404 when passkeys are not configured.
func (s *Server) passkeyService() (*passkeys.Service, error) {
	if s.cfg.Passkeys == nil {
		return nil, errorf(http.StatusNotFound, codeNotFound, "passkeys are not enabled on this server")
	}
	return s.cfg.Passkeys, nil
}

// passkeyError maps the passkeys package's errors; status is that of ErrInvalid (400 while
// registering, 401 at sign-in).
func passkeyError(err error, status int) error {
	switch {
	case errors.Is(err, passkeys.ErrInvalid):
		return &Error{Status: status, Code: codePasskeyInvalid, Description: "the passkey could not be verified; start again", Err: err}
	case errors.Is(err, passkeys.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: codePasskeyNotFound, Description: "no such passkey", Err: err}
	case errors.Is(err, passkeys.ErrConflict):
		return &Error{Status: http.StatusConflict, Code: codePasskeyExists, Description: "this passkey is registered already", Err: err}
	case errors.Is(err, passkeys.ErrBadName):
		return &Error{Status: http.StatusBadRequest, Code: codeInvalidRequest, Description: err.Error(), Err: err}
	}
	return err
}

// passkeyCaller is the signed-in user of a passkey management request.
func (s *Server) passkeyCaller(r *http.Request) (*passkeys.Service, *sessions.Session, *users.User, error) {
	return s.passkeyCallerOf(r, s.caller)
}

// passkeyRegistrant is the signed-in user of a passkey registration: a full session, or,
// when passkeys are a second factor, a session limited to enrolment (mfa: required), for
// which the passkey is the first factor.
func (s *Server) passkeyRegistrant(r *http.Request) (*passkeys.Service, *sessions.Session, *users.User, error) {
	return s.passkeyCallerOf(r, func(r *http.Request) (*sessions.Session, error) {
		sess, err := s.callerAny(r)
		if err != nil {
			return nil, err
		}
		return sess, s.cfg.Accounts.CanRegisterPasskey(sess)
	})
}

func (s *Server) passkeyCallerOf(r *http.Request, caller func(*http.Request) (*sessions.Session, error)) (*passkeys.Service, *sessions.Session, *users.User, error) {
	pk, err := s.passkeyService()
	if err != nil {
		return nil, nil, nil, err
	}
	sess, err := caller(r)
	if err != nil {
		return nil, nil, nil, err
	}
	u, err := s.cfg.Accounts.User(r.Context(), sess.UserID)
	if errors.Is(err, users.ErrNotFound) || (err == nil && u.Disabled) {
		return nil, nil, nil, sessions.ErrInvalid
	}
	if err != nil {
		return nil, nil, nil, err
	}
	return pk, sess, u, nil
}

// signInBinding binds a password-less challenge to the client that asked for it: its
// network (/24 or /48) and User-Agent, as an mfa_token is bound.
func (s *Server) signInBinding(r *http.Request) string {
	return "login\x00" + mfa.IPClass(s.cfg.Proxies.ClientIP(r)) + "\x00" + cleanHeader(r.UserAgent(), 512)
}

// registrationBinding binds a registration challenge to the session that asked for it.
func registrationBinding(sess *sessions.Session) string { return "register\x00" + sess.ID }

type passkeyJSON struct {
	ID             string     `json:"id"`
	Name           string     `json:"name"`
	CreatedAt      time.Time  `json:"created_at"`
	LastUsedAt     *time.Time `json:"last_used_at"`
	BackupEligible bool       `json:"backup_eligible"`
	BackupState    bool       `json:"backup_state"`
	Transports     []string   `json:"transports"`
	AAGUID         string     `json:"aaguid"`
	Attachment     string     `json:"attachment,omitempty"`
	AMR            string     `json:"amr"`
}

func toPasskeyJSON(p *passkeys.Passkey) passkeyJSON {
	out := passkeyJSON{ID: p.ID, Name: p.Name, CreatedAt: p.CreatedAt, BackupEligible: p.BackupEligible, BackupState: p.BackupState,
		Transports: p.Transports, Attachment: p.Attachment, AMR: p.AMR()}
	if !p.LastUsedAt.IsZero() {
		t := p.LastUsedAt
		out.LastUsedAt = &t
	}
	if out.Transports == nil {
		out.Transports = []string{}
	}
	if len(p.AAGUID) == 16 { // as a UUID (RFC 9562 §4)
		h := hex.EncodeToString(p.AAGUID)
		out.AAGUID = h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
	}
	return out
}

func (s *Server) passkeyRegisterBegin(w http.ResponseWriter, r *http.Request) error {
	if err := decodeJSON(w, r, &struct{}{}, true); err != nil {
		return err
	}
	pk, sess, u, err := s.passkeyRegistrant(r)
	if err != nil {
		return err
	}
	if err := s.cfg.Accounts.RequireRecent(sess); err != nil {
		return err
	}
	opts, err := pk.BeginRegistration(r.Context(), u.ID, u.Email, registrationBinding(sess))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, opts)
	return nil
}

// readCredential reads a body that is a PublicKeyCredential JSON object, with the checks
// decodeJSON makes (media type, size, UTF-8, duplicate or NUL member names) except the
// field list, which the WebAuthn parser owns.
func readCredential(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return nil, errorf(http.StatusUnsupportedMediaType, codeUnsupportedMedia, "request body must be application/json")
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return nil, jsonError(err, false)
	}
	if !utf8.Valid(data) {
		return nil, errorf(http.StatusBadRequest, codeInvalidRequest, "request body must be valid UTF-8")
	}
	if err := checkJSON(data, nil); err != nil {
		if me, ok := err.(*memberError); ok {
			return nil, errorf(http.StatusBadRequest, codeInvalidRequest, "%s", me.msg)
		}
		return nil, jsonError(err, false)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, errorf(http.StatusBadRequest, codeInvalidRequest, "request body must be a PublicKeyCredential JSON object")
	}
	return data, nil
}

func (s *Server) passkeyRegisterFinish(w http.ResponseWriter, r *http.Request) error {
	body, err := readCredential(w, r)
	if err != nil {
		return err
	}
	// The body is the browser's credential JSON; it may carry a "name" of our own beside
	// the WebAuthn members, which the WebAuthn parser ignores.
	var extra struct {
		Name *string `json:"name"`
	}
	if err := json.Unmarshal(body, &extra); err != nil {
		return errorf(http.StatusBadRequest, codeInvalidRequest, `field "name" must be a string`)
	}
	name := ""
	if extra.Name != nil {
		if name = *extra.Name; name == "" {
			return errorf(http.StatusBadRequest, codeInvalidRequest, `"name" must not be empty`)
		}
	}
	pk, sess, u, err := s.passkeyRegistrant(r)
	if err != nil {
		return err
	}
	p, err := pk.FinishRegistration(r.Context(), u.ID, registrationBinding(sess), name, body)
	if err != nil {
		return passkeyError(err, http.StatusBadRequest)
	}
	if err := s.cfg.Accounts.PasskeyRegistered(r.Context(), sess, s.client(r)); err != nil {
		return err
	}
	if sess.Purpose != "" {
		// The limited session ended with enrolment: the client signs in again, with MFA.
		http.SetCookie(w, s.sessionCookie("", time.Time{}))
	}
	writeJSON(w, http.StatusCreated, toPasskeyJSON(p))
	return nil
}

func (s *Server) listPasskeys(w http.ResponseWriter, r *http.Request) error {
	pk, _, u, err := s.passkeyCaller(r)
	if err != nil {
		return err
	}
	list, err := pk.List(r.Context(), u.ID)
	if err != nil {
		return err
	}
	out := make([]passkeyJSON, 0, len(list))
	for _, p := range list {
		out = append(out, toPasskeyJSON(p))
	}
	writeJSON(w, http.StatusOK, map[string]any{"passkeys": out})
	return nil
}

func (s *Server) renamePasskey(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := decodeJSON(w, r, &in, false); err != nil {
		return err
	}
	if err := required("name", in.Name); err != nil {
		return err
	}
	pk, _, u, err := s.passkeyCaller(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if !secret.ValidID(id) {
		return passkeyError(passkeys.ErrNotFound, 0)
	}
	if err := pk.Rename(r.Context(), u.ID, id, in.Name); err != nil {
		return passkeyError(err, 0)
	}
	list, err := pk.List(r.Context(), u.ID)
	if err != nil {
		return err
	}
	for _, p := range list {
		if p.ID == id {
			writeJSON(w, http.StatusOK, toPasskeyJSON(p))
			return nil
		}
	}
	return passkeyError(passkeys.ErrNotFound, 0) // deleted meanwhile
}

func (s *Server) deletePasskey(w http.ResponseWriter, r *http.Request) error {
	pk, sess, u, err := s.passkeyCaller(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if !secret.ValidID(id) {
		return passkeyError(passkeys.ErrNotFound, 0)
	}
	if err := s.cfg.Accounts.RequireRecent(sess); err != nil {
		return err
	}
	if err := pk.Delete(r.Context(), u.ID, id); err != nil {
		return passkeyError(err, 0)
	}
	writeJSON(w, http.StatusNoContent, nil)
	return nil
}

func (s *Server) passkeyLoginBegin(w http.ResponseWriter, r *http.Request) error {
	if err := decodeJSON(w, r, &struct{}{}, true); err != nil {
		return err
	}
	pk, err := s.passkeyService()
	if err != nil {
		return err
	}
	if err := s.cfg.Accounts.AdmitPasskeySignIn(r.Context(), s.client(r)); err != nil {
		var rl *accounts.RateLimitedError
		if errors.As(err, &rl) {
			s.cfg.Metrics.login(loginRateLimited)
		}
		return err
	}
	opts, err := pk.BeginLogin(r.Context(), s.signInBinding(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, opts)
	return nil
}

type passkeySignIn struct {
	Credential    json.RawMessage `json:"credential"`
	Delivery      string          `json:"delivery"`
	RefreshCookie bool            `json:"refresh_cookie"`
}

func (s *Server) passkeyLoginFinish(w http.ResponseWriter, r *http.Request) error {
	var in passkeySignIn
	if err := decodeJSON(w, r, &in, false); err != nil {
		return err
	}
	if len(in.Credential) == 0 || in.Credential[0] != '{' {
		return errorf(http.StatusBadRequest, codeInvalidRequest, `"credential" must be the PublicKeyCredential JSON object`)
	}
	// The delivery fields mean what they mean at POST /v1/login.
	cr := credentials{Email: "-", Password: "-", Delivery: in.Delivery, RefreshCookie: in.RefreshCookie}
	if err := cr.check(); err != nil {
		return err
	}
	pk, err := s.passkeyService()
	if err != nil {
		return err
	}
	res, err := s.cfg.Accounts.PasskeySignIn(r.Context(), pk, s.signInBinding(r), in.Credential, cr.client(s.client(r)))
	switch {
	case err == nil:
		s.cfg.Metrics.login(loginSuccess)
	case errors.Is(err, passkeys.ErrInvalid), errors.Is(err, accounts.ErrInvalidCredentials):
		s.cfg.Metrics.login(loginFailure)
		// A disabled account answers as a passkey that does not verify: nothing tells
		// whether the account behind a credential exists or is enabled.
		return passkeyError(errors.Join(passkeys.ErrInvalid, err), http.StatusUnauthorized)
	default:
		s.cfg.Metrics.login(loginError)
		return err
	}
	s.endPreviousSession(r)
	return s.deliver(w, r, &cr, res, http.StatusOK)
}
