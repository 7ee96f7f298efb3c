package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/gatehouse-auth/gatehouse/internal/oidc"
)

// The browser pages of the OpenID Connect code flow (docs/oidc.md): the consent page, the
// flow's error page and the form_post response, in the hosted pages' layout.

var _ oidc.Pages = (*Handler)(nil)

// validScheme is a URL scheme that may be written as a CSP scheme-source.
var validScheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*$`)

// scopeWords says what a scope lets the application do, in plain words.
var scopeWords = map[string]string{
	"openid":         "Know that it is you (your user id)",
	"profile":        "See your name and profile details",
	"email":          "See your email address",
	"offline_access": "Stay signed in when you are not using it",
}

// consentData is the consent page.
type consentData struct {
	ClientName string
	Scopes     []string
	UserEmail  string
	Action     string
	ConsentID  string
	// SignOut signs this browser out and comes back to the request, which then asks the
	// next person to sign in.
	SignOut string
}

func (d consentData) PageTitle() string { return "Allow " + d.ClientName + "?" }

// Consent implements oidc.Pages: what the application asks for, who is signed in, Allow and
// Deny. The page may not be framed (frame-ancestors 'none'), so its buttons cannot be
// clicked through another site.
func (h *Handler) Consent(w http.ResponseWriter, r *http.Request, v oidc.ConsentView) {
	d := consentData{ClientName: v.ClientName, UserEmail: v.UserEmail, Action: v.Action, ConsentID: v.ConsentID}
	if d.ClientName == "" {
		d.ClientName = "An application"
	}
	for _, s := range v.Scopes {
		if words, ok := scopeWords[s]; ok {
			d.Scopes = append(d.Scopes, words)
		} else {
			d.Scopes = append(d.Scopes, "Use the permission “"+s+"”")
		}
	}
	d.SignOut = "/ui/logout"
	if back := h.safeReturnTo(v.Restart); back != "" && strings.HasPrefix(back, "/") {
		d.SignOut += "?return_to=" + url.QueryEscape(back)
	}
	// The form posts here, and the answer redirects to the client: both must be allowed.
	dest := "'self'"
	if o, ok := origin(v.RedirectURI); ok {
		dest += " " + o
	} else if u, err := url.Parse(v.RedirectURI); err == nil && validScheme.MatchString(u.Scheme) {
		dest += " " + strings.ToLower(u.Scheme) + ":" // a native app's private-use scheme (RFC 8252 §7.1)
	}
	h.Page(onlyFormAction(w, dest), r, http.StatusOK, "consent", d)
}

// formPostData is the form_post response page.
type formPostData struct {
	Action string
	Fields []field
}

type field struct{ Name, Value string }

func (formPostData) PageTitle() string { return "Continuing…" }

// FormPost implements oidc.Pages (OAuth 2.0 Form Post Response Mode): a form of hidden
// fields posted to redirectURI by a nonce'd script, with a button for browsers without
// scripts. The page's form-action allows redirectURI's origin and nothing else.
func (h *Handler) FormPost(w http.ResponseWriter, r *http.Request, redirectURI string, params url.Values) {
	o, ok := origin(redirectURI)
	if !ok {
		h.Error(w, r, http.StatusBadRequest, "Invalid redirect URI", "The application's address cannot receive the answer.")
		return
	}
	d := formPostData{Action: redirectURI}
	for k, vs := range params {
		for _, v := range vs {
			d.Fields = append(d.Fields, field{k, v})
		}
	}
	h.Page(onlyFormAction(w, o), r, http.StatusOK, "formpost", d)
}

// onlyFormAction returns w with the form-action of the page's Content-Security-Policy
// replaced by src (a source list) when the headers are written: a page that posts to
// another site allows that site only, not the sign-in pages' usual destinations.
func onlyFormAction(w http.ResponseWriter, src string) http.ResponseWriter {
	return &formActionWriter{ResponseWriter: w, src: src}
}

type formActionWriter struct {
	http.ResponseWriter
	src   string
	wrote bool
}

func (f *formActionWriter) WriteHeader(status int) {
	if !f.wrote {
		f.wrote = true
		hd := f.ResponseWriter.Header()
		if csp := hd.Get("Content-Security-Policy"); csp != "" {
			parts := strings.Split(csp, "; ")
			for i, p := range parts {
				if strings.HasPrefix(p, "form-action ") {
					parts[i] = "form-action " + f.src
				}
			}
			hd.Set("Content-Security-Policy", strings.Join(parts, "; "))
		}
	}
	f.ResponseWriter.WriteHeader(status)
}

func (f *formActionWriter) Write(b []byte) (int, error) {
	if !f.wrote {
		f.WriteHeader(http.StatusOK)
	}
	return f.ResponseWriter.Write(b)
}
