package httpapi

import (
	"errors"
	"mime"
	"net/http"
	"net/url"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/oidc"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

// The authorization endpoint of the code flow (RFC 6749 §4.1, OpenID Connect Core §3.1;
// docs/oidc.md). Errors found before the redirect URI is matched show a page and never
// redirect; later ones go back to the client with error, error_description, state and iss.

const (
	resumePath  = "/oauth/authorize/resume"
	consentPath = "/oauth/authorize/consent"
	// authorizePostPattern is exempt from cross-origin protection (docs/security.md): it only
	// turns the form into the equivalent GET.
	authorizePostPattern = "POST /oauth/authorize"
)

func (s *Server) oidcRoutes() {
	if s.cfg.OIDC == nil {
		return
	}
	if s.cfg.Pages == nil {
		s.cfg.Pages = oidc.PlainPages{}
	}
	s.handle("GET /oauth/authorize", s.authorize)
	s.handle(authorizePostPattern, s.authorizePost)
	s.handle("GET /oauth/authorize/resume", s.authorizeResume)
	s.handle("POST /oauth/authorize/consent", s.authorizeConsent)
	s.clientRoutes()
	s.logoutRoutes()
}

func (s *Server) page(w http.ResponseWriter, r *http.Request, status int, title, detail string) error {
	s.cfg.Pages.Error(w, r, status, title, detail)
	return nil
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request) error {
	return s.authorizeQuery(w, r, r.URL.Query(), time.Time{})
}

// authorizePost is an authorization request sent as a form (OpenID Connect Core §3.1.2.1:
// the OP must accept POST). The relying party's auto-submitted form is cross-site, so the
// SameSite=Lax session cookie is not sent with it; answering 303 with the same parameters as
// a query makes the browser repeat the request as a top-level GET, which carries the cookie.
// Nothing is read from the session or changed here.
func (s *Server) authorizePost(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" || r.URL.RawQuery != "" || r.ParseForm() != nil {
		return s.page(w, r, http.StatusBadRequest, "Invalid request", "The authorization request must be a form in the request body.")
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, "/oauth/authorize?"+r.PostForm.Encode(), http.StatusSeeOther)
	return nil
}

// authorizeResume continues a request parked while the user signed in.
func (s *Server) authorizeResume(w http.ResponseWriter, r *http.Request) error {
	p, err := s.cfg.OIDCCodes.Resume(r.Context(), r.URL.Query().Get("request"))
	if errors.Is(err, oidc.ErrCodeInvalid) || err == nil && p.Request != nil {
		return s.page(w, r, http.StatusBadRequest, "Sign-in request expired", "Go back to the application and start again.")
	}
	if err != nil {
		return err
	}
	q, err := url.ParseQuery(p.Query)
	if err != nil {
		return s.page(w, r, http.StatusBadRequest, "Invalid request", "The sign-in request is malformed.")
	}
	return s.authorizeQuery(w, r, q, p.Started)
}

// browserSession is the caller's full session from its cookie, or nil.
func (s *Server) browserSession(r *http.Request) (*sessions.Session, *users.User, error) {
	c, err := r.Cookie(s.cookie)
	if err != nil {
		return nil, nil, nil
	}
	sess, err := s.cfg.Sessions.Validate(r.Context(), c.Value)
	if errors.Is(err, sessions.ErrInvalid) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if sess.Purpose != "" { // limited to MFA enrolment: not a sign-in
		return nil, nil, nil
	}
	u, err := s.cfg.Accounts.User(r.Context(), sess.UserID)
	if errors.Is(err, users.ErrNotFound) || err == nil && u.Disabled {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	return sess, u, nil
}

// authorizeQuery runs an authorization request; resumed is when the request was first seen
// if the user was sent to sign in since (a sign-in after it satisfies prompt=login/max_age).
func (s *Server) authorizeQuery(w http.ResponseWriter, r *http.Request, q url.Values, resumed time.Time) error {
	ctx := r.Context()
	if checkParams(q, "query") != nil {
		return s.page(w, r, http.StatusBadRequest, "Invalid request", "The request parameters are not valid text.")
	}
	clientID, redirectURI, err := oidc.CheckClientParams(q)
	if err != nil {
		return s.page(w, r, http.StatusBadRequest, "Invalid request", err.(*oidc.AuthError).Description)
	}
	c, err := s.cfg.OIDC.Client(ctx, clientID)
	if errors.Is(err, oidc.ErrNotFound) {
		return s.page(w, r, http.StatusBadRequest, "Unknown application", "This application is not registered here.")
	}
	if err != nil {
		return err
	}
	if !c.MatchRedirectURI(redirectURI) {
		return s.page(w, r, http.StatusBadRequest, "Invalid redirect URI", "The redirect URI is not registered for this application.")
	}
	req, err := oidc.ParseRequest(q, c)
	if err != nil {
		ae := err.(*oidc.AuthError)
		return s.authzError(w, r, req, ae.Code, ae.Description)
	}
	sess, u, err := s.browserSession(r)
	if err != nil {
		return err
	}
	// id_token_hint names the user the client expects (Core §3.1.2.1): another signed-in user
	// is sent to sign in (login_required with prompt=none, or after that sign-in).
	hintOther := false
	if raw := q.Get("id_token_hint"); raw != "" {
		h, err := s.cfg.Tokens.ParseIDTokenHint(raw)
		if err != nil {
			return s.authzError(w, r, req, oidc.ErrInvalidRequest, "id_token_hint is not an ID token issued here")
		}
		hintOther = u != nil && h.Subject != u.ID
	}
	now := s.cfg.Now()
	signedInSince := sess != nil && !resumed.IsZero() && !sess.AuthTime.Before(resumed.Truncate(time.Second))
	needLogin := sess == nil
	if sess != nil && !signedInSince {
		needLogin = req.Has("login") ||
			req.MaxAge >= 0 && now.Sub(sess.AuthTime) > time.Duration(req.MaxAge)*time.Second ||
			req.RequireMFA && !strongACR(sess) || hintOther
	}
	if sess != nil && signedInSince && hintOther {
		return s.authzError(w, r, req, oidc.ErrLoginRequired, "the signed-in user is not the one id_token_hint names")
	}
	if sess != nil && signedInSince && req.RequireMFA && !strongACR(sess) {
		return s.authzError(w, r, req, oidc.ErrUnmetAuthn, "a multi-factor sign-in is required")
	}
	if needLogin {
		if req.Has("none") {
			return s.authzError(w, r, req, oidc.ErrLoginRequired, "the user must sign in")
		}
		h, err := s.cfg.OIDCCodes.Park(ctx, &oidc.Pending{Query: q.Encode(), Started: now})
		if err != nil {
			return err
		}
		lq := url.Values{"return_to": {resumePath + "?" + url.Values{"request": {string(h)}}.Encode()}}
		if req.LoginHint != "" {
			lq.Set("login_hint", req.LoginHint)
		}
		if sess != nil {
			lq.Set("prompt", "login") // signed in, but not recently or strongly enough
		}
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, "/ui/login?"+lq.Encode(), http.StatusFound)
		return nil
	}
	if !c.FirstParty {
		cons, err := s.cfg.OIDC.Consent(ctx, u.ID, c.ID)
		if err != nil && !errors.Is(err, oidc.ErrNotFound) {
			return err
		}
		if req.Has("consent") || cons == nil || !cons.Covers(req.Scopes) {
			if req.Has("none") {
				return s.authzError(w, r, req, oidc.ErrConsentRequired, "the user must consent")
			}
			h, err := s.cfg.OIDCCodes.Park(ctx, &oidc.Pending{Request: req, UserID: u.ID, Session: sess.ID, Started: now})
			if err != nil {
				return err
			}
			s.cfg.Pages.Consent(w, r, oidc.ConsentView{ClientName: c.Name, Scopes: req.Scopes, UserEmail: u.Email, Action: consentPath, ConsentID: string(h), RedirectURI: req.RedirectURI,
				Restart: "/oauth/authorize?" + q.Encode()})
			return nil
		}
	}
	return s.issueCode(w, r, req, c, sess)
}

func strongACR(sess *sessions.Session) bool {
	acr := sess.ACR()
	return acr == oidc.ACRMFA || acr == "urn:gatehouse:acr:phr"
}

// authorizeConsent is POST /oauth/authorize/consent: the consent form's answer.
func (s *Server) authorizeConsent(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if err := r.ParseForm(); err != nil || r.URL.RawQuery != "" {
		return s.page(w, r, http.StatusBadRequest, "Invalid request", "The form could not be read.")
	}
	p, err := s.cfg.OIDCCodes.Resume(r.Context(), r.PostForm.Get("consent_id"))
	if errors.Is(err, oidc.ErrCodeInvalid) || err == nil && p.Request == nil {
		return s.page(w, r, http.StatusBadRequest, "Request expired", "Go back to the application and start again.")
	}
	if err != nil {
		return err
	}
	sess, u, err := s.browserSession(r)
	if err != nil {
		return err
	}
	if sess == nil || sess.ID != p.Session || u.ID != p.UserID {
		return s.page(w, r, http.StatusBadRequest, "Session changed", "Go back to the application and start again.")
	}
	c, err := s.cfg.OIDC.Client(r.Context(), p.Request.ClientID)
	if errors.Is(err, oidc.ErrNotFound) || err == nil && !c.MatchRedirectURI(p.Request.RedirectURI) {
		return s.page(w, r, http.StatusBadRequest, "Unknown application", "This application is no longer registered here.")
	}
	if err != nil {
		return err
	}
	if r.PostForm.Get("decision") != "allow" {
		return s.authzError(w, r, p.Request, oidc.ErrAccessDenied, "the user denied the request")
	}
	if _, err := s.cfg.OIDC.GrantConsent(r.Context(), u.ID, c.ID, p.Request.Scopes); err != nil {
		return err
	}
	if err := s.oidcEvent(r, audit.OAuthConsentGranted, u.ID, sess.ID, c.ID, "user"); err != nil {
		return err
	}
	return s.issueCode(w, r, p.Request, c, sess)
}

func (s *Server) issueCode(w http.ResponseWriter, r *http.Request, req *oidc.Request, c *oidc.Client, sess *sessions.Session) error {
	if c.FirstParty {
		// Remembered for first-party clients too: refreshes are limited to what was granted.
		if _, err := s.cfg.OIDC.GrantConsent(r.Context(), sess.UserID, c.ID, req.Scopes); err != nil {
			return err
		}
	}
	code, err := s.cfg.OIDCCodes.Issue(r.Context(), &oidc.Grant{Request: *req, UserID: sess.UserID, SessionID: sess.ID, AuthTime: sess.AuthTime, AMR: sess.AMR})
	if err != nil {
		return err
	}
	if err := s.oidcEvent(r, audit.OAuthCodeIssued, sess.UserID, sess.ID, c.ID, "user"); err != nil {
		return err
	}
	s.authzRespond(w, r, req, oidc.ResponseParams(s.cfg.Tokens.Config().Issuer, req.State, "code", string(code)))
	return nil
}

func (s *Server) authzError(w http.ResponseWriter, r *http.Request, req *oidc.Request, code, desc string) error {
	s.authzRespond(w, r, req, oidc.ResponseParams(s.cfg.Tokens.Config().Issuer, req.State, "error", code, "error_description", desc))
	return nil
}

// authzRespond sends an authorization response to the (matched) redirect URI.
func (s *Server) authzRespond(w http.ResponseWriter, r *http.Request, req *oidc.Request, params url.Values) {
	w.Header().Set("Cache-Control", "no-store")
	if req.ResponseMode == "form_post" {
		s.cfg.Pages.FormPost(w, r, req.RedirectURI, params)
		return
	}
	w.Header().Set("Location", oidc.RedirectURL(req.RedirectURI, params))
	w.WriteHeader(http.StatusFound)
}

func (s *Server) oidcEvent(r *http.Request, typ, userID, sid, clientID, actor string) error {
	cl := s.client(r)
	return s.cfg.Audit.Record(r.Context(), audit.Event{Type: typ, UserID: userID, SessionID: sid, ClientID: clientID, Actor: actor,
		IP: cl.IP, UserAgent: cl.UserAgent, Outcome: audit.Success})
}
