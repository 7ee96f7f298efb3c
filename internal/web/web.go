// Package web serves Gatehouse's hosted pages (docs/hosted-pages.md): server-rendered HTML
// for signing in, signing up, the second factor and signing out, with a small embedded
// stylesheet and script. Nothing is fetched from another origin.
//
// The package does not know cookies: internal/httpapi mounts the Handler on its mux (so its
// request ids, deadlines and cross-origin protection apply) and supplies closures that read
// the caller's session and start or end one exactly as its JSON routes do.
package web

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/passkeys"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// Config is what the pages need. The closures come from internal/httpapi, which owns the
// cookies.
type Config struct {
	Accounts *accounts.Service
	// Passkeys, when set, adds "Sign in with a passkey" to the sign-in page (the script calls
	// the JSON routes /v1/login/passkey/begin and /finish).
	Passkeys *passkeys.Service
	// Issuer is Gatehouse's public base URL; return_to may name its origin.
	Issuer string
	// ReturnToOrigins are the other origins ("https://app.example.com") that return_to may
	// send the browser to after signing in.
	ReturnToOrigins []string
	// Name is shown in the page header and titles (default "Gatehouse"); LogoURL, when set,
	// is an image shown beside it (a path on this server, a data: URL, or an https URL whose
	// origin the page's Content-Security-Policy then allows for images).
	Name    string
	LogoURL string
	// Theme overrides the stylesheet's CSS variables, by name without the "--gh-" prefix
	// ("accent": "#0a7d36"). Names and values are checked by CheckTheme.
	Theme map[string]string

	// CallerSession returns the session of the browser's session cookie, or an error
	// (sessions.ErrInvalid when there is none). It may be limited to MFA enrolment.
	CallerSession func(*http.Request) (*sessions.Session, error)
	// Client describes the caller for the account operations (cookie delivery).
	Client func(*http.Request) accounts.Client
	// StartSession sets the cookies of a sign-in (session, device) and ends the session the
	// browser had before.
	StartSession func(http.ResponseWriter, *http.Request, *accounts.Result)
	// EndSession signs the browser's session out and clears its cookies.
	EndSession func(http.ResponseWriter, *http.Request) error
	// LimitSecondStep, when set, bounds second-step attempts per client (as POST
	// /v1/login/mfa does); it returns an *accounts.RateLimitedError when spent.
	LimitSecondStep func(*http.Request) error
	// Observe, when set, is told the outcome of each sign-in step ("login": the password,
	// "mfa": the second factor), for the metrics.
	Observe func(step string, err error)

	// Sessions lists the user's sessions on the account page.
	Sessions *sessions.Manager
	// Consents lists the OpenID Connect clients the user granted access to, and
	// RevokeConsent forgets one (returning ErrNotFound when there is none); nil when OIDC is
	// off (the account page then has no "Connected apps").
	Consents      func(r *http.Request, userID string) ([]Consent, error)
	RevokeConsent func(r *http.Request, sess *sessions.Session, clientID string) error
	// Export writes the user's data as GET /v1/me/export does ("Download my data").
	Export func(w http.ResponseWriter, r *http.Request, sess *sessions.Session) error

	Logger *slog.Logger
}

// Handler serves the hosted pages under /ui/.
type Handler struct {
	cfg       Config
	log       *slog.Logger
	mux       *http.ServeMux
	routes    []string
	pages     map[string]*template.Template
	origins   []string // exact origins return_to may name
	themeCSS  template.CSS
	logoSrc   string // an extra img-src source for an off-site logo
	assetVer  string // content hash of the assets, for cache busting
	formDests string // form-action sources beyond 'self'
}

// New builds the pages. Invalid theme entries are left out (and logged); run CheckTheme on
// configuration first to refuse them.
func New(cfg Config) *Handler {
	if cfg.Name == "" {
		cfg.Name = "Gatehouse"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(), pages: map[string]*template.Template{}}
	for _, o := range append([]string{cfg.Issuer}, cfg.ReturnToOrigins...) {
		if o, ok := origin(o); ok && !slices.Contains(h.origins, o) {
			h.origins = append(h.origins, o)
		}
	}
	h.formDests = strings.Join(h.origins, " ")
	if err := CheckTheme(cfg.Theme); err != nil {
		h.log.Warn("hosted pages: theme entries ignored", "err", err.Error())
	}
	h.themeCSS = themeCSS(cfg.Theme)
	if u, err := url.Parse(cfg.LogoURL); err == nil && u.Scheme == "https" && u.Host != "" {
		h.logoSrc = "https://" + u.Host
	}
	h.parse()
	h.assetVer = assetVersion()
	h.route("GET /ui/assets/{file}", h.asset)
	h.route("GET /ui/login", h.loginPage)
	h.route("POST /ui/login", h.login)
	h.route("GET /ui/signup", h.signupPage)
	h.route("POST /ui/signup", h.signup)
	h.route("GET /ui/mfa", h.mfaPage)
	h.route("POST /ui/mfa", h.mfa)
	h.route("GET /ui/logout", h.logoutPage)
	h.route("POST /ui/logout", h.logout)
	h.accountRoutes()
	h.emailRoutes()
	h.route("GET /ui/handoff", h.handoff)
	h.route("GET /ui/", h.notFound)
	return h
}

// notFound answers GET for every other path under /ui/: "/ui/" itself goes to the account
// page (or sign-in), anything else is an HTML 404.
func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/ui/" {
		h.redirect(w, r, defaultReturnTo)
		return
	}
	h.Error(w, r, http.StatusNotFound, "Page not found", "There is no page at this address.")
}

func (h *Handler) route(pattern string, fn http.HandlerFunc) {
	h.routes = append(h.routes, pattern)
	h.mux.HandleFunc(pattern, fn)
}

// Routes returns the patterns ("METHOD /path") the Handler serves, for the caller's mux.
func (h *Handler) Routes() []string { return slices.Clone(h.routes) }

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := h.mux.Handler(r); pattern == "" {
		h.Error(w, r, http.StatusNotFound, "Page not found", "There is no page at this address.")
		return
	}
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) parse() {
	funcs := template.FuncMap{
		// field pairs a field's id with its error message, for the "fielderror" template.
		"field": func(id, msg string) fieldError { return fieldError{ID: id, Msg: msg} },
	}
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html"))
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, n := range names {
		base := strings.TrimSuffix(path.Base(n), ".html")
		if base == "layout" {
			continue
		}
		h.pages[base] = template.Must(template.Must(layout.Clone()).ParseFS(templateFS, n))
	}
}

type fieldError struct{ ID, Msg string }

// view is what every template sees: .Page is the page's own data.
type view struct {
	Nonce    string
	Name     string
	LogoURL  string
	Title    string
	ThemeCSS template.CSS
	CSS      string
	JS       string
	Page     any
}

// Titled is implemented by page data that names its page (the <title> and heading).
type Titled interface{ PageTitle() string }

// Page renders the page template name (templates/<name>.html) with data, answering status.
// Every page gets a fresh nonce and the security headers (see setHeaders); data is reachable
// in the template as .Page, and its PageTitle, if it has one, becomes the <title>. It is the
// API for the other hosted pages (consent, handoff): add a template, call Page.
func (h *Handler) Page(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	t, ok := h.pages[name]
	if !ok {
		h.log.ErrorContext(r.Context(), "hosted pages: no such template", "name", name)
		h.Error(w, r, http.StatusInternalServerError, "Something went wrong", "Please try again later.")
		return
	}
	nonce := newNonce()
	v := view{Nonce: nonce, Name: h.cfg.Name, LogoURL: h.cfg.LogoURL, ThemeCSS: h.themeCSS, Page: data,
		CSS: "/ui/assets/gatehouse.css?v=" + h.assetVer, JS: "/ui/assets/gatehouse.js?v=" + h.assetVer}
	if tt, ok := data.(Titled); ok {
		v.Title = tt.PageTitle()
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		h.log.ErrorContext(r.Context(), "hosted pages: template", "name", name, "err", err.Error())
		if name != "error" {
			h.Error(w, r, http.StatusInternalServerError, "Something went wrong", "Please try again later.")
		} else {
			http.Error(w, "internal error", http.StatusInternalServerError)
		}
		return
	}
	h.setHeaders(w, nonce)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// ErrorData is the data of the error page.
type ErrorData struct {
	Title  string
	Detail string
	// Next, when set, is a link the page offers ("Sign in again").
	Next, NextLabel string
}

// PageTitle implements Titled.
func (d ErrorData) PageTitle() string { return d.Title }

// Error renders the error page: a title, one sentence saying what happened and what to do.
// Neither may carry a secret (they are shown as given, escaped).
func (h *Handler) Error(w http.ResponseWriter, r *http.Request, status int, title, detail string) {
	h.Page(w, r, status, "error", ErrorData{Title: title, Detail: detail, Next: "/ui/login", NextLabel: "Go to sign-in"})
}

// setHeaders sets the headers of every page: a policy allowing only this page's nonce for
// scripts and styles (and the stylesheet of this server), no framing, no referrer, no caching.
func (h *Handler) setHeaders(w http.ResponseWriter, nonce string) {
	hd := w.Header()
	img := "'self' data:"
	if h.logoSrc != "" {
		img += " " + h.logoSrc
	}
	form := "'self'"
	if h.formDests != "" {
		form += " " + h.formDests
	}
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+nonce+"'; style-src 'self' 'nonce-"+nonce+
		"'; img-src "+img+"; form-action "+form+"; frame-ancestors 'none'; base-uri 'none'; connect-src 'self'")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
}

// redirect answers 303 See Other to dest (already checked by safeReturnTo or a constant).
func (h *Handler) redirect(w http.ResponseWriter, r *http.Request, dest string) {
	h.setHeaders(w, newNonce())
	http.Redirect(w, r, dest, http.StatusSeeOther)
}

func newNonce() string {
	var b [18]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// asset serves the embedded stylesheet and script. The pages link them with ?v=<content
// hash>, so they may be cached for long.
func (h *Handler) asset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	var ctype string
	switch path.Ext(name) {
	case ".css":
		ctype = "text/css; charset=utf-8"
	case ".js":
		ctype = "text/javascript; charset=utf-8"
	}
	b, err := assetFS.ReadFile("assets/" + name)
	if err != nil || ctype == "" || strings.Contains(name, "/") {
		h.Error(w, r, http.StatusNotFound, "Page not found", "There is no page at this address.")
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", ctype)
	hd.Set("X-Content-Type-Options", "nosniff")
	if r.URL.Query().Get("v") == h.assetVer {
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hd.Set("Cache-Control", "no-cache")
	}
	w.Write(b)
}

func assetVersion() string {
	sum := sha256.New()
	fs.WalkDir(assetFS, "assets", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := assetFS.ReadFile(p)
			sum.Write(b)
		}
		return nil
	})
	return hex.EncodeToString(sum.Sum(nil))[:12]
}

// themeVars are the stylesheet's variables an operator may override.
var themeVars = []string{"accent", "accent-fg", "bg", "fg", "muted", "card", "border", "error", "radius", "font"}

// themeValue allows colours, lengths and font lists: no quotes, semicolons, braces, slashes
// or escapes that could leave the declaration.
var themeValue = regexp.MustCompile(`^[A-Za-z0-9#%., ()-]{1,100}$`)

// CheckTheme reports every theme entry New would ignore: unknown names and unsafe values.
func CheckTheme(theme map[string]string) error {
	var bad []string
	for k, v := range theme {
		if !slices.Contains(themeVars, k) {
			bad = append(bad, fmt.Sprintf("%q is not a theme variable (want one of %s)", k, strings.Join(themeVars, ", ")))
		} else if !themeValue.MatchString(v) {
			bad = append(bad, fmt.Sprintf("theme value %q of %q: letters, digits, spaces and # %% . , ( ) - only", v, k))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	slices.Sort(bad)
	return fmt.Errorf("%s", strings.Join(bad, "; "))
}

func themeCSS(theme map[string]string) template.CSS {
	var b strings.Builder
	for _, k := range themeVars {
		if v, ok := theme[k]; ok && themeValue.MatchString(v) {
			b.WriteString("--gh-" + k + ":" + v + ";")
		}
	}
	if b.Len() == 0 {
		return ""
	}
	// Checked above: safe to mark as CSS.
	return template.CSS(":root{" + b.String() + "}")
}
