package web

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/oidc"
)

// The pages of OpenID Connect RP-Initiated Logout (docs/oidc.md) in the hosted pages' layout.

var _ oidc.LogoutPages = (*Handler)(nil)

// oidcLogoutData is the confirmation asked when a logout request carries no valid
// id_token_hint: a cross-site link alone must not sign anyone out.
type oidcLogoutData struct {
	ClientName string
	UserEmail  string
	Action     string
	LogoutID   string
}

func (d oidcLogoutData) PageTitle() string { return "Sign out?" }

// LogoutConfirm implements oidc.LogoutPages. The form posts to this origin and the answer
// may redirect to the client's registered post-logout URI, so the page's form-action allows
// that origin too.
func (h *Handler) LogoutConfirm(w http.ResponseWriter, r *http.Request, v oidc.LogoutView) {
	dest := "'self'"
	if o, ok := origin(v.RedirectURI); ok {
		dest += " " + o
	}
	d := oidcLogoutData{ClientName: v.ClientName, UserEmail: v.UserEmail, Action: v.Action, LogoutID: v.LogoutID}
	h.Page(onlyFormAction(w, dest), r, http.StatusOK, "oidclogout", d)
}

// signedOutData is the page after a logout that has nowhere to return to.
type signedOutData struct{}

func (signedOutData) PageTitle() string { return "Signed out" }

// LoggedOut implements oidc.LogoutPages.
func (h *Handler) LoggedOut(w http.ResponseWriter, r *http.Request) {
	h.Page(w, r, http.StatusOK, "oidcloggedout", signedOutData{})
}
