package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
)

// The handoff page (docs/cross-domain.md): GET /ui/handoff?target=…&return_to=… on the host
// the browser is signed in to issues a handoff code for target and posts it there from the
// browser. The code travels only in the body of that POST, never in a URL.

// handoffData is the auto-submitting handoff page.
type handoffData struct {
	Action   string
	Host     string
	Code     string
	ReturnTo string
}

func (d handoffData) PageTitle() string { return "Signing you in to " + d.Host }

func (h *Handler) handoff(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	target := q.Get("target")
	// return_to is a path on the target host (it checks it again); never a URL elsewhere.
	returnTo := q.Get("return_to")
	if returnTo != "" && (!strings.HasPrefix(returnTo, "/") || h.safeReturnTo(returnTo) == "") {
		returnTo = ""
	}
	o, ok := origin(target)
	if target == "" || !ok {
		h.Error(w, r, http.StatusBadRequest, "Unknown destination", "This sign-in link does not name a site you can be signed in to from here.")
		return
	}
	sess := h.fullSession(r)
	var code secret.Redacted
	var err error
	if sess != nil {
		code, err = h.cfg.Accounts.StartHandoff(r.Context(), sess, target, h.cfg.Client(r))
	}
	if sess == nil || errors.Is(err, sessions.ErrInvalid) {
		back := url.Values{"target": {target}}
		if returnTo != "" {
			back.Set("return_to", returnTo)
		}
		h.redirect(w, r, "/ui/login?"+url.Values{"return_to": {"/ui/handoff?" + back.Encode()}}.Encode())
		return
	}
	switch {
	case err == nil:
	case errors.Is(err, accounts.ErrHandoffTarget):
		h.Error(w, r, http.StatusBadRequest, "Unknown destination", "This sign-in link does not name a site you can be signed in to from here.")
		return
	case errors.Is(err, accounts.ErrHandoffOff):
		h.Error(w, r, http.StatusNotFound, "Page not found", "There is no page at this address.")
		return
	default:
		h.log.ErrorContext(r.Context(), "hosted pages: handoff failed", "err", err.Error())
		h.Error(w, r, http.StatusServiceUnavailable, "Something went wrong", "The sign-in could not be passed on right now. Try again in a moment.")
		return
	}
	u, _ := url.Parse(target)
	h.Page(onlyFormAction(w, o), r, http.StatusOK, "handoff", handoffData{Action: target, Host: u.Host, Code: string(code), ReturnTo: returnTo})
}
