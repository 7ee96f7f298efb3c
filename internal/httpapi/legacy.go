package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/legacy"
	"github.com/gatehouse-auth/gatehouse/jws"
)

// grantTokenExchange is RFC 8693's grant type.
const grantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"

// Error codes of the legacy-issuer administration (API: never rename one).
const (
	codeLegacyIssuerNotFound = "legacy_issuer_not_found"
	codeLegacyIssuerExists   = "legacy_issuer_exists"
	codeInvalidLegacyIssuer  = "invalid_legacy_issuer"
)

// legacyError maps the errors of the legacy package; nil when err is none of them.
func legacyError(err error) *Error {
	var ref *legacy.Refusal
	switch {
	case errors.As(err, &ref):
		return &Error{Status: http.StatusBadRequest, Code: codeInvalidGrant, Description: ref.Description, Err: err}
	case errors.Is(err, legacy.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: codeLegacyIssuerNotFound, Description: "no such legacy issuer", Err: err}
	case errors.Is(err, legacy.ErrConflict):
		return &Error{Status: http.StatusConflict, Code: codeLegacyIssuerExists, Description: "a legacy issuer with this issuer URL already exists", Err: err}
	case errors.Is(err, legacy.ErrInvalid):
		return &Error{Status: http.StatusBadRequest, Code: codeInvalidLegacyIssuer, Description: err.Error(), Err: err}
	}
	return nil
}

// legacyMetrics counts exchanges by outcome: "success", "rate_limited", "error", or the
// refusal reason (legacy.Reasons).
func newLegacyMetrics(reg *prometheus.Registry) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_legacy_exchanges_total", Help: "Legacy-token exchanges by outcome (success, a refusal reason, rate_limited, error).",
	}, []string{"outcome"})
	reg.MustRegister(c)
	return c
}

// exchangeLegacy runs an exchange and counts its outcome.
func (s *Server) exchangeLegacy(r *http.Request, token, typ string, c accounts.Client) (*accounts.Result, error) {
	res, err := s.cfg.Legacy.Exchange(r.Context(), token, typ, c)
	outcome := "success"
	var ref *legacy.Refusal
	var rl *accounts.RateLimitedError
	switch {
	case errors.As(err, &ref):
		outcome = ref.Reason
	case errors.As(err, &rl):
		outcome = "rate_limited"
	case err != nil:
		outcome = "error"
	}
	s.legacyExchanges.WithLabelValues(outcome).Inc()
	return res, err
}

// tokenExchange is the RFC 8693 grant at POST /oauth/token (§2.1): a legacy issuer's token
// in subject_token becomes a Gatehouse session, answered as a token response with
// issued_token_type (§2.2.1). The client was authenticated by the caller.
func (s *Server) tokenExchange(w http.ResponseWriter, r *http.Request, form url.Values) error {
	if s.cfg.Legacy == nil {
		return errorf(http.StatusBadRequest, codeUnsupportedGrant, "token exchange is not enabled")
	}
	for _, p := range []string{"actor_token", "actor_token_type"} {
		if form.Get(p) != "" {
			return errorf(http.StatusBadRequest, codeInvalidRequest, "%s is not supported: Gatehouse exchanges only the subject's own token", p)
		}
	}
	if t := form.Get("requested_token_type"); t != "" && t != legacy.TokenTypeAccess {
		return errorf(http.StatusBadRequest, codeInvalidRequest, "requested_token_type must be urn:ietf:params:oauth:token-type:access_token")
	}
	tok, typ := form.Get("subject_token"), form.Get("subject_token_type")
	if tok == "" || typ == "" {
		return errorf(http.StatusBadRequest, codeInvalidRequest, "subject_token and subject_token_type are required")
	}
	c := s.client(r)
	c.Delivery = accounts.DeliverTokens
	res, err := s.exchangeLegacy(r, tok, typ, c)
	if err != nil {
		return err
	}
	tr, err := s.issueTokens(r, res)
	if err != nil {
		return err
	}
	tr.ExpiresIn = int(s.cfg.Tokens.Config().AccessTTL.Seconds())
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, struct {
		*tokenResponse
		IssuedTokenType string `json:"issued_token_type"`
	}{tr, legacy.TokenTypeAccess})
	return nil
}

// exchange is POST /v1/exchange: the browser form of the token exchange, answered exactly as
// /v1/login (a session cookie by default).
func (s *Server) exchange(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		SubjectToken     string `json:"subject_token"`
		SubjectTokenType string `json:"subject_token_type"`
		Delivery         string `json:"delivery"`
		RefreshCookie    bool   `json:"refresh_cookie"`
	}
	if err := decodeJSON(w, r, &in, false); err != nil {
		return err
	}
	if err := required("subject_token", in.SubjectToken); err != nil {
		return err
	}
	if in.SubjectTokenType == "" {
		in.SubjectTokenType = legacy.TokenTypeJWT
	}
	cred := credentials{Delivery: in.Delivery, RefreshCookie: in.RefreshCookie, Email: "-", Password: "-"}
	if err := cred.check(); err != nil {
		return err
	}
	res, err := s.exchangeLegacy(r, in.SubjectToken, in.SubjectTokenType, cred.client(s.client(r)))
	if err != nil {
		return err
	}
	s.endPreviousSession(r)
	return s.deliver(w, r, &cred, res, http.StatusOK)
}

// legacyIssuerJSON is a legacy issuer as the management API shows and takes it.
type legacyIssuerJSON struct {
	ID          string            `json:"id"`
	Issuer      string            `json:"issuer"`
	JWKSURI     *string           `json:"jwks_uri"`
	Audiences   []string          `json:"audiences"`
	TokenTypes  []string          `json:"token_types"`
	Algorithms  []string          `json:"algorithms"`
	Match       []string          `json:"match"`
	CreateUsers bool              `json:"create_users"`
	Claims      legacy.ClaimNames `json:"claims"`
	AcceptUntil *time.Time        `json:"accept_until"`
	CreatedAt   time.Time         `json:"created_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
}

func toLegacyIssuerJSON(is *legacy.Issuer) legacyIssuerJSON {
	algs := make([]string, len(is.Algorithms))
	for i, a := range is.Algorithms {
		algs[i] = string(a)
	}
	return legacyIssuerJSON{ID: is.ID, Issuer: is.Issuer, JWKSURI: optString(is.JWKSURI), Audiences: nonNil(is.Audiences),
		TokenTypes: nonNil(is.TokenTypes), Algorithms: algs, Match: nonNil(is.Match), CreateUsers: is.CreateUsers, Claims: is.Claims,
		AcceptUntil: optTime(is.AcceptUntil), CreatedAt: is.CreatedAt, UpdatedAt: is.UpdatedAt}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// legacyIssuerSpec is the body of a create request and of an update, where absent members
// keep their value; null clears jwks_uri (back to discovery) and accept_until (no end), and an
// empty list gives token_types, algorithms and match their defaults again.
type legacyIssuerSpec struct {
	Issuer      *string            `json:"issuer"`
	JWKSURI     json.RawMessage    `json:"jwks_uri"`
	Audiences   *[]string          `json:"audiences"`
	TokenTypes  *[]string          `json:"token_types"`
	Algorithms  *[]string          `json:"algorithms"`
	Match       *[]string          `json:"match"`
	CreateUsers *bool              `json:"create_users"`
	Claims      *legacy.ClaimNames `json:"claims"`
	AcceptUntil json.RawMessage    `json:"accept_until"`
}

func (sp *legacyIssuerSpec) apply(is *legacy.Issuer) error {
	if sp.Issuer != nil {
		is.Issuer = *sp.Issuer
	}
	if sp.Audiences != nil {
		is.Audiences = *sp.Audiences
	}
	if sp.TokenTypes != nil {
		is.TokenTypes = *sp.TokenTypes
	}
	if sp.Algorithms != nil {
		is.Algorithms = is.Algorithms[:0:0]
		for _, a := range *sp.Algorithms {
			is.Algorithms = append(is.Algorithms, jws.Algorithm(a))
		}
	}
	if sp.Match != nil {
		is.Match = *sp.Match
	}
	if sp.CreateUsers != nil {
		is.CreateUsers = *sp.CreateUsers
	}
	if sp.Claims != nil {
		is.Claims = *sp.Claims
	}
	switch {
	case sp.JWKSURI == nil:
	case isNull(sp.JWKSURI):
		is.JWKSURI = ""
	default:
		if err := json.Unmarshal(sp.JWKSURI, &is.JWKSURI); err != nil {
			return errorf(http.StatusBadRequest, codeInvalidRequest, "jwks_uri must be a string or null")
		}
	}
	switch {
	case sp.AcceptUntil == nil:
	case isNull(sp.AcceptUntil):
		is.AcceptUntil = time.Time{}
	default:
		var t time.Time
		if err := json.Unmarshal(sp.AcceptUntil, &t); err != nil {
			return errorf(http.StatusBadRequest, codeInvalidRequest, "accept_until must be an RFC 3339 time or null")
		}
		is.AcceptUntil = t.UTC()
	}
	return nil
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

func (s *Server) adminActor(r *http.Request) legacy.Actor {
	c := s.client(r)
	return legacy.Actor{IP: c.IP, UserAgent: c.UserAgent}
}

func (s *Server) adminCreateLegacyIssuer(w http.ResponseWriter, r *http.Request) error {
	var in legacyIssuerSpec
	if err := decodeJSON(w, r, &in, false); err != nil {
		return err
	}
	var is legacy.Issuer
	if err := in.apply(&is); err != nil {
		return err
	}
	if err := s.cfg.Legacy.Create(r.Context(), &is, s.adminActor(r)); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toLegacyIssuerJSON(&is))
	return nil
}

func (s *Server) adminListLegacyIssuers(w http.ResponseWriter, r *http.Request) error {
	list, err := s.cfg.Legacy.List(r.Context())
	if err != nil {
		return err
	}
	out := make([]legacyIssuerJSON, 0, len(list))
	for _, is := range list {
		out = append(out, toLegacyIssuerJSON(is))
	}
	writeJSON(w, http.StatusOK, map[string]any{"legacy_issuers": out})
	return nil
}

func (s *Server) adminGetLegacyIssuer(w http.ResponseWriter, r *http.Request) error {
	is, err := s.cfg.Legacy.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toLegacyIssuerJSON(is))
	return nil
}

func (s *Server) adminUpdateLegacyIssuer(w http.ResponseWriter, r *http.Request) error {
	var in legacyIssuerSpec
	if err := decodeJSON(w, r, &in, false); err != nil {
		return err
	}
	is, err := s.cfg.Legacy.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := in.apply(is); err != nil {
		return err
	}
	if err := s.cfg.Legacy.Update(r.Context(), is, s.adminActor(r)); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toLegacyIssuerJSON(is))
	return nil
}

func (s *Server) adminDeleteLegacyIssuer(w http.ResponseWriter, r *http.Request) error {
	if err := s.cfg.Legacy.Delete(r.Context(), r.PathValue("id"), s.adminActor(r)); err != nil {
		return err
	}
	writeJSON(w, http.StatusNoContent, nil)
	return nil
}
