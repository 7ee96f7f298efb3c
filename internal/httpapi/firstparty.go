package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
	"github.com/gatehouse-auth/gatehouse/internal/tokens"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

type credentials struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Delivery string `json:"delivery"`
	// RefreshCookie (token delivery only) puts the refresh token in an HttpOnly cookie
	// instead of the body: for browser apps, which keep the access token in memory.
	RefreshCookie bool `json:"refresh_cookie"`
	// Scope (token delivery only) asks for scopes the user's roles may grant (docs/roles.md).
	Scope string `json:"scope"`
}

func (c *credentials) check() error {
	if err := required("email", c.Email, "password", c.Password); err != nil {
		return err
	}
	if err := checkAskedScope(c.Scope, c.Delivery); err != nil {
		return err
	}
	if c.RefreshCookie && c.Delivery != "token" {
		return errorf(http.StatusBadRequest, codeInvalidRequest, `refresh_cookie needs "delivery": "token"`)
	}
	switch c.Delivery {
	case "", "cookie", "token":
		return nil
	default:
		return errorf(http.StatusBadRequest, codeInvalidRequest, `delivery must be "cookie" or "token"`)
	}
}

func (c *credentials) client(base accounts.Client) accounts.Client {
	if c.Delivery == "token" {
		base.Delivery = accounts.DeliverTokens
		base.RefreshCookie = c.RefreshCookie
		base.Scope = c.Scope
	}
	return base
}

// deliver answers a successful sign-in the way the client asked.
func (s *Server) deliver(w http.ResponseWriter, r *http.Request, in *credentials, res *accounts.Result, status int) error {
	s.setDeviceCookie(w, res)
	if in.Delivery == "token" {
		return s.deliverTokens(w, r, res, status, in.RefreshCookie)
	}
	s.deliverSession(w, res, status)
	return nil
}

type userJSON struct {
	ID            string    `json:"id"`
	Email         string    `json:"email"`
	EmailVerified bool      `json:"email_verified"`
	Disabled      bool      `json:"disabled"`
	HasPassword   bool      `json:"has_password"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

func toUserJSON(u *users.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, EmailVerified: u.EmailVerified, Disabled: u.Disabled,
		HasPassword: u.PasswordHash != "", CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
}

type sessionJSON struct {
	ID            string    `json:"id"`
	CreatedAt     time.Time `json:"created_at"`
	LastSeenAt    time.Time `json:"last_seen_at"`
	ExpiresAt     time.Time `json:"expires_at"`
	IdleExpiresAt time.Time `json:"idle_expires_at"`
	AuthTime      time.Time `json:"auth_time"`
	AMR           []string  `json:"amr"`
	IP            string    `json:"ip"`
	UserAgent     string    `json:"user_agent"`
	Current       bool      `json:"current,omitempty"`
}

func (s *Server) toSessionJSON(ss *sessions.Session, currentID string) sessionJSON {
	amr := ss.AMR
	if amr == nil {
		amr = []string{}
	}
	return sessionJSON{ID: ss.ID, CreatedAt: ss.CreatedAt, LastSeenAt: ss.LastSeenAt, ExpiresAt: ss.ExpiresAt,
		IdleExpiresAt: ss.IdleExpiresAt(s.cfg.Sessions.Config().IdleTimeout), AuthTime: ss.AuthTime,
		AMR: amr, IP: ss.IP, UserAgent: ss.UserAgent, Current: ss.ID == currentID}
}

type signedIn struct {
	User    userJSON    `json:"user"`
	Session sessionJSON `json:"session"`
}

func (s *Server) signup(w http.ResponseWriter, r *http.Request) error {
	var in credentials
	if err := decodeJSON(w, r, &in, false); err != nil {
		return err
	}
	if err := in.check(); err != nil {
		return err
	}
	res, err := s.cfg.Accounts.Signup(r.Context(), in.Email, in.Password, in.client(s.client(r)))
	if s.answerSignIn(w, &in, err) {
		return nil
	}
	if err != nil {
		return err
	}
	s.endPreviousSession(r)
	return s.deliver(w, r, &in, res, http.StatusCreated)
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var in credentials
	if err := decodeJSON(w, r, &in, false); err != nil {
		return err
	}
	if err := in.check(); err != nil {
		return err
	}
	res, err := s.cfg.Accounts.Login(r.Context(), in.Email, in.Password, in.client(s.client(r)))
	s.countLogin(err)
	if s.answerSignIn(w, &in, err) {
		return nil
	}
	if err != nil {
		return err
	}
	s.endPreviousSession(r)
	return s.deliver(w, r, &in, res, http.StatusOK)
}

// countLogin counts a password sign-in's outcome (gatehouse_logins_total).
func (s *Server) countLogin(err error) {
	var rl *accounts.RateLimitedError
	switch {
	case err == nil:
		s.cfg.Metrics.login(loginSuccess)
	case errors.Is(err, accounts.ErrInvalidCredentials):
		s.cfg.Metrics.login(loginFailure)
	case errors.As(err, &rl):
		s.cfg.Metrics.login(loginRateLimited)
	case isSecondStep(err):
		s.cfg.Metrics.login(loginSecondStep)
	default:
		s.cfg.Metrics.login(loginError)
	}
}

// endPreviousSession ends the session that the browser signing in already had (its session
// or refresh cookie came with the sign-in): the new answer replaces that cookie, so the old
// session would otherwise live on unseen until it expires. It runs after the new sign-in
// succeeded and never fails it; a failure to end the old session is logged.
func (s *Server) endPreviousSession(r *http.Request) {
	var prev *sessions.Session
	if c, err := r.Cookie(s.cookie); err == nil && c.Value != "" {
		prev, _ = s.cfg.Sessions.Validate(r.Context(), c.Value)
	}
	if prev == nil {
		if c, err := r.Cookie(s.refreshCookie); err == nil && c.Value != "" {
			prev, _ = s.cfg.Sessions.PeekRefresh(r.Context(), c.Value)
		}
	}
	if prev == nil {
		return
	}
	if _, err := s.cfg.Accounts.Logout(r.Context(), prev, accounts.ScopeLocal, s.client(r)); err != nil {
		s.log.WarnContext(r.Context(), "could not end the previous session of a browser that signed in again",
			"request_id", requestID(r.Context()), "err", err.Error())
	}
}

// deliverSession sets the session cookie and answers with the user and session.
func (s *Server) deliverSession(w http.ResponseWriter, res *accounts.Result, status int) {
	http.SetCookie(w, s.sessionCookie(string(res.Token), res.Session.ExpiresAt))
	writeJSON(w, status, signedIn{User: toUserJSON(res.User), Session: s.toSessionJSON(res.Session, "")})
}

// sessionCookie is the session cookie: __Host- prefix, Secure, HttpOnly, SameSite=Lax, Path=/,
// no Domain (docs/architecture.md, docs/security.md). An empty value with a past expiry clears it.
func (s *Server) sessionCookie(value string, expires time.Time) *http.Cookie {
	c := &http.Cookie{
		Name: s.cookie, Value: value, Path: "/",
		Secure: !s.cfg.InsecureDevCookies, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	}
	if value == "" {
		c.MaxAge = -1
	} else {
		c.Expires = expires.UTC()
	}
	return c
}

// caller returns the session that authenticates r (see callerSession), refusing a session
// limited to MFA enrolment: only the routes that enrolment needs use callerAny instead.
func (s *Server) caller(r *http.Request) (*sessions.Session, error) {
	sess, err := s.callerSession(r)
	if err != nil {
		return nil, err
	}
	return sess, accounts.RequireFull(sess)
}

// callerSession returns the session that authenticates r: an "Authorization: Bearer" access
// token (checked by signature, then server-side against its session) or session token, else
// the session cookie.
func (s *Server) callerSession(r *http.Request) (*sessions.Session, error) {
	tok, ok := bearer(r)
	if ok && tokens.LooksLikeJWT(tok) {
		_, sess, err := s.cfg.Tokens.VerifyAccess(r.Context(), tok)
		if errors.Is(err, tokens.ErrInvalid) {
			return nil, fmt.Errorf("%w: %w", sessions.ErrInvalid, err)
		}
		return sess, err
	}
	if !ok {
		if _, has := r.Header["Authorization"]; has {
			return nil, errorf(http.StatusUnauthorized, codeUnauthorized, "unsupported Authorization scheme; use Bearer")
		}
		c, err := r.Cookie(s.cookie)
		if err != nil {
			return nil, fmt.Errorf("%w: no session cookie", sessions.ErrInvalid)
		}
		tok = c.Value
	}
	return s.cfg.Sessions.Validate(r.Context(), tok)
}

func (s *Server) session(w http.ResponseWriter, r *http.Request) error {
	sess, err := s.callerAny(r)
	if err != nil {
		return err
	}
	u, err := s.cfg.Accounts.User(r.Context(), sess.UserID)
	if errors.Is(err, users.ErrNotFound) || (err == nil && u.Disabled) {
		return sessions.ErrInvalid
	}
	if err != nil {
		return err
	}
	v := signedIn{User: toUserJSON(u), Session: s.toSessionJSON(sess, sess.ID)}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(appendSignedIn(make([]byte, 0, 1024), &v))
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Scope string `json:"scope"`
	}
	if err := decodeJSON(w, r, &in, true); err != nil {
		return err
	}
	switch in.Scope {
	case "", accounts.ScopeLocal, accounts.ScopeOthers, accounts.ScopeGlobal:
	default:
		return accounts.ErrBadScope
	}
	sess, err := s.callerAny(r)
	if errors.Is(err, sessions.ErrInvalid) && (in.Scope == "" || in.Scope == accounts.ScopeLocal) {
		// Nothing to end: still clear the cookie, so logout always leaves the browser clean.
		http.SetCookie(w, s.sessionCookie("", time.Time{}))
		writeJSON(w, http.StatusNoContent, nil)
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := s.cfg.Accounts.Logout(r.Context(), sess, in.Scope, s.client(r)); err != nil {
		return err
	}
	if in.Scope != accounts.ScopeOthers {
		http.SetCookie(w, s.sessionCookie("", time.Time{}))
		if _, err := r.Cookie(s.refreshCookie); err == nil {
			http.SetCookie(w, s.makeRefreshCookie("", time.Time{}))
		}
	}
	writeJSON(w, http.StatusNoContent, nil)
	return nil
}

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request) error {
	sess, err := s.caller(r)
	if err != nil {
		return err
	}
	list, err := s.cfg.Sessions.List(r.Context(), sess.UserID)
	if err != nil {
		return err
	}
	out := make([]sessionJSON, 0, len(list))
	for _, ss := range list {
		out = append(out, s.toSessionJSON(ss, sess.ID))
	}
	writeJSON(w, http.StatusOK, map[string]any{"sessions": out})
	return nil
}

func (s *Server) deleteSession(w http.ResponseWriter, r *http.Request) error {
	sess, err := s.caller(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if !secret.ValidID(id) {
		return sessions.ErrNotFound
	}
	if err := s.cfg.Accounts.RevokeOwnSession(r.Context(), sess.UserID, id, s.client(r)); err != nil {
		return err
	}
	if id == sess.ID {
		http.SetCookie(w, s.sessionCookie("", time.Time{}))
	}
	writeJSON(w, http.StatusNoContent, nil)
	return nil
}
