package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/oidc"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
	"github.com/gatehouse-auth/gatehouse/internal/tokens"
	"github.com/gatehouse-auth/gatehouse/jws"
)

// RFC 6749 §5.2 error codes (API: never rename one).
const (
	codeInvalidGrant     = "invalid_grant"
	codeInvalidClient    = "invalid_client"
	codeUnsupportedGrant = "unsupported_grant_type"
)

// RefreshCookie holds the refresh token for browsers using token delivery with cookies.
const RefreshCookie = "__Host-gh_refresh"

// tokenResponse is RFC 6749 §5.1 plus the OIDC id_token and our session id.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token"`
	Scope        string `json:"scope,omitempty"`
	SessionID    string `json:"session_id"`
}

// issueTokens mints the access and ID tokens of a session.
func (s *Server) issueTokens(r *http.Request, res *accounts.Result) (*tokenResponse, error) {
	scope, err := s.accessScope(r, res.Session)
	if err != nil {
		return nil, err
	}
	at, err := s.cfg.Tokens.IssueAccess(r.Context(), res.Session, scope)
	if err != nil {
		return nil, err
	}
	id, err := s.cfg.Tokens.IssueID(r.Context(), res.Session, res.User, "")
	if err != nil {
		return nil, err
	}
	return &tokenResponse{
		AccessToken: string(at.Token), TokenType: "Bearer", ExpiresIn: int(time.Until(at.ExpiresAt).Round(time.Second).Seconds()),
		RefreshToken: string(res.Refresh), IDToken: id, Scope: scope, SessionID: res.Session.ID,
	}, nil
}

// deliverTokens answers a token-delivery sign-in. With inCookie, the refresh token goes in
// an HttpOnly cookie rather than the body.
func (s *Server) deliverTokens(w http.ResponseWriter, r *http.Request, res *accounts.Result, status int, inCookie bool) error {
	tr, err := s.issueTokens(r, res)
	if err != nil {
		return err
	}
	tr.ExpiresIn = int(s.cfg.Tokens.Config().AccessTTL.Seconds())
	if inCookie {
		http.SetCookie(w, s.makeRefreshCookie(tr.RefreshToken, res.Session.ExpiresAt))
		tr.RefreshToken = ""
	}
	writeJSON(w, status, tr)
	return nil
}

// makeRefreshCookie is the browser home of a refresh token: __Host-, Secure, HttpOnly,
// SameSite=Strict (it is only ever sent to our own token endpoint by our own pages).
func (s *Server) makeRefreshCookie(value string, expires time.Time) *http.Cookie {
	c := &http.Cookie{Name: s.refreshCookie, Value: value, Path: "/", Secure: !s.cfg.InsecureDevCookies, HttpOnly: true, SameSite: http.SameSiteStrictMode}
	if value == "" {
		c.MaxAge = -1
	} else {
		c.Expires = expires.UTC()
	}
	return c
}

// formParams parses an OAuth request body (RFC 6749 §3.2: form-encoded, each parameter at
// most once). Anything in the query string is refused: secrets never travel in URLs.
func formParams(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	if r.URL.RawQuery != "" {
		return nil, errorf(http.StatusBadRequest, codeInvalidRequest, "parameters must be sent in the request body, not the URL")
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, errorf(http.StatusBadRequest, codeInvalidRequest, "request body must be application/x-www-form-urlencoded")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		var big *http.MaxBytesError
		if errors.As(err, &big) {
			return nil, errorf(http.StatusRequestEntityTooLarge, codeTooLarge, "request body is larger than %d bytes", maxBody)
		}
		return nil, errorf(http.StatusBadRequest, codeInvalidRequest, "request body is not valid form encoding")
	}
	if err := checkParams(r.PostForm, "form"); err != nil {
		return nil, err
	}
	for k, v := range r.PostForm {
		if len(v) > 1 {
			return nil, errorf(http.StatusBadRequest, codeInvalidRequest, "parameter %q is repeated", k)
		}
	}
	return r.PostForm, nil
}

// publicClient authenticates the first-party public client: client_id in the body, or HTTP
// Basic with that id and an empty secret (as golang.org/x/oauth2 sends it).
func (s *Server) publicClient(r *http.Request, form url.Values) error {
	id := form.Get("client_id")
	if u, p, ok := r.BasicAuth(); ok {
		if id != "" && id != u {
			return errorf(http.StatusBadRequest, codeInvalidRequest, "client_id differs between body and Authorization")
		}
		if p != "" {
			return &Error{Status: http.StatusUnauthorized, Code: codeInvalidClient, Description: "unknown client credentials"}
		}
		id = u
	}
	if id != s.cfg.Tokens.Config().ClientID {
		return &Error{Status: http.StatusUnauthorized, Code: codeInvalidClient, Description: "unknown client"}
	}
	return nil
}

// token is POST /oauth/token.
func (s *Server) token(w http.ResponseWriter, r *http.Request) error {
	form, err := formParams(w, r)
	if err != nil {
		return err
	}
	if form.Get("grant_type") == "client_credentials" {
		return s.clientCredentials(w, r, form)
	}
	if s.cfg.OIDC != nil {
		if handled, err := s.oidcToken(w, r, form); handled {
			return err
		}
	}
	if err := s.publicClient(r, form); err != nil {
		return err
	}
	switch form.Get("grant_type") {
	case grantTokenExchange:
		return s.tokenExchange(w, r, form)
	case "refresh_token":
	case "":
		return errorf(http.StatusBadRequest, codeInvalidRequest, "grant_type is required")
	default:
		return errorf(http.StatusBadRequest, codeUnsupportedGrant, "grant_type %q is not supported", cleanHeader(form.Get("grant_type"), 64))
	}
	rt, fromCookie := form.Get("refresh_token"), false
	if rt == "" {
		if c, err := r.Cookie(s.refreshCookie); err == nil && c.Value != "" {
			rt, fromCookie = c.Value, true
		}
	}
	if rt == "" {
		return errorf(http.StatusBadRequest, codeInvalidRequest, "refresh_token is required")
	}
	res, err := s.cfg.Accounts.Refresh(r.Context(), rt, s.client(r))
	s.cfg.Metrics.refreshed(res, err)
	if errors.Is(err, sessions.ErrInvalid) {
		return &Error{Status: http.StatusBadRequest, Code: codeInvalidGrant, Description: "refresh token is invalid, expired or revoked", Err: err}
	}
	if err != nil {
		return err
	}
	if c := res.Session.ClientID; c != "" && c != s.cfg.Tokens.Config().ClientID {
		// A registered client's refresh token at the first-party client: end that session.
		if err := s.cfg.Sessions.Revoke(r.Context(), res.Session.ID); err != nil && !errors.Is(err, sessions.ErrNotFound) {
			return err
		}
		return errorf(http.StatusBadRequest, codeInvalidGrant, "refresh token was issued to another client")
	}
	tr, err := s.issueTokens(r, res)
	if err != nil {
		return err
	}
	if fromCookie {
		http.SetCookie(w, s.makeRefreshCookie(tr.RefreshToken, res.Session.ExpiresAt))
		tr.RefreshToken = ""
	}
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, tr)
	return nil
}

// jwks is GET /.well-known/jwks.json.
func (s *Server) jwks(w http.ResponseWriter, r *http.Request) error {
	pks, err := s.cfg.Keys.PublicKeys(r.Context())
	if err != nil {
		return err
	}
	b, err := jws.MarshalJWKSet(pks)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(s.cfg.Keys.Config().JWKSMaxAge.Seconds())))
	w.Write(b)
	return nil
}

// discovery is GET /.well-known/openid-configuration (OpenID Connect Discovery 1.0 §3).
func (s *Server) discovery(w http.ResponseWriter, r *http.Request) error {
	iss := s.cfg.Tokens.Config().Issuer
	w.Header().Set("Cache-Control", "public, max-age=3600")
	d := map[string]any{
		"issuer":                                iss,
		"jwks_uri":                              iss + "/.well-known/jwks.json",
		"token_endpoint":                        iss + "/oauth/token",
		"introspection_endpoint":                iss + "/oauth/introspect",
		"revocation_endpoint":                   iss + "/oauth/revoke",
		"userinfo_endpoint":                     iss + "/oauth/userinfo",
		"grant_types_supported":                 s.grantTypes(),
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{string(s.cfg.Keys.Config().Algorithm)},
		"token_endpoint_auth_methods_supported": []string{"none", "client_secret_basic", "client_secret_post"},
		"scopes_supported":                      []string{"openid", "email"},
		"claims_supported":                      []string{"iss", "sub", "aud", "exp", "iat", "jti", "auth_time", "nonce", "amr", "sid", "client_id", "scope", "email", "email_verified"},
	}
	if s.cfg.OIDC != nil { // docs/oidc.md: exactly what the code flow supports
		d["authorization_endpoint"] = iss + "/oauth/authorize"
		d["response_modes_supported"] = []string{"query", "form_post"}
		d["code_challenge_methods_supported"] = []string{"S256"}
		d["authorization_response_iss_parameter_supported"] = true
		d["scopes_supported"] = oidc.SupportedScopes
		d["prompt_values_supported"] = []string{"none", "login", "consent", "select_account"}
		d["acr_values_supported"] = []string{"urn:gatehouse:acr:pwd", oidc.ACRMFA, "urn:gatehouse:acr:phr"}
		d["claims_parameter_supported"] = false
		d["request_parameter_supported"] = false
		d["request_uri_parameter_supported"] = false
		d["end_session_endpoint"] = iss + "/oauth/logout"
		d["backchannel_logout_supported"] = true
		d["backchannel_logout_session_supported"] = true
		d["revocation_endpoint_auth_methods_supported"] = []string{"none", "client_secret_basic", "client_secret_post"}
		d["claims_supported"] = []string{"iss", "sub", "aud", "exp", "iat", "jti", "auth_time", "nonce", "acr", "amr", "at_hash", "azp", "sid",
			"client_id", "scope", "email", "email_verified", "name", "locale", "picture", "updated_at"}
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

func (s *Server) grantTypes() []string {
	g := []string{"refresh_token"}
	if s.cfg.AccessKeys != nil {
		g = append(g, "client_credentials")
	}
	if s.cfg.Legacy != nil {
		g = append(g, grantTokenExchange)
	}
	if s.cfg.OIDC != nil {
		g = append(g, "authorization_code")
	}
	return g
}

// userinfo is GET and POST /oauth/userinfo (OpenID Connect Core §5.3). By POST the access
// token may also come as the form field access_token (RFC 6750 §2.2), never both ways.
func (s *Server) userinfo(w http.ResponseWriter, r *http.Request) error {
	tok, ok := bearer(r)
	if r.Method == http.MethodPost {
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
			form, err := formParams(w, r)
			if err != nil {
				return err
			}
			if form.Has("access_token") {
				if ok {
					return errorf(http.StatusBadRequest, codeInvalidRequest, "the access token must be sent one way only (RFC 6750 §2)")
				}
				tok, ok = form.Get("access_token"), true
			}
		}
	}
	if !ok || !tokens.LooksLikeJWT(tok) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		return errorf(http.StatusUnauthorized, "invalid_token", "an access token is required")
	}
	c, _, err := s.cfg.Tokens.VerifyAccess(r.Context(), tok)
	if errors.Is(err, tokens.ErrInvalid) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		return &Error{Status: http.StatusUnauthorized, Code: "invalid_token", Description: "access token is invalid, expired or revoked", Err: err}
	}
	if err != nil {
		return err
	}
	u, err := s.cfg.Accounts.User(r.Context(), c.Subject)
	if err != nil || u.Disabled {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		return errorf(http.StatusUnauthorized, "invalid_token", "access token is invalid, expired or revoked")
	}
	if c.ClientID == s.cfg.Tokens.Config().ClientID {
		writeJSON(w, http.StatusOK, map[string]any{"sub": u.ID, "email": u.Email, "email_verified": u.EmailVerified})
		return nil
	}
	// A registered client's token: the claims its scopes grant (OpenID Connect Core §5.4).
	out := map[string]any{"sub": u.ID}
	scopes := strings.Fields(c.Scope)
	if slices.Contains(scopes, "email") {
		out["email"], out["email_verified"] = u.Email, u.EmailVerified
	}
	if slices.Contains(scopes, "profile") {
		for k, v := range map[string]string{"name": u.Name, "locale": u.Locale, "picture": u.Picture} {
			if v != "" {
				out[k] = v
			}
		}
		out["updated_at"] = u.UpdatedAt.Unix()
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// introspect is POST /oauth/introspect (RFC 7662). The caller authenticates with the
// management key or an access key with the scope gatehouse:introspect. Anything not a live
// credential of ours answers exactly {"active": false}. A client token (minted from an access
// key) is active only while its key exists, has not expired and its owner is enabled.
func (s *Server) introspect(w http.ResponseWriter, r *http.Request) error {
	form, err := formParams(w, r)
	if err != nil {
		return err
	}
	tok := form.Get("token")
	if tok == "" {
		return errorf(http.StatusBadRequest, codeInvalidRequest, "token is required")
	}
	inactive := map[string]bool{"active": false}
	switch {
	case tokens.LooksLikeJWT(tok):
		if c, err := s.cfg.Tokens.Parse(tok); err == nil && c.IsClient() {
			c, err := s.cfg.Tokens.VerifyClientAccess(r.Context(), tok)
			if errors.Is(err, tokens.ErrInvalid) {
				writeJSON(w, http.StatusOK, inactive)
				return nil
			}
			if err != nil {
				return err
			}
			writeJSON(w, http.StatusOK, map[string]any{"active": true, "token_type": "access_token", "sub": c.Subject,
				"exp": c.Expiry, "iat": c.IssuedAt, "scope": c.Scope, "client_id": c.ClientID, "iss": c.Issuer, "jti": c.ID, "aud": c.Audience})
			return nil
		}
		c, sess, err := s.cfg.Tokens.VerifyAccess(r.Context(), tok)
		if errors.Is(err, tokens.ErrInvalid) {
			writeJSON(w, http.StatusOK, inactive)
			return nil
		}
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"active": true, "token_type": "access_token", "sub": c.Subject, "sid": sess.ID,
			"exp": c.Expiry, "iat": c.IssuedAt, "scope": c.Scope, "client_id": c.ClientID, "iss": c.Issuer, "jti": c.ID, "aud": c.Audience})
	case strings.HasPrefix(tok, sessions.RefreshTokenPrefix):
		sess, err := s.cfg.Sessions.PeekRefresh(r.Context(), tok)
		if errors.Is(err, sessions.ErrInvalid) {
			writeJSON(w, http.StatusOK, inactive)
			return nil
		}
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"active": true, "token_type": "refresh_token", "sub": sess.UserID, "sid": sess.ID,
			"exp": sess.IdleExpiresAt(s.cfg.Sessions.Config().IdleTimeout).Unix(), "iat": sess.CreatedAt.Unix(), "client_id": sess.ClientID})
	default:
		sess, err := s.cfg.Sessions.Validate(r.Context(), tok)
		if errors.Is(err, sessions.ErrInvalid) {
			writeJSON(w, http.StatusOK, inactive)
			return nil
		}
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"active": true, "token_type": "session", "sub": sess.UserID, "sid": sess.ID,
			"exp": sess.IdleExpiresAt(s.cfg.Sessions.Config().IdleTimeout).Unix(), "iat": sess.CreatedAt.Unix(), "client_id": sess.ClientID})
	}
	return nil
}

// revoke is POST /oauth/revoke (RFC 7009): a refresh token (or session token) ends its
// session; an access token's jti is revoked until it expires. Unknown tokens answer 200.
// revokeLimit bounds RFC 7009 revocations per client address: far above what logouts need,
// low enough that nobody can turn the endpoint into a write (and feed) amplifier.
var revokeLimit = ratelimit.Limit{Burst: 100, Per: 100 * time.Millisecond}

// allow takes a token from the caller's bucket for what; a refused request answers 429
// rate_limited with Retry-After, and an unreachable bucket store fails closed (503).
func (s *Server) allow(r *http.Request, what string, l ratelimit.Limit) error {
	if s.cfg.Buckets == nil {
		return nil
	}
	res, err := s.cfg.Buckets.Allow(r.Context(), "http:"+what+":"+s.client(r).RateKey, l, s.cfg.Now())
	if err != nil {
		return err
	}
	if !res.Allowed {
		return &accounts.RateLimitedError{RetryAfter: res.RetryAfter, Limit: what + " " + l.String()}
	}
	return nil
}

func (s *Server) revoke(w http.ResponseWriter, r *http.Request) error {
	form, err := formParams(w, r)
	if err != nil {
		return err
	}
	owner, err := s.revokeCaller(r, form) // docs/oidc.md: a registered client revokes only its own tokens
	if err != nil {
		return err
	}
	if err := s.allow(r, "revoke", revokeLimit); err != nil {
		return err
	}
	tok := form.Get("token")
	if tok == "" {
		return errorf(http.StatusBadRequest, codeInvalidRequest, "token is required")
	}
	var sessionID string
	switch {
	case tokens.LooksLikeJWT(tok):
		c, err := s.cfg.Tokens.Parse(tok) // a session token or a client token
		if err == nil && (owner == "" || c.ClientID == owner) {
			if err := s.cfg.Sessions.RevokeTokenID(r.Context(), c.ID, c.Session, c.Subject, time.Unix(c.Expiry, 0).Add(s.cfg.Tokens.Config().Leeway)); err != nil {
				return err
			}
		}
	case strings.HasPrefix(tok, sessions.RefreshTokenPrefix):
		if sess, err := s.cfg.Sessions.PeekRefresh(r.Context(), tok); err == nil {
			if owner == "" || sess.ClientID == owner {
				sessionID = sess.ID
			}
		} else if !errors.Is(err, sessions.ErrInvalid) {
			return err
		}
	case owner != "": // registered clients hold no session tokens
	default:
		if sess, err := s.cfg.Sessions.Validate(r.Context(), tok); err == nil {
			sessionID = sess.ID
		} else if !errors.Is(err, sessions.ErrInvalid) {
			return err
		}
	}
	if sessionID != "" {
		if err := s.cfg.Sessions.Revoke(r.Context(), sessionID); err != nil && !errors.Is(err, sessions.ErrNotFound) {
			return err
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	return nil
}

// revocationEntry is one entry of the feed (docs/architecture.md): a session (sid), one access token
// (jti), or the tokens of one access key (client_id: every token with that client_id, issued
// before issued_before when present) that ended, and until when it matters. sub is the user
// concerned, for information: it revokes nothing by itself. docs/consistency.md.
type revocationEntry struct {
	SID          string `json:"sid,omitempty"`
	JTI          string `json:"jti,omitempty"`
	ClientID     string `json:"client_id,omitempty"`
	IssuedBefore int64  `json:"issued_before,omitempty"`
	Sub          string `json:"sub,omitempty"`
	Until        int64  `json:"until"`
}

func toEntry(e sessions.Revocation) revocationEntry {
	re := revocationEntry{SID: e.SessionID, JTI: e.TokenID, ClientID: e.ClientID, Sub: e.UserID, Until: e.Until.Unix()}
	if !e.IssuedBefore.IsZero() {
		// Tokens carry iat in whole seconds: round up, so that every token issued before
		// the instant is covered.
		re.IssuedBefore = e.IssuedBefore.Add(time.Second - 1).Unix()
	}
	return re
}

func parseCursor(v string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	c, err := strconv.ParseInt(v, 10, 64)
	if err != nil || c < 0 {
		return 0, errorf(http.StatusBadRequest, codeInvalidRequest, "cursor must be a value from a previous answer")
	}
	return c, nil
}

// revocations is GET /v1/revocations?after=<cursor>: the revocation feed for resource
// servers (management key, or an access key with the scope gatehouse:revocations).
func (s *Server) revocations(w http.ResponseWriter, r *http.Request) error {
	cursor, err := parseCursor(r.URL.Query().Get("after"))
	if err != nil {
		return err
	}
	list, err := s.cfg.Sessions.RevocationsAfter(r.Context(), cursor, 1000)
	if err != nil {
		return err
	}
	out := make([]revocationEntry, 0, len(list))
	for _, e := range list {
		out = append(out, toEntry(e))
		cursor = e.Cursor
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": out, "cursor": strconv.FormatInt(cursor, 10)})
	return nil
}

// revocationStream is GET /v1/revocations/stream: the feed as Server-Sent Events. Each entry
// is an event "revocation" whose id is its cursor, so a client that reconnects with
// Last-Event-ID (or ?after=) misses nothing. Entries are pushed as revocations happen (at
// once for this instance, within 250 ms for others).
func (s *Server) revocationStream(w http.ResponseWriter, r *http.Request) error {
	last := r.Header.Get("Last-Event-ID")
	if last == "" {
		last = r.URL.Query().Get("after")
	}
	cursor, err := parseCursor(last)
	if err != nil {
		return err
	}
	ctx := r.Context()
	// Subscribe before the first read so that nothing revoked in between is missed.
	notify, cancel := s.cfg.Sessions.Subscribe()
	defer cancel()
	s.cfg.Metrics.streams.Inc()
	defer s.cfg.Metrics.streams.Dec()
	list, err := s.cfg.Sessions.RevocationsAfter(ctx, cursor, 1000)
	if err != nil {
		return err // before any byte is written: a normal error answer
	}
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "retry: 1000\n\n")
	send := func(list []sessions.Revocation) error {
		for _, e := range list {
			b, _ := json.Marshal(toEntry(e))
			if _, err := fmt.Fprintf(w, "id: %d\nevent: revocation\ndata: %s\n\n", e.Cursor, b); err != nil {
				return err
			}
			cursor = e.Cursor
		}
		return rc.Flush()
	}
	if err := send(list); err != nil {
		return nil
	}
	beat := time.NewTicker(s.cfg.StreamHeartbeat)
	defer beat.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-beat.C:
			// A stream outlives its credential's check: end it when the access key behind
			// it has been deleted, has expired or lost the scope (the client reconnects and
			// is refused).
			if !s.keyStillValid(ctx, callerKey(r), ScopeRevocations) {
				return nil
			}
			if _, err := fmt.Fprint(w, ": heartbeat\n\n"); err != nil || rc.Flush() != nil {
				return nil
			}
		case <-notify:
			for {
				list, err := s.cfg.Sessions.RevocationsAfter(ctx, cursor, 1000)
				if err != nil {
					// The stream cannot carry an error status any more: end it, and let the
					// client reconnect (and fail closed by its own staleness rule).
					s.log.WarnContext(ctx, "revocation stream ended", "request_id", requestID(ctx), "err", err)
					return nil
				}
				if err := send(list); err != nil {
					return nil
				}
				if len(list) < 1000 {
					break
				}
			}
		}
	}
}

func (s *Server) adminKeys(w http.ResponseWriter, r *http.Request) error {
	list, err := s.cfg.Keys.List(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": list})
	return nil
}

func (s *Server) adminRotateKeys(w http.ResponseWriter, r *http.Request) error {
	kid, err := s.cfg.Keys.RotateNow(r.Context())
	if err != nil {
		return err
	}
	s.cfg.Metrics.rotation.Inc()
	c := s.client(r)
	if err := s.cfg.Audit.Record(r.Context(), audit.Event{Type: audit.AdminKeysRotated, Actor: "admin", IP: c.IP, UserAgent: c.UserAgent, Outcome: audit.Success}); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"active_kid": kid})
	return nil
}
