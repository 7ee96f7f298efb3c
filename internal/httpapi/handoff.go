package httpapi

import (
	"errors"
	"html/template"
	"mime"
	"net/http"
	"strings"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
)

// Cross-domain sign-in (docs/cross-domain.md): POST /v1/handoff on the host the browser is
// signed in to issues a code for another host's /v1/handoff/complete, which redeems it for
// a session of its own. The completion is posted from a page of the first host to the
// second, so it is cross-site by nature: it is the one route exempt from cross-origin
// protection (see New). What protects it is the code: single use, 10 seconds, valid only
// at the target it was issued for, and only ever carried in a POST body.

// codeInvalidTarget answers a handoff to a target that is not configured (the code RFC 8707
// uses for a resource a server will not issue for).
const (
	codeInvalidTarget = "invalid_target"
)

// handoffCompletePattern is the route the cross-origin protection lets through.
const handoffCompletePattern = "POST " + accounts.HandoffPath

func (s *Server) handoffRoutes() {
	s.handle("POST /v1/handoff", s.startHandoff)
	s.handle(handoffCompletePattern, s.completeHandoff)
}

// handoffError maps the errors of the handoff; other errors pass through.
func handoffError(err error) error {
	switch {
	case errors.Is(err, accounts.ErrHandoffCode):
		return &Error{Status: http.StatusBadRequest, Code: codeInvalidGrant, Description: "the handoff code is invalid, expired, used, or for another host", Err: err}
	case errors.Is(err, accounts.ErrHandoffTarget):
		return &Error{Status: http.StatusBadRequest, Code: codeInvalidTarget, Description: "target is not a configured handoff target", Err: err}
	case errors.Is(err, accounts.ErrHandoffOff):
		return &Error{Status: http.StatusNotFound, Code: codeNotFound, Description: "cross-domain sign-in is not configured", Err: err}
	}
	return err
}

func (s *Server) startHandoff(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Target string `json:"target"`
	}
	if err := decodeJSON(w, r, &in, false); err != nil {
		return err
	}
	if err := required("target", in.Target); err != nil {
		return err
	}
	sess, err := s.caller(r)
	if err != nil {
		return err
	}
	code, err := s.cfg.Accounts.StartHandoff(r.Context(), sess, in.Target, s.client(r))
	if err != nil {
		return handoffError(err)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"code": string(code), "expires_in": int(accounts.HandoffTTL.Seconds()), "target": in.Target})
	return nil
}

// completeHandoff redeems a code at the target this request arrived at: the configured
// target whose host is the request's Host (the scheme comes from the configuration, not from
// the request, which a TLS-terminating proxy forwards over plain HTTP). JSON answers as
// /v1/login; a form post (the hosted page's) sets the session cookie and redirects.
func (s *Server) completeHandoff(w http.ResponseWriter, r *http.Request) error {
	target := s.cfg.Accounts.HandoffTargetFor(r.Host)
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
		s.completeHandoffForm(w, r, target)
		return nil
	}
	var in struct {
		Code          string `json:"code"`
		Delivery      string `json:"delivery"`
		RefreshCookie bool   `json:"refresh_cookie"`
	}
	if err := decodeJSON(w, r, &in, false); err != nil {
		return err
	}
	if err := required("code", in.Code); err != nil {
		return err
	}
	cred := credentials{Delivery: in.Delivery, RefreshCookie: in.RefreshCookie, Email: "-", Password: "-"}
	if err := cred.check(); err != nil {
		return err
	}
	res, err := s.cfg.Accounts.CompleteHandoff(r.Context(), in.Code, target, cred.client(s.client(r)))
	if err != nil {
		return handoffError(err)
	}
	s.endPreviousSession(r)
	return s.deliver(w, r, &cred, res, http.StatusOK)
}

// maxHandoffForm bounds the form body: a code and a return path.
const maxHandoffForm = 4 << 10

func (s *Server) completeHandoffForm(w http.ResponseWriter, r *http.Request, target string) {
	r.Body = http.MaxBytesReader(w, r.Body, maxHandoffForm)
	if err := r.ParseForm(); err != nil {
		s.handoffPage(w, r, errorf(http.StatusBadRequest, codeInvalidRequest, "the form could not be read"))
		return
	}
	code := r.PostForm.Get("code") // never from the query string
	if code == "" {
		s.handoffPage(w, r, errorf(http.StatusBadRequest, codeInvalidRequest, "code is required"))
		return
	}
	res, err := s.cfg.Accounts.CompleteHandoff(r.Context(), code, target, s.client(r))
	if err != nil {
		s.handoffPage(w, r, handoffError(err))
		return
	}
	s.endPreviousSession(r)
	s.setDeviceCookie(w, res)
	http.SetCookie(w, s.sessionCookie(string(res.Token), res.Session.ExpiresAt))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, localReturnTo(r.PostForm.Get("return_to")), http.StatusSeeOther)
}

// localReturnTo is where a completed form handoff goes: return_to when it is a path on this
// host (one leading slash, no scheme, no authority, no backslash browsers would read as a
// slash), else the account page.
func localReturnTo(p string) string {
	if len(p) > 1024 || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\r\n\t") || !validText(p) {
		return "/ui/account"
	}
	return p
}

var handoffPageTmpl = template.Must(template.New("handoff").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign-in link expired</title></head>
<body><main><h1>{{.Title}}</h1><p role="alert">{{.Message}}</p></main></body></html>
`))

// handoffPage answers a failed form handoff with a small page (the browser navigated here;
// a JSON body would be of no use to the person) and logs it like any failed request.
func (s *Server) handoffPage(w http.ResponseWriter, r *http.Request, err error) {
	e := toError(err)
	title, msg := "Sign-in link expired", "This sign-in link has expired or was already used. Go back and try again."
	switch {
	case e.Status == http.StatusTooManyRequests:
		title, msg = "Too many attempts", "Too many sign-in attempts from your network. Wait a moment, then try again."
	case e.Status >= 500:
		title, msg = "Something went wrong", "The sign-in could not be completed right now. Try again in a moment."
	}
	s.log.InfoContext(r.Context(), "request failed", "request_id", requestID(r.Context()), "method", r.Method, "path", r.URL.Path,
		"status", e.Status, "code", e.Code, "err", e.Error())
	if s.web != nil {
		s.web.Error(w, r, e.Status, title, msg)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(e.Status)
	_ = handoffPageTmpl.Execute(w, struct{ Title, Message string }{title, msg})
}
