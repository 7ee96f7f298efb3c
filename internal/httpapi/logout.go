package httpapi

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/oidc"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
)

// OpenID Connect RP-Initiated Logout 1.0 (docs/oidc.md).
//
// GET /oauth/logout with a valid id_token_hint (our signature; an expired hint still names
// its session, §2) ends the session the hint names (its sid) and the browser's own session
// when it belongs to the same user, then goes to post_logout_redirect_uri (compared exactly
// with the client's registered list) with state. Without a valid hint the browser gets a
// confirmation page whose form posts to /oauth/logout/confirm (same origin, cross-origin
// posts refused), so that a cross-site link cannot sign anyone out silently. An unregistered
// post_logout_redirect_uri shows a page and never redirects. Only GET is served: the
// confirmation page covers what a cross-site POST would need.

const logoutConfirmPath = "/oauth/logout/confirm"

// logoutMarker tells a parked logout request from a parked authorization request.
const logoutMarker = "gatehouse_logout"

func (s *Server) logoutRoutes() {
	s.handle("GET /oauth/logout", s.endSession)
	s.handle("POST /oauth/logout/confirm", s.endSessionConfirm)
}

func (s *Server) logoutPages() oidc.LogoutPages {
	if p, ok := s.cfg.Pages.(oidc.LogoutPages); ok {
		return p
	}
	return oidc.PlainPages{}
}

// logoutTarget is where a logout request goes back to, once checked.
type logoutTarget struct {
	client   *oidc.Client // nil when the request names none
	redirect string       // a registered post_logout_redirect_uri, or ""
	state    string
}

// checkLogout validates the client and redirect of a logout request. hintAud is the audience
// of a valid id_token_hint (nil without one). A problem the user must see is returned as
// (title, detail).
func (s *Server) checkLogout(r *http.Request, q url.Values, hintAud []string) (*logoutTarget, string, string, error) {
	for _, k := range []string{"id_token_hint", "client_id", "post_logout_redirect_uri", "state", "logout_hint", "ui_locales"} {
		if len(q[k]) > 1 {
			return nil, "Invalid request", "A parameter is repeated.", nil
		}
	}
	t := &logoutTarget{state: q.Get("state")}
	if len(t.state) > 2048 {
		return nil, "Invalid request", "state is too long.", nil
	}
	clientID := q.Get("client_id")
	if clientID != "" && hintAud != nil && !slices.Contains(hintAud, clientID) {
		return nil, "Invalid request", "The ID token was not issued to this application.", nil
	}
	if clientID == "" && len(hintAud) == 1 {
		clientID = hintAud[0]
	}
	if clientID != "" {
		c, err := s.cfg.OIDC.Client(r.Context(), clientID)
		switch {
		case errors.Is(err, oidc.ErrNotFound):
			if q.Get("client_id") != "" {
				return nil, "Unknown application", "This application is not registered here.", nil
			}
		case err != nil:
			return nil, "", "", err
		default:
			t.client = c
		}
	}
	if plru := q.Get("post_logout_redirect_uri"); plru != "" {
		if t.client == nil || !slices.Contains(t.client.PostLogoutRedirectURIs, plru) {
			return nil, "Invalid redirect URI", "The post-logout redirect URI is not registered for this application.", nil
		}
		t.redirect = plru
	}
	return t, "", "", nil
}

// finish sends the browser back to the client, or shows the signed-out page.
func (s *Server) finishLogout(w http.ResponseWriter, r *http.Request, t *logoutTarget) error {
	w.Header().Set("Cache-Control", "no-store")
	if t.redirect == "" {
		s.logoutPages().LoggedOut(w, r)
		return nil
	}
	params := url.Values{}
	if t.state != "" {
		params.Set("state", t.state)
	}
	w.Header().Set("Location", oidc.RedirectURL(t.redirect, params))
	w.WriteHeader(http.StatusFound)
	return nil
}

// endSession is GET /oauth/logout (the end_session_endpoint).
func (s *Server) endSession(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	if checkParams(q, "query") != nil {
		return s.page(w, r, http.StatusBadRequest, "Invalid request", "The request parameters are not valid text.")
	}
	var hintAud []string
	var hintSub, hintSID string
	if raw := q.Get("id_token_hint"); raw != "" {
		h, err := s.cfg.Tokens.ParseIDTokenHint(raw)
		if err != nil {
			return s.page(w, r, http.StatusBadRequest, "Invalid request", "The ID token hint is not valid.")
		}
		hintAud, hintSub, hintSID = h.Audience, h.Subject, h.Session
	}
	t, title, detail, err := s.checkLogout(r, q, hintAud)
	if err != nil {
		return err
	}
	if t == nil {
		return s.page(w, r, http.StatusBadRequest, title, detail)
	}
	sess, u, err := s.browserSession(r)
	if err != nil {
		return err
	}
	if hintSub != "" {
		// The hint names the session: end it (if it is the hinted user's) and the browser's
		// own session when it is the same user's.
		if hintSID != "" {
			hs, err := s.cfg.Sessions.Get(ctx, hintSID)
			switch {
			case errors.Is(err, sessions.ErrInvalid):
			case err != nil:
				return err
			case hs.UserID == hintSub:
				if err := s.logoutOne(r, hs, t, "id_token_hint"); err != nil {
					return err
				}
			}
		}
		if sess != nil && sess.UserID == hintSub {
			if err := s.logoutOne(r, sess, t, "id_token_hint"); err != nil {
				return err
			}
			s.clearSessionCookies(w, r)
		}
		return s.finishLogout(w, r, t)
	}
	if sess == nil { // nobody signed in here: nothing to confirm
		return s.finishLogout(w, r, t)
	}
	pq := url.Values{logoutMarker: {"1"}, "post_logout_redirect_uri": {t.redirect}, "state": {t.state}}
	if t.client != nil {
		pq.Set("client_id", t.client.ID)
	}
	h, err := s.cfg.OIDCCodes.Park(ctx, &oidc.Pending{Query: pq.Encode(), UserID: u.ID, Session: sess.ID, Started: s.cfg.Now()})
	if err != nil {
		return err
	}
	v := oidc.LogoutView{UserEmail: u.Email, Action: logoutConfirmPath, LogoutID: string(h), RedirectURI: t.redirect}
	if t.client != nil {
		v.ClientName = t.client.Name
	}
	s.logoutPages().LogoutConfirm(w, r, v)
	return nil
}

// endSessionConfirm is POST /oauth/logout/confirm: the confirmation form's answer.
func (s *Server) endSessionConfirm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if err := r.ParseForm(); err != nil || r.URL.RawQuery != "" {
		return s.page(w, r, http.StatusBadRequest, "Invalid request", "The form could not be read.")
	}
	p, err := s.cfg.OIDCCodes.Resume(r.Context(), r.PostForm.Get("logout_id"))
	if err != nil && !errors.Is(err, oidc.ErrCodeInvalid) {
		return err
	}
	var q url.Values
	if err == nil && p.Request == nil {
		q, _ = url.ParseQuery(p.Query)
	}
	if q.Get(logoutMarker) != "1" { // expired, or a parked authorization request
		return s.page(w, r, http.StatusBadRequest, "Request expired", "Go back to the application and sign out again.")
	}
	// Checked again: the client may have changed its registration meanwhile.
	t, title, detail, err := s.checkLogout(r, q, nil)
	if err != nil {
		return err
	}
	if t == nil {
		return s.page(w, r, http.StatusBadRequest, title, detail)
	}
	sess, _, err := s.browserSession(r)
	if err != nil {
		return err
	}
	if sess == nil || sess.ID != p.Session {
		return s.page(w, r, http.StatusBadRequest, "Session changed", "Go back to the application and sign out again.")
	}
	if r.PostForm.Get("decision") != "logout" {
		return s.page(w, r, http.StatusOK, "Still signed in", "You did not sign out.")
	}
	if err := s.logoutOne(r, sess, t, "confirmed"); err != nil {
		return err
	}
	s.clearSessionCookies(w, r)
	return s.finishLogout(w, r, t)
}

// logoutOne ends one session (its refresh family with it; back-channel logout follows from
// the sessions manager) and records it.
func (s *Server) logoutOne(r *http.Request, sess *sessions.Session, t *logoutTarget, how string) error {
	if _, err := s.cfg.Accounts.Logout(r.Context(), sess, accounts.ScopeLocal, s.client(r)); err != nil {
		return err
	}
	ev := audit.Event{Type: audit.OAuthLogout, UserID: sess.UserID, SessionID: sess.ID, Actor: "user", Outcome: audit.Success, Reason: how}
	if t.client != nil {
		ev.ClientID = t.client.ID
	}
	cl := s.client(r)
	ev.IP, ev.UserAgent = cl.IP, cl.UserAgent
	return s.cfg.Audit.Record(r.Context(), ev)
}

func (s *Server) clearSessionCookies(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, s.sessionCookie("", time.Time{}))
	if _, err := r.Cookie(s.refreshCookie); err == nil {
		http.SetCookie(w, s.makeRefreshCookie("", time.Time{}))
	}
}
