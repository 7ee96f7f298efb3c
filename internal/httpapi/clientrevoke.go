package httpapi

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/gatehouse-auth/gatehouse/internal/oidc"
)

// revokeCaller authenticates the caller of POST /oauth/revoke (RFC 7009 §2.1): the
// first-party public client (owner ""), or a registered client, a confidential one with its
// secret (client_secret_basic or client_secret_post), a public one by client_id alone. A
// registered client may revoke only tokens issued to it; another client's token is answered
// 200 like an unknown one (no oracle) and left alone.
func (s *Server) revokeCaller(r *http.Request, form url.Values) (owner string, err error) {
	id, sec, hasSecret := form.Get("client_id"), form.Get("client_secret"), form.Has("client_secret")
	u, p, basic := r.BasicAuth()
	if basic {
		if hasSecret {
			return "", errorf(http.StatusBadRequest, codeInvalidRequest, "use one client authentication method")
		}
		uu, err1 := url.QueryUnescape(u) // RFC 6749 §2.3.1
		pp, err2 := url.QueryUnescape(p)
		if err1 != nil || err2 != nil || id != "" && id != uu {
			return "", errorf(http.StatusBadRequest, codeInvalidRequest, "client_id differs between body and Authorization")
		}
		id, sec, hasSecret = uu, pp, pp != ""
	}
	if s.cfg.OIDC == nil || id == "" || id == s.cfg.Tokens.Config().ClientID {
		return "", s.publicClient(r, form)
	}
	c, err := s.cfg.OIDC.Authenticate(r.Context(), id, sec, hasSecret)
	if errors.Is(err, oidc.ErrClientAuth) {
		return "", &Error{Status: http.StatusUnauthorized, Code: codeInvalidClient, Description: "client authentication failed", Err: err}
	}
	if err != nil {
		return "", err
	}
	return c.ID, nil
}
