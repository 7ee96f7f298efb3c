package verify

import (
	"context"
	"errors"
	"net/http"
	"strings"
)

type ctxKey struct{}

// ClaimsFrom returns the claims Middleware put in the request context.
func ClaimsFrom(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(ctxKey{}).(*Claims)
	return c, ok
}

// WWWAuthenticate is the RFC 6750 §3 challenge for a Verify error.
func WWWAuthenticate(err error) string {
	desc := "the access token is invalid"
	switch {
	case errors.Is(err, ErrExpired):
		desc = "the access token expired"
	case errors.Is(err, ErrRevoked):
		desc = "the access token was revoked"
	case errors.Is(err, ErrFeedStale):
		desc = "revocations cannot be checked right now"
	}
	return `Bearer error="invalid_token", error_description="` + desc + `"`
}

// Middleware requires a valid credential on every request — an access token in
// "Authorization: Bearer", or, with WithCookie, the named cookie (an access token, or an opaque
// Gatehouse session checked with VerifySession) — answers 401 with a WWW-Authenticate challenge
// otherwise, and puts the claims in the context.
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var c *Claims
		var err error
		scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		switch {
		case ok && strings.EqualFold(scheme, "Bearer") && tok != "":
			c, err = v.Verify(r.Context(), strings.TrimSpace(tok))
		case v.opt.cookie != "":
			ck, cerr := r.Cookie(v.opt.cookie)
			if cerr != nil || ck.Value == "" {
				w.Header().Set("WWW-Authenticate", `Bearer realm="api"`)
				http.Error(w, "credential required", http.StatusUnauthorized)
				return
			}
			if strings.Count(ck.Value, ".") == 2 {
				c, err = v.Verify(r.Context(), ck.Value)
			} else {
				c, err = v.VerifySession(r.Context(), ck.Value)
			}
		default:
			w.Header().Set("WWW-Authenticate", `Bearer realm="api"`)
			http.Error(w, "access token required", http.StatusUnauthorized)
			return
		}
		if err != nil {
			w.Header().Set("WWW-Authenticate", WWWAuthenticate(err))
			http.Error(w, "invalid access token", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, c)))
	})
}

// RequireScope wraps a handler behind Middleware: requests whose token lacks scope get 403
// with an RFC 6750 insufficient_scope challenge.
func RequireScope(scope string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, ok := ClaimsFrom(r.Context())
			if !ok || !c.HasScope(scope) {
				w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="`+scope+`"`)
				http.Error(w, "insufficient scope", http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// WithCookie makes Middleware also accept the named cookie when a request has no
// Authorization header: an access token in it is verified locally, anything else is taken as a
// Gatehouse session token and checked with VerifySession (which needs WithRevocationFeed).
func WithCookie(name string) Option { return func(o *options) { o.cookie = name } }
