package httpapi

import (
	"errors"
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/oidc"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
	"github.com/gatehouse-auth/gatehouse/internal/web"
)

// webAccount gives the account page (internal/web/account.go) what lives in this package:
// the session list, the OIDC consents (as GET/DELETE /v1/consents) and the data export.
func (s *Server) webAccount(wc *web.Config) {
	if wc.Sessions == nil {
		wc.Sessions = s.cfg.Sessions
	}
	wc.Export = func(w http.ResponseWriter, r *http.Request, sess *sessions.Session) error {
		return s.writeExport(w, r, sess)
	}
	if s.cfg.OIDC == nil {
		return
	}
	wc.Consents = func(r *http.Request, userID string) ([]web.Consent, error) {
		list, err := s.cfg.OIDC.Consents(r.Context(), userID)
		if err != nil {
			return nil, err
		}
		out := make([]web.Consent, 0, len(list))
		for _, c := range list {
			wcn := web.Consent{ClientID: c.ClientID, Scopes: c.Scopes, Updated: c.UpdatedAt}
			if cl, err := s.cfg.OIDC.Client(r.Context(), c.ClientID); err == nil {
				wcn.Name = cl.Name
			}
			out = append(out, wcn)
		}
		return out, nil
	}
	wc.RevokeConsent = func(r *http.Request, sess *sessions.Session, clientID string) error {
		err := s.cfg.OIDC.RevokeConsent(r.Context(), sess.UserID, clientID)
		if errors.Is(err, oidc.ErrNotFound) {
			return web.ErrNotFound
		}
		if err != nil {
			return err
		}
		return s.oidcEvent(r, audit.OAuthConsentRevoked, sess.UserID, sess.ID, clientID, "user")
	}
}
