package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Cross-origin use by single-page apps (docs/browser-sdk.md "CORS"): the origins listed in
// cors_origins, compared exactly, may call the API from scripts with credentials (the refresh
// cookie). Any other origin gets no CORS header at all, so the browser keeps its answers from
// the calling page; cross-origin protection (http.CrossOriginProtection) trusts exactly the
// same origins and still refuses every other cross-origin state-changing request.

// corsMethods and corsHeaders are what a preflight from a listed origin may ask for.
const (
	corsMethods = "GET, POST, PUT, PATCH, DELETE"
	corsHeaders = "Authorization, Content-Type"
)

// corsPolicy is the set of exact origins (scheme://host[:port], as a browser sends them in
// the Origin header) allowed to call the API cross-origin.
type corsPolicy map[string]bool

// newCORSPolicy makes the policy of origins and makes cop trust exactly them. An entry that
// no browser could send as its Origin (a path or trailing slash, upper case, "null", no
// scheme) is left out and reported: it would never match, and silently so.
func newCORSPolicy(origins []string, cop *http.CrossOriginProtection) (corsPolicy, error) {
	p := corsPolicy{}
	var errs []error
	for _, o := range origins {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		if o == "null" || o != strings.ToLower(o) || !(strings.HasPrefix(o, "https://") || strings.HasPrefix(o, "http://")) {
			errs = append(errs, fmt.Errorf("cors_origins: %q is not an origin as browsers send it (scheme://host[:port], lower case)", o))
			continue
		}
		if err := cop.AddTrustedOrigin(o); err != nil {
			errs = append(errs, fmt.Errorf("cors_origins: %q: %w", o, err))
			continue
		}
		p[o] = true
	}
	return p, errors.Join(errs...)
}

// CheckCORSOrigins reports every entry of cors_origins that is not an exact origin.
func CheckCORSOrigins(origins []string) error {
	_, err := newCORSPolicy(origins, http.NewCrossOriginProtection())
	return err
}

// wrap answers preflights from listed origins and marks their actual responses readable.
func (p corsPolicy) wrap(next http.Handler) http.Handler {
	if len(p) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		h := w.Header()
		h.Add("Vary", "Origin")
		if !p[origin] {
			next.ServeHTTP(w, r)
			return
		}
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			h.Set("Access-Control-Allow-Methods", corsMethods)
			h.Set("Access-Control-Allow-Headers", corsHeaders)
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}
