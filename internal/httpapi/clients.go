package httpapi

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/oidc"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
	"github.com/gatehouse-auth/gatehouse/internal/tokens"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

// Registered OpenID Connect clients (/v1/admin/clients), consents (/v1/consents and the admin
// view), and the token endpoint's grants for those clients (docs/oidc.md).

func (s *Server) clientRoutes() {
	s.handle("POST /v1/admin/clients", s.admin(s.adminCreateClient))
	s.handle("GET /v1/admin/clients", s.admin(s.adminListClients))
	s.handle("GET /v1/admin/clients/{id}", s.admin(s.adminGetClient))
	s.handle("PATCH /v1/admin/clients/{id}", s.admin(s.adminUpdateClient))
	s.handle("DELETE /v1/admin/clients/{id}", s.admin(s.adminDeleteClient))
	s.handle("GET /v1/admin/users/{id}/consents", s.admin(s.adminListConsents))
	s.handle("DELETE /v1/admin/users/{id}/consents/{client_id}", s.admin(s.adminDeleteConsent))
	s.handle("GET /v1/consents", s.listOwnConsents)
	s.handle("DELETE /v1/consents/{client_id}", s.deleteOwnConsent)
}

type clientBody struct {
	Name                   string   `json:"name"`
	Type                   string   `json:"type"`
	RedirectURIs           []string `json:"redirect_uris"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris"`
	AllowedScopes          []string `json:"allowed_scopes"`
	FirstParty             bool     `json:"first_party"`
	AccessTokenTTL         int      `json:"access_token_ttl"` // seconds; 0: the server default
	IDTokenTTL             int      `json:"id_token_ttl"`
	// Back-Channel Logout 1.0 §2.2 (docs/oidc.md).
	BackchannelLogoutURI             string `json:"backchannel_logout_uri"`
	BackchannelLogoutSessionRequired bool   `json:"backchannel_logout_session_required"`
}

func (b *clientBody) spec() oidc.ClientSpec {
	return oidc.ClientSpec{Name: b.Name, Type: b.Type, RedirectURIs: b.RedirectURIs, PostLogoutRedirectURIs: b.PostLogoutRedirectURIs,
		AllowedScopes: b.AllowedScopes, FirstParty: b.FirstParty,
		AccessTTL: time.Duration(b.AccessTokenTTL) * time.Second, IDTTL: time.Duration(b.IDTokenTTL) * time.Second,
		BackchannelLogoutURI: b.BackchannelLogoutURI, BackchannelLogoutSessionRequired: b.BackchannelLogoutSessionRequired}
}

type clientJSON struct {
	ClientID string `json:"client_id"`
	clientBody
	ClientSecret string    `json:"client_secret,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

func toClientJSON(c *oidc.Client) clientJSON {
	nz := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	return clientJSON{ClientID: c.ID, clientBody: clientBody{Name: c.Name, Type: c.Type, RedirectURIs: nz(c.RedirectURIs),
		PostLogoutRedirectURIs: nz(c.PostLogoutRedirectURIs), AllowedScopes: nz(c.AllowedScopes), FirstParty: c.FirstParty,
		AccessTokenTTL: int(c.AccessTTL / time.Second), IDTokenTTL: int(c.IDTTL / time.Second),
		BackchannelLogoutURI: c.BackchannelLogoutURI, BackchannelLogoutSessionRequired: c.BackchannelLogoutSessionRequired}, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

func clientError(err error) error {
	var ie *oidc.InputError
	switch {
	case errors.As(err, &ie):
		return &Error{Status: http.StatusBadRequest, Code: codeInvalidRequest, Description: err.Error(), Err: err}
	case errors.Is(err, oidc.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: "client_not_found", Description: "no such client", Err: err}
	}
	return err
}

func (s *Server) adminCreateClient(w http.ResponseWriter, r *http.Request) error {
	var b clientBody
	if err := decodeJSON(w, r, &b, false); err != nil {
		return err
	}
	c, sec, err := s.cfg.OIDC.CreateClient(r.Context(), b.spec())
	if err != nil {
		return clientError(err)
	}
	if err := s.oidcEvent(r, audit.OAuthClientCreated, "", "", c.ID, "admin"); err != nil {
		return err
	}
	out := toClientJSON(c)
	out.ClientSecret = string(sec) // shown once
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) adminListClients(w http.ResponseWriter, r *http.Request) error {
	list, err := s.cfg.OIDC.Clients(r.Context())
	if err != nil {
		return err
	}
	out := make([]clientJSON, 0, len(list))
	for _, c := range list {
		out = append(out, toClientJSON(c))
	}
	writeJSON(w, http.StatusOK, map[string]any{"clients": out})
	return nil
}

func (s *Server) adminGetClient(w http.ResponseWriter, r *http.Request) error {
	c, err := s.cfg.OIDC.Client(r.Context(), r.PathValue("id"))
	if err != nil {
		return clientError(err)
	}
	writeJSON(w, http.StatusOK, toClientJSON(c))
	return nil
}

func (s *Server) adminUpdateClient(w http.ResponseWriter, r *http.Request) error {
	old, err := s.cfg.OIDC.Client(r.Context(), r.PathValue("id"))
	if err != nil {
		return clientError(err)
	}
	b := toClientJSON(old).clientBody // PATCH: absent fields keep their values
	if err := decodeJSON(w, r, &b, false); err != nil {
		return err
	}
	c, err := s.cfg.OIDC.UpdateClient(r.Context(), old.ID, b.spec())
	if err != nil {
		return clientError(err)
	}
	if err := s.oidcEvent(r, audit.OAuthClientUpdated, "", "", c.ID, "admin"); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toClientJSON(c))
	return nil
}

func (s *Server) adminDeleteClient(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := s.cfg.OIDC.DeleteClient(r.Context(), id); err != nil {
		return clientError(err)
	}
	// Every access token minted for the client dies through the revocation feed (a client_id
	// entry); its refresh tokens die with its registration (the client cannot authenticate).
	if err := s.cfg.Sessions.RevokeClients(r.Context(), "", []string{id}); err != nil {
		return err
	}
	if err := s.oidcEvent(r, audit.OAuthClientDeleted, "", "", id, "admin"); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type consentJSON struct {
	ClientID  string    `json:"client_id"`
	Scopes    []string  `json:"scopes"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func (s *Server) writeConsents(w http.ResponseWriter, r *http.Request, userID string) error {
	list, err := s.cfg.OIDC.Consents(r.Context(), userID)
	if err != nil {
		return err
	}
	out := make([]consentJSON, 0, len(list))
	for _, c := range list {
		out = append(out, consentJSON{ClientID: c.ClientID, Scopes: c.Scopes, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt})
	}
	writeJSON(w, http.StatusOK, map[string]any{"consents": out})
	return nil
}

func (s *Server) revokeConsent(w http.ResponseWriter, r *http.Request, userID, sid, actor string) error {
	clientID := r.PathValue("client_id")
	err := s.cfg.OIDC.RevokeConsent(r.Context(), userID, clientID)
	if errors.Is(err, oidc.ErrNotFound) {
		return &Error{Status: http.StatusNotFound, Code: "consent_not_found", Description: "no such consent", Err: err}
	}
	if err != nil {
		return err
	}
	if err := s.oidcEvent(r, audit.OAuthConsentRevoked, userID, sid, clientID, actor); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) adminListConsents(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUser(r)
	if err != nil {
		return err
	}
	return s.writeConsents(w, r, id)
}

func (s *Server) adminDeleteConsent(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUser(r)
	if err != nil {
		return err
	}
	return s.revokeConsent(w, r, id, "", "admin")
}

func (s *Server) listOwnConsents(w http.ResponseWriter, r *http.Request) error {
	sess, err := s.callerSession(r)
	if err != nil {
		return err
	}
	return s.writeConsents(w, r, sess.UserID)
}

func (s *Server) deleteOwnConsent(w http.ResponseWriter, r *http.Request) error {
	sess, err := s.callerSession(r)
	if err != nil {
		return err
	}
	return s.revokeConsent(w, r, sess.UserID, sess.ID, "user")
}

// oidcToken answers POST /oauth/token for registered clients. handled is false for requests
// of the first-party client (no client_id, or the first-party id) outside authorization_code,
// which the existing grants answer.
func (s *Server) oidcToken(w http.ResponseWriter, r *http.Request, form url.Values) (handled bool, err error) {
	grant := form.Get("grant_type")
	id, sec, hasSecret := form.Get("client_id"), form.Get("client_secret"), form.Has("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		if hasSecret {
			return true, errorf(http.StatusBadRequest, codeInvalidRequest, "use one client authentication method")
		}
		uu, err1 := url.QueryUnescape(u) // RFC 6749 §2.3.1: form-encoded before Basic
		pp, err2 := url.QueryUnescape(p)
		if err1 != nil || err2 != nil || id != "" && id != uu {
			return true, errorf(http.StatusBadRequest, codeInvalidRequest, "client_id differs between body and Authorization")
		}
		id, sec, hasSecret = uu, pp, pp != ""
	}
	if grant != "authorization_code" && (id == "" || id == s.cfg.Tokens.Config().ClientID) {
		return false, nil
	}
	c, err := s.cfg.OIDC.Authenticate(r.Context(), id, sec, hasSecret)
	if errors.Is(err, oidc.ErrClientAuth) {
		w.Header().Set("WWW-Authenticate", `Basic realm="gatehouse"`)
		return true, &Error{Status: http.StatusUnauthorized, Code: codeInvalidClient, Description: "client authentication failed", Err: err}
	}
	if err != nil {
		return true, err
	}
	switch grant {
	case "authorization_code":
		return true, s.codeGrant(w, r, form, c)
	case "refresh_token":
		return true, s.clientRefresh(w, r, form, c)
	case "":
		return true, errorf(http.StatusBadRequest, codeInvalidRequest, "grant_type is required")
	}
	return true, errorf(http.StatusBadRequest, codeUnsupportedGrant, "grant_type %q is not supported for this client", cleanHeader(grant, 64))
}

func badGrant(desc string, err error) error {
	return &Error{Status: http.StatusBadRequest, Code: codeInvalidGrant, Description: desc, Err: err}
}

func (s *Server) codeGrant(w http.ResponseWriter, r *http.Request, form url.Values, c *oidc.Client) error {
	ctx := r.Context()
	code := form.Get("code")
	if code == "" || form.Get("redirect_uri") == "" {
		return errorf(http.StatusBadRequest, codeInvalidRequest, "code and redirect_uri are required")
	}
	g, err := s.cfg.OIDCCodes.Redeem(ctx, code)
	var replay *oidc.ReplayError
	if errors.As(err, &replay) {
		// A second use: end what the first one issued (RFC 6749 §4.1.2).
		if rerr := s.cfg.Sessions.Revoke(ctx, replay.SessionID); rerr != nil && !errors.Is(rerr, sessions.ErrNotFound) {
			return rerr
		}
		cl := s.client(r)
		if aerr := s.cfg.Audit.Record(ctx, audit.Event{Type: audit.OAuthCodeReplayed, SessionID: replay.SessionID, ClientID: c.ID, Actor: "client",
			IP: cl.IP, UserAgent: cl.UserAgent, Outcome: audit.Failure, Reason: "session_revoked"}); aerr != nil {
			return aerr
		}
		return badGrant("authorization code was already used", err)
	}
	if errors.Is(err, oidc.ErrCodeInvalid) {
		return badGrant("authorization code is invalid, expired or already used", err)
	}
	if err != nil {
		return err
	}
	if g.ClientID != c.ID || g.RedirectURI != form.Get("redirect_uri") {
		return badGrant("authorization code was issued to another client or redirect_uri", nil)
	}
	verifier := form.Get("code_verifier")
	if g.CodeChallenge != "" && !oidc.VerifyPKCE(g.CodeChallenge, verifier) || g.CodeChallenge == "" && verifier != "" {
		return badGrant("code_verifier does not match the code_challenge", nil)
	}
	// The browser session that authorized must still be live, its user enabled.
	if _, err := s.cfg.Sessions.Get(ctx, g.SessionID); errors.Is(err, sessions.ErrInvalid) {
		return badGrant("the session that authorized this code has ended", err)
	} else if err != nil {
		return err
	}
	u, err := s.cfg.Accounts.User(ctx, g.UserID)
	if errors.Is(err, users.ErrNotFound) || err == nil && u.Disabled {
		return badGrant("the user is disabled", err)
	}
	if err != nil {
		return err
	}
	cl := s.client(r)
	sess, _, rt, err := s.cfg.Sessions.CreateWithRefresh(ctx, u.ID, sessions.Meta{AMR: g.AMR, AuthTime: g.AuthTime, IP: cl.IP, UserAgent: cl.UserAgent, ClientID: c.ID})
	if err != nil {
		return err
	}
	if err := s.cfg.OIDCCodes.MarkRedeemed(ctx, code, sess.ID); err != nil {
		return err
	}
	return s.clientTokens(w, r, c, sess, u, g.Scopes, g.Nonce, string(rt))
}

func (s *Server) clientRefresh(w http.ResponseWriter, r *http.Request, form url.Values, c *oidc.Client) error {
	rt := form.Get("refresh_token")
	if rt == "" {
		return errorf(http.StatusBadRequest, codeInvalidRequest, "refresh_token is required")
	}
	res, err := s.cfg.Accounts.Refresh(r.Context(), rt, s.client(r))
	s.cfg.Metrics.refreshed(res, err)
	if errors.Is(err, sessions.ErrInvalid) {
		return badGrant("refresh token is invalid, expired or revoked", err)
	}
	if err != nil {
		return err
	}
	endSession := func(desc string) error {
		if err := s.cfg.Sessions.Revoke(r.Context(), res.Session.ID); err != nil && !errors.Is(err, sessions.ErrNotFound) {
			return err
		}
		return badGrant(desc, nil)
	}
	if res.Session.ClientID != c.ID {
		return endSession("refresh token was issued to another client")
	}
	cons, err := s.cfg.OIDC.Consent(r.Context(), res.User.ID, c.ID)
	if errors.Is(err, oidc.ErrNotFound) || err == nil && !slices.Contains(cons.Scopes, oidc.ScopeOffline) {
		return endSession("the user's consent was revoked")
	}
	if err != nil {
		return err
	}
	scopes := cons.Scopes
	if want := strings.Fields(form.Get("scope")); len(want) > 0 { // RFC 6749 §6: narrow, never widen
		if !cons.Covers(want) {
			return &Error{Status: http.StatusBadRequest, Code: "invalid_scope", Description: "scope exceeds what was granted"}
		}
		scopes = want
	}
	return s.clientTokens(w, r, c, res.Session, res.User, scopes, "", string(res.Refresh))
}

// clientTokens answers a token request of a registered client. A refresh token is returned
// only with the offline_access scope.
func (s *Server) clientTokens(w http.ResponseWriter, r *http.Request, c *oidc.Client, sess *sessions.Session, u *users.User, scopes []string, nonce, rt string) error {
	scope := strings.Join(scopes, " ")
	at, err := s.cfg.Tokens.IssueAccessFor(r.Context(), sess, c.ID, scope, c.AccessTTL)
	if err != nil {
		return err
	}
	id, err := s.cfg.Tokens.IssueIDFor(r.Context(), sess, u, tokens.IDParams{ClientID: c.ID, Nonce: nonce, AccessToken: string(at.Token),
		Email: slices.Contains(scopes, oidc.ScopeEmail), Profile: slices.Contains(scopes, oidc.ScopeProfile), TTL: c.IDTTL})
	if err != nil {
		return err
	}
	ttl := c.AccessTTL
	if ttl <= 0 {
		ttl = s.cfg.Tokens.Config().AccessTTL
	}
	out := map[string]any{"access_token": string(at.Token), "token_type": "Bearer", "expires_in": int(ttl.Seconds()), "id_token": id, "scope": scope}
	if slices.Contains(scopes, oidc.ScopeOffline) {
		out["refresh_token"] = rt
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, out)
	return nil
}
