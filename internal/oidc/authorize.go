package oidc

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Authorization error codes (RFC 6749 §4.1.2.1, OpenID Connect Core §3.1.2.6).
const (
	ErrInvalidRequest          = "invalid_request"
	ErrUnauthorizedClient      = "unauthorized_client"
	ErrAccessDenied            = "access_denied"
	ErrUnsupportedResponseType = "unsupported_response_type"
	ErrInvalidScope            = "invalid_scope"
	ErrLoginRequired           = "login_required"
	ErrConsentRequired         = "consent_required"
	ErrInteractionRequired     = "interaction_required"
	ErrUnmetAuthn              = "unmet_authentication_requirements"
	ErrRequestNotSupported     = "request_not_supported"
	ErrRequestURINotSupported  = "request_uri_not_supported"
)

// ACRMFA is the acr value that asks for a multi-factor sign-in.
const ACRMFA = "urn:gatehouse:acr:mfa"

// Limits on authorization request parameters.
const (
	MaxParamLen  = 2000 // any single parameter
	MaxStateLen  = 512
	MaxNonceLen  = 512
	maxParams    = 30
	maxHintLen   = 320
	verifierMin  = 43 // RFC 7636 §4.1
	challengeLen = 43 // base64url(SHA-256), unpadded
)

// AuthError is a refused authorization request. Redirect says whether the redirect URI was
// trusted when it was found: if not, the user sees a page and nobody is redirected.
type AuthError struct {
	Code        string
	Description string
	Redirect    bool
}

func (e *AuthError) Error() string { return e.Code + ": " + e.Description }

// Request is a validated authorization request.
type Request struct {
	ClientID      string   `json:"client_id"`
	RedirectURI   string   `json:"redirect_uri"`
	ResponseMode  string   `json:"response_mode"` // "query" or "form_post"
	Scopes        []string `json:"scopes"`
	State         string   `json:"state,omitempty"`
	Nonce         string   `json:"nonce,omitempty"`
	CodeChallenge string   `json:"code_challenge,omitempty"`
	Prompt        []string `json:"prompt,omitempty"` // none, login, consent
	MaxAge        int      `json:"max_age"`          // -1: not given
	RequireMFA    bool     `json:"require_mfa,omitempty"`
	LoginHint     string   `json:"login_hint,omitempty"`
}

// Has reports whether prompt p was requested.
func (r *Request) Has(p string) bool { return slices.Contains(r.Prompt, p) }

// Scope is the space-separated scope string.
func (r *Request) Scope() string { return strings.Join(r.Scopes, " ") }

// CheckClientParams reads client_id and redirect_uri, the two parameters that must be right
// before anything may be sent to the redirect URI. Its errors are never redirected.
func CheckClientParams(q url.Values) (clientID, redirectURI string, err error) {
	for _, k := range []string{"client_id", "redirect_uri"} {
		if len(q[k]) > 1 {
			return "", "", &AuthError{Code: ErrInvalidRequest, Description: k + " is repeated"}
		}
		if len(q.Get(k)) > MaxParamLen {
			return "", "", &AuthError{Code: ErrInvalidRequest, Description: k + " is too long"}
		}
	}
	clientID, redirectURI = q.Get("client_id"), q.Get("redirect_uri")
	if clientID == "" {
		return "", "", &AuthError{Code: ErrInvalidRequest, Description: "client_id is required"}
	}
	if redirectURI == "" {
		// OpenID Connect Core §3.1.2.1 makes redirect_uri required.
		return "", "", &AuthError{Code: ErrInvalidRequest, Description: "redirect_uri is required"}
	}
	return clientID, redirectURI, nil
}

// ParseRequest validates an authorization request for a client whose redirect URI has
// already been matched (see CheckClientParams and Client.MatchRedirectURI). Every error it
// returns may be sent to the redirect URI.
func ParseRequest(q url.Values, c *Client) (*Request, error) {
	bad := func(code, desc string) error { return &AuthError{Code: code, Description: desc, Redirect: true} }
	r := &Request{ClientID: c.ID, RedirectURI: q.Get("redirect_uri"), ResponseMode: "query", MaxAge: -1}
	// The response mode decides how even the errors below are delivered: read it first.
	if len(q["response_mode"]) == 1 {
		switch q.Get("response_mode") {
		case "query", "":
		case "form_post":
			r.ResponseMode = "form_post"
		default:
			return r, bad(ErrInvalidRequest, "response_mode must be query or form_post")
		}
	}
	if len(q) > maxParams {
		return r, bad(ErrInvalidRequest, "too many parameters")
	}
	for k, v := range q {
		if len(v) > 1 {
			return r, bad(ErrInvalidRequest, "parameter "+strconv.Quote(trunc(k))+" is repeated")
		}
		if len(v[0]) > MaxParamLen || len(k) > 100 {
			return r, bad(ErrInvalidRequest, "parameter "+strconv.Quote(trunc(k))+" is too long")
		}
	}
	if st := q.Get("state"); len(st) > MaxStateLen {
		return r, bad(ErrInvalidRequest, "state is longer than "+strconv.Itoa(MaxStateLen)+" bytes")
	} else {
		r.State = st
	}
	if q.Has("request") {
		return r, bad(ErrRequestNotSupported, "request objects are not supported")
	}
	if q.Has("request_uri") {
		return r, bad(ErrRequestURINotSupported, "request_uri is not supported")
	}
	switch rt := q.Get("response_type"); rt {
	case "code":
	case "":
		return r, bad(ErrInvalidRequest, "response_type is required")
	default:
		return r, bad(ErrUnsupportedResponseType, "only response_type=code is supported")
	}
	scopes := strings.Fields(q.Get("scope"))
	if !slices.Contains(scopes, ScopeOpenID) {
		return r, bad(ErrInvalidScope, "scope must include openid")
	}
	for _, s := range scopes {
		if !slices.Contains(SupportedScopes, s) {
			continue // Core §3.1.2.1: scope values not understood are ignored (address, phone)
		}
		if !slices.Contains(c.AllowedScopes, s) {
			return r, bad(ErrInvalidScope, "scope "+strconv.Quote(trunc(s))+" is not allowed for this client")
		}
		if !slices.Contains(r.Scopes, s) {
			r.Scopes = append(r.Scopes, s)
		}
	}
	if n := q.Get("nonce"); len(n) > MaxNonceLen {
		return r, bad(ErrInvalidRequest, "nonce is too long")
	} else {
		r.Nonce = n
	}
	ch, method := q.Get("code_challenge"), q.Get("code_challenge_method")
	switch {
	case ch == "" && method != "":
		return r, bad(ErrInvalidRequest, "code_challenge_method without code_challenge")
	case ch == "" && c.Type == Public:
		return r, bad(ErrInvalidRequest, "PKCE (code_challenge with S256) is required for public clients")
	case ch != "" && method != "S256":
		return r, bad(ErrInvalidRequest, "code_challenge_method must be S256")
	case ch != "" && (len(ch) != challengeLen || !base64URL(ch)):
		return r, bad(ErrInvalidRequest, "code_challenge must be the base64url SHA-256 of the verifier")
	}
	r.CodeChallenge = ch
	for _, p := range strings.Fields(q.Get("prompt")) {
		switch p {
		case "select_account":
			p = "login" // one account per browser session: choosing one means signing in
		case "none", "login", "consent":
		default:
			return r, bad(ErrInvalidRequest, "prompt "+strconv.Quote(trunc(p))+" is not supported")
		}
		if !slices.Contains(r.Prompt, p) {
			r.Prompt = append(r.Prompt, p)
		}
	}
	if r.Has("none") && len(r.Prompt) > 1 {
		return r, bad(ErrInvalidRequest, "prompt=none cannot be combined with other values")
	}
	if v := q.Get("max_age"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 1<<30 {
			return r, bad(ErrInvalidRequest, "max_age must be a non-negative integer")
		}
		r.MaxAge = n
	}
	for _, a := range strings.Fields(q.Get("acr_values")) {
		if a == ACRMFA || a == "urn:gatehouse:acr:phr" {
			r.RequireMFA = true
		}
	}
	if h := q.Get("login_hint"); len(h) > maxHintLen {
		return r, bad(ErrInvalidRequest, "login_hint is too long")
	} else {
		r.LoginHint = h
	}
	return r, nil
}

func trunc(s string) string {
	if len(s) > 40 {
		return s[:40]
	}
	return s
}

func base64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// ResponseParams are the parameters of an authorization response (or error), with iss
// (RFC 9207).
func ResponseParams(issuer, state string, kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			v.Set(kv[i], kv[i+1])
		}
	}
	if state != "" {
		v.Set("state", state)
	}
	v.Set("iss", issuer)
	return v
}

// RedirectURL appends params to the redirect URI's query (RFC 6749 §4.1.2 keeps its own
// query components).
func RedirectURL(redirectURI string, params url.Values) string {
	sep := "?"
	if strings.Contains(redirectURI, "?") {
		sep = "&"
	}
	return redirectURI + sep + params.Encode()
}
