package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/accesskeys"
	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/tokens"
)

// Scopes that make an access key a resource-server credential (docs/architecture.md).
const (
	ScopeIntrospect  = "gatehouse:introspect"
	ScopeRevocations = "gatehouse:revocations"
)

// codeInvalidScope is RFC 6749 §5.2's answer to a scope beyond the key's (API: never rename).
const (
	codeInvalidScope = "invalid_scope"
)

// keyFailureLimit bounds wrong access keys per client address, on every path that takes
// one (the token endpoint, introspection, the revocation feed). A service with a right key
// never comes near it; a guesser gets 20 tries, then one every 6 s. Keys carry 256 bits (or,
// imported, at least 16 characters), so this is about load and noise more than guessing.
var keyFailureLimit = ratelimit.Limit{Burst: 20, Per: 6 * time.Second}

const keyFailureBucket = "access_key_failed"

// errInvalidClient is the one answer to every client authentication failure (RFC 6749
// §5.2): it never says whether the key was malformed, unknown, expired or revoked.
func errInvalidClient(w http.ResponseWriter, err error) error {
	w.Header().Set("WWW-Authenticate", `Basic realm="gatehouse", charset="UTF-8"`)
	return &Error{Status: http.StatusUnauthorized, Code: codeInvalidClient, Description: "client authentication failed", Err: err}
}

// errBadClientAuth is a malformed client authentication; it is answered as invalid_client.
var errBadClientAuth = errors.New("malformed client authentication")

// parseClientAuth reads how an access key authenticates at the token endpoint (RFC 6749
// §2.3.1): HTTP Basic with the key id and the key, each form-urlencoded first (what
// golang.org/x/oauth2/clientcredentials sends); or client_id and client_secret in the body;
// or client_secret alone in the body (a service that only knows an imported key). It
// returns the claimed key id (empty when none was given) and the key. More than one method
// at once is an invalid_request (RFC 6749 §2.3); anything else unusable is errBadClientAuth.
func parseClientAuth(r *http.Request, form url.Values) (clientID, key string, err error) {
	formID, formSecret := form.Get("client_id"), form.Get("client_secret")
	if h := r.Header.Get("Authorization"); h != "" {
		if formSecret != "" {
			return "", "", errorf(http.StatusBadRequest, codeInvalidRequest, "use one client authentication method, not HTTP Basic and client_secret")
		}
		u, p, ok := r.BasicAuth()
		if !ok {
			return "", "", errBadClientAuth
		}
		if clientID, err = url.QueryUnescape(u); err != nil {
			return "", "", errBadClientAuth
		}
		if key, err = url.QueryUnescape(p); err != nil {
			return "", "", errBadClientAuth
		}
		if formID != "" && formID != clientID {
			return "", "", errorf(http.StatusBadRequest, codeInvalidRequest, "client_id differs between body and Authorization")
		}
	} else {
		clientID, key = formID, formSecret
	}
	if key == "" || len(key) > accesskeys.MaxKeyLen || len(clientID) > accesskeys.MaxKeyLen {
		return "", "", errBadClientAuth
	}
	return clientID, key, nil
}

// clientTokenResponse is RFC 6749 §5.1 for the client_credentials grant (§4.4.3: no
// refresh token).
type clientTokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope,omitempty"`
}

// clientCredentials is the client_credentials grant (RFC 6749 §4.4) for access keys: the key
// is exchanged for a short access token whose sub is the key's owner (or the key id) and
// client_id the key id, with the requested scopes (§3.3), which must be among the key's.
func (s *Server) clientCredentials(w http.ResponseWriter, r *http.Request, form url.Values) error {
	if s.cfg.AccessKeys == nil {
		return errorf(http.StatusBadRequest, codeUnsupportedGrant, "grant_type %q is not supported", "client_credentials")
	}
	m := s.cfg.Metrics.clientCreds
	clientID, key, err := parseClientAuth(r, form)
	var e *Error
	if errors.As(err, &e) {
		m.WithLabelValues("invalid_request").Inc()
		return err
	}
	if err := s.keyAttemptsAllowed(r); err != nil {
		m.WithLabelValues("rate_limited").Inc()
		return err
	}
	if err != nil {
		m.WithLabelValues("invalid_client").Inc()
		return s.keyFailed(w, r, clientID, err)
	}
	ctx := r.Context()
	k, err := s.cfg.AccessKeys.Authenticate(ctx, key, clientID)
	if errors.Is(err, accesskeys.ErrInvalid) {
		m.WithLabelValues("invalid_client").Inc()
		return s.keyFailed(w, r, clientID, err)
	}
	if err != nil {
		return err
	}
	scopes, err := accesskeys.Narrow(k, strings.Fields(form.Get("scope")))
	if err != nil {
		m.WithLabelValues("invalid_scope").Inc()
		return &Error{Status: http.StatusBadRequest, Code: codeInvalidScope, Description: "the requested scope is not granted to this access key", Err: err}
	}
	at, err := s.cfg.Tokens.IssueClientAccess(ctx, k.Subject(), k.ID, strings.Join(scopes, " "))
	if err != nil {
		return err
	}
	m.WithLabelValues("issued").Inc()
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, clientTokenResponse{AccessToken: string(at.Token), TokenType: "Bearer",
		ExpiresIn: int(s.cfg.Tokens.Config().AccessTTL.Seconds()), Scope: at.Claims.Scope})
	return nil
}

// keyAttemptsAllowed refuses (429) every key from a client address that has used up its
// allowance of wrong keys, right ones included: otherwise a guesser would still learn which
// guess was right. It reads the bucket without taking from it; only failures take.
func (s *Server) keyAttemptsAllowed(r *http.Request) error {
	if s.cfg.Buckets == nil {
		return nil
	}
	res, err := s.cfg.Buckets.Peek(r.Context(), "http:"+keyFailureBucket+":"+s.client(r).RateKey, keyFailureLimit, s.cfg.Now())
	if err != nil {
		return err
	}
	if !res.Allowed {
		return rateLimited(keyFailureBucket, keyFailureLimit, res.RetryAfter)
	}
	return nil
}

// keyFailed answers a failed key at the token endpoint (invalid_client) after keyFailure.
func (s *Server) keyFailed(w http.ResponseWriter, r *http.Request, claimed string, cause error) error {
	if err := s.keyFailure(r, claimed); err != nil {
		return err
	}
	return errInvalidClient(w, cause)
}

// keyFailure takes one try from the caller's allowance of wrong keys and audits the failure:
// sampled, so that a flood of wrong keys cannot flood the trail — the first failure of a full
// allowance and the one that empties it are written (every failure when limits are off).
// claimed is the key id the caller named, kept only if it has the shape of one. An error is
// a failure of the bucket or audit store.
func (s *Server) keyFailure(r *http.Request, claimed string) error {
	record := true
	if s.cfg.Buckets != nil {
		res, err := s.cfg.Buckets.Allow(r.Context(), "http:"+keyFailureBucket+":"+s.client(r).RateKey, keyFailureLimit, s.cfg.Now())
		if err != nil {
			return err
		}
		record = res.Remaining == keyFailureLimit.Burst-1 || res.Remaining == 0
	}
	if record {
		if !secret.ValidID(claimed) {
			claimed = ""
		}
		c := s.client(r)
		if err := s.cfg.Audit.Record(r.Context(), audit.Event{Type: audit.AccessKeyExchangeFailed, ClientID: claimed, Actor: "client",
			IP: c.IP, UserAgent: c.UserAgent, Outcome: audit.Failure, Reason: "invalid_client"}); err != nil {
			return err
		}
	}
	return nil
}

type accessKeyCtx struct{}

// resourceServer guards the endpoints resource servers call (introspection, the revocation
// feed): the caller presents, as a bearer token, the management key or an access key that has
// the scope. Anything else is 401 without saying why; a store failure is 503.
func (s *Server) resourceServer(scope string, h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		tok, ok := bearer(r)
		if ok && len(s.cfg.AdminKeyHash) > 0 && secret.Equal(secret.Hash(tok), s.cfg.AdminKeyHash) {
			return h(w, r)
		}
		deny := func(err error) error {
			w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
			return &Error{Status: http.StatusUnauthorized, Code: codeUnauthorized,
				Description: "the management key or an access key with the scope " + scope + " is required", Err: err}
		}
		if !ok || tok == "" || s.cfg.AccessKeys == nil || tokens.LooksLikeJWT(tok) {
			return deny(nil)
		}
		if err := s.keyAttemptsAllowed(r); err != nil {
			return err
		}
		k, err := s.cfg.AccessKeys.Authenticate(r.Context(), tok, "")
		switch {
		case errors.Is(err, accesskeys.ErrInvalid):
			if ferr := s.keyFailure(r, ""); ferr != nil {
				return ferr
			}
			return deny(err)
		case err != nil:
			return err
		case !slices.Contains(k.Scopes, scope):
			return deny(errors.New("access key lacks the scope"))
		}
		return h(w, r.WithContext(context.WithValue(r.Context(), accessKeyCtx{}, k)))
	}
}

// callerKey returns the access key that authenticated r at a resource-server endpoint, or
// nil for the management key.
func callerKey(r *http.Request) *accesskeys.Key {
	k, _ := r.Context().Value(accessKeyCtx{}).(*accesskeys.Key)
	return k
}

// keyStillValid reports whether the access key behind a long-lived request (the revocation
// stream) may still read it: it exists, is live and keeps the scope. The management key
// always may. A store failure counts as no.
func (s *Server) keyStillValid(ctx context.Context, k *accesskeys.Key, scope string) bool {
	if k == nil {
		return true
	}
	cur, err := s.cfg.AccessKeys.LiveByID(ctx, k.ID)
	return err == nil && slices.Contains(cur.Scopes, scope)
}

// rateLimited is the 429 of a bucket.
func rateLimited(what string, l ratelimit.Limit, retry time.Duration) error {
	return &Error{Status: http.StatusTooManyRequests, Code: codeRateLimited, Description: "too many attempts; try again later",
		RetryAfter: max(1, int((retry+time.Second-1)/time.Second)), Err: errors.New(what + " " + l.String())}
}
