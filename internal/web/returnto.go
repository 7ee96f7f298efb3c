package web

import (
	"net/url"
	"slices"
	"strings"
)

// defaultReturnTo is where a sign-in goes when return_to is missing or refused.
const defaultReturnTo = "/ui/account"

// maxReturnTo bounds return_to; longer values are refused.
const maxReturnTo = 2048

// safeReturnTo returns raw if it is a place the browser may be sent after signing in, else
// "" (docs/hosted-pages.md "return_to"): a path on this server starting with exactly one
// "/", or an absolute http(s) URL whose origin is the issuer's or one of return_to_origins.
// Anything a browser might read differently from this parser is refused: backslashes
// (browsers read "/\evil" as "//evil"), control characters and spaces (stripped by
// browsers, so "/\t/evil" becomes "//evil"), user information ("https://good@evil").
func (h *Handler) safeReturnTo(raw string) string {
	if raw == "" || len(raw) > maxReturnTo {
		return ""
	}
	for _, c := range raw {
		if c <= ' ' || c == 0x7f || c == '\\' {
			return ""
		}
	}
	if raw[0] == '/' {
		if len(raw) > 1 && raw[1] == '/' {
			return ""
		}
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
			return ""
		}
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.User != nil {
		return ""
	}
	o, ok := origin(raw)
	if !ok || !slices.Contains(h.origins, o) {
		return ""
	}
	return raw
}

// returnTo is safeReturnTo with the default.
func (h *Handler) returnTo(raw string) string {
	if s := h.safeReturnTo(raw); s != "" {
		return s
	}
	return defaultReturnTo
}

// origin returns the origin "scheme://host[:port]" of an absolute http(s) URL, lower-cased,
// without a default port.
func origin(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.Opaque != "" {
		return "", false
	}
	host := strings.ToLower(u.Host)
	if u.Scheme == "https" {
		host = strings.TrimSuffix(host, ":443")
	} else {
		host = strings.TrimSuffix(host, ":80")
	}
	if strings.HasSuffix(host, ":") {
		return "", false
	}
	return u.Scheme + "://" + host, true
}
