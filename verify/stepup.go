package verify

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ACR returns the token's acr claim (the authentication context class: Gatehouse issues
// urn:gatehouse:acr:pwd, urn:gatehouse:acr:mfa and urn:gatehouse:acr:phr), or "".
func (c *Claims) ACR() string {
	var pc struct {
		ACR string `json:"acr"`
	}
	if json.Unmarshal(c.Raw, &pc) != nil {
		return ""
	}
	return pc.ACR
}

// RequireACR wraps a handler behind Middleware: a token whose acr is none of values gets 401
// with the RFC 9470 insufficient_user_authentication challenge naming the acceptable values,
// so that the client steps up (Gatehouse: POST /v1/session/step-up) and retries.
func RequireACR(values ...string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, ok := ClaimsFrom(r.Context())
			if !ok || !slices.Contains(values, c.ACR()) {
				insufficient(w, "a stronger authentication is required", `acr_values="`+strings.Join(values, " ")+`"`)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// RequireAuthAge wraps a handler behind Middleware: a token whose auth_time is more than
// maxAge ago (or absent) gets 401 with the RFC 9470 insufficient_user_authentication
// challenge and max_age, so that the client signs in again or steps up and retries.
func RequireAuthAge(maxAge time.Duration) func(http.Handler) http.Handler {
	return requireAuthAge(maxAge, time.Now)
}

func requireAuthAge(maxAge time.Duration, now func() time.Time) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, ok := ClaimsFrom(r.Context())
			if !ok || c.AuthTime.IsZero() || now().Sub(c.AuthTime) > maxAge {
				insufficient(w, "a more recent authentication is required", "max_age="+strconv.Itoa(int(maxAge.Seconds())))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// insufficient answers RFC 9470 §3: 401, error="insufficient_user_authentication".
func insufficient(w http.ResponseWriter, desc, param string) {
	w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_user_authentication", error_description="`+desc+`", `+param)
	http.Error(w, desc, http.StatusUnauthorized)
}
