package httpapi

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/oidc"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
	"github.com/gatehouse-auth/gatehouse/internal/web"
)

// The hosted pages (docs/hosted-pages.md) are served by internal/web, mounted here so that
// the request ids, deadlines and cross-origin protection of the API apply to them. This
// file gives them the cookie logic, which stays in this package.

// webRoutes builds the pages from Config.Web (nil: no pages) and registers their routes.
func (s *Server) webRoutes() {
	if s.cfg.Web == nil {
		return
	}
	wc := *s.cfg.Web
	if wc.Accounts == nil {
		wc.Accounts = s.cfg.Accounts
	}
	if wc.Passkeys == nil {
		wc.Passkeys = s.cfg.Passkeys
	}
	if wc.Logger == nil {
		wc.Logger = s.log
	}
	wc.CallerSession = s.cookieSession
	wc.Client = s.client
	wc.StartSession = s.startWebSession
	wc.EndSession = s.endWebSession
	wc.LimitSecondStep = func(r *http.Request) error { return s.allow(r, "login_mfa", loginMFALimit) }
	wc.Observe = func(step string, err error) {
		switch step {
		case "login":
			s.countLogin(err)
		case "mfa":
			s.cfg.Metrics.mfaEvent("login", mfaOutcome(err))
		}
	}
	s.webAccount(&wc)
	s.web = web.New(wc)
	// The code flow's consent, error and form_post pages in the pages' layout, unless the
	// caller chose other pages.
	if _, plain := s.cfg.Pages.(oidc.PlainPages); s.cfg.Pages == nil || plain {
		s.cfg.Pages = s.web
	}
	for _, p := range s.web.Routes() {
		s.patterns = append(s.patterns, p)
		s.mux.Handle(p, s.web)
	}
}

// cookieSession is the session of the browser's session cookie. Pages never take a bearer
// token: a browser navigating to them carries only its cookies.
func (s *Server) cookieSession(r *http.Request) (*sessions.Session, error) {
	c, err := r.Cookie(s.cookie)
	if err != nil || c.Value == "" {
		return nil, fmt.Errorf("%w: no session cookie", sessions.ErrInvalid)
	}
	return s.cfg.Sessions.Validate(r.Context(), c.Value)
}

// startWebSession sets the cookies of a sign-in made on a page, as the JSON routes do with
// cookie delivery, and ends the session the browser had before.
func (s *Server) startWebSession(w http.ResponseWriter, r *http.Request, res *accounts.Result) {
	s.setDeviceCookie(w, res)
	s.endPreviousSession(r)
	http.SetCookie(w, s.sessionCookie(string(res.Token), res.Session.ExpiresAt))
}

// endWebSession ends the browser's session (if any) and clears its cookies.
func (s *Server) endWebSession(w http.ResponseWriter, r *http.Request) error {
	if sess, err := s.cookieSession(r); err == nil {
		if _, err := s.cfg.Accounts.Logout(r.Context(), sess, accounts.ScopeLocal, s.client(r)); err != nil {
			return err
		}
	}
	http.SetCookie(w, s.sessionCookie("", time.Time{}))
	if _, err := r.Cookie(s.refreshCookie); err == nil {
		http.SetCookie(w, s.makeRefreshCookie("", time.Time{}))
	}
	return nil
}

// denyCrossOrigin answers a request refused by the cross-origin protection: an HTML page
// for the hosted pages (a person is looking at it), the JSON error elsewhere.
func (s *Server) denyCrossOrigin(w http.ResponseWriter, r *http.Request) {
	if s.web != nil && strings.HasPrefix(r.URL.Path, "/ui/") {
		s.log.InfoContext(r.Context(), "cross-origin form post refused", "request_id", requestID(r.Context()), "path", r.URL.Path)
		s.web.Error(w, r, http.StatusForbidden, "This form came from another site",
			"For your safety, forms may only be sent from this site's own pages. Open the sign-in page directly and try again.")
		return
	}
	s.writeError(w, r, errorf(http.StatusForbidden, codeCrossOrigin, "cross-origin request refused"))
}
