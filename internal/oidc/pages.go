package oidc

import (
	"html/template"
	"net/http"
	"net/url"

	"github.com/gatehouse-auth/gatehouse/internal/secret"
)

// ConsentView is what the consent page shows and posts back.
type ConsentView struct {
	ClientName string
	Scopes     []string
	UserEmail  string
	// Action is where the form posts; ConsentID the one-time id of the pending request
	// (a form field, never part of a URL).
	Action    string
	ConsentID string
	// RedirectURI is where the answer to the form goes next (the client's matched redirect
	// URI): a page's Content-Security-Policy form-action must allow it, as browsers check
	// form-action on the redirects after a form post too.
	RedirectURI string
	// Restart is the authorization request as a path on this server ("/oauth/authorize?…"):
	// where a "not you? sign out" link comes back to, so that the request starts again for
	// the next person (the URL that showed the page may be a one-time resume link).
	Restart string
}

// Pages renders the browser pages of the flow. internal/web provides the styled ones;
// PlainPages is the built-in fallback.
type Pages interface {
	Consent(w http.ResponseWriter, r *http.Request, v ConsentView)
	Error(w http.ResponseWriter, r *http.Request, status int, title, detail string)
	// FormPost answers with an auto-submitting form to redirectURI (OAuth 2.0 Form Post
	// Response Mode).
	FormPost(w http.ResponseWriter, r *http.Request, redirectURI string, params url.Values)
}

// PlainPages is a minimal, unstyled Pages: escaped templates, a strict CSP with a nonce, and
// frame-ancestors 'none' (no clickjacking of the consent button).
type PlainPages struct{}

var plain = template.Must(template.New("").Parse(`
{{define "consent"}}<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Allow {{.ClientName}}?</title></head>
<body><main><h1>{{.ClientName}} wants to access your account</h1>
{{if .UserEmail}}<p>Signed in as {{.UserEmail}}</p>{{end}}
<ul>{{range .Scopes}}<li>{{.}}</li>{{end}}</ul>
<form method="post" action="{{.Action}}"><input type="hidden" name="consent_id" value="{{.ConsentID}}">
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button></form></main></body></html>{{end}}
{{define "error"}}<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body><main><h1>{{.Title}}</h1><p role="alert">{{.Detail}}</p></main></body></html>{{end}}
{{define "formpost"}}<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Continuing…</title></head>
<body><form method="post" action="{{.Action}}">{{range $k, $vs := .Params}}{{range $vs}}<input type="hidden" name="{{$k}}" value="{{.}}">{{end}}{{end}}
<noscript><button type="submit">Continue</button></noscript></form>
<script nonce="{{.Nonce}}">document.forms[0].submit()</script></body></html>{{end}}`))

func headers(w http.ResponseWriter, nonce string) {
	h := w.Header()
	csp := "default-src 'none'; form-action *; frame-ancestors 'none'; base-uri 'none'"
	if nonce != "" {
		csp += "; script-src 'nonce-" + nonce + "'"
	}
	h.Set("Content-Security-Policy", csp)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
}

// Consent implements Pages.
func (PlainPages) Consent(w http.ResponseWriter, r *http.Request, v ConsentView) {
	headers(w, "")
	w.WriteHeader(http.StatusOK)
	_ = plain.ExecuteTemplate(w, "consent", v)
}

// Error implements Pages.
func (PlainPages) Error(w http.ResponseWriter, r *http.Request, status int, title, detail string) {
	headers(w, "")
	w.WriteHeader(status)
	_ = plain.ExecuteTemplate(w, "error", struct{ Title, Detail string }{title, detail})
}

// FormPost implements Pages.
func (PlainPages) FormPost(w http.ResponseWriter, r *http.Request, redirectURI string, params url.Values) {
	nonce := secret.NewID()
	headers(w, nonce)
	w.WriteHeader(http.StatusOK)
	_ = plain.ExecuteTemplate(w, "formpost", struct {
		Action template.URL
		Params url.Values
		Nonce  string
	}{template.URL(redirectURI), params, nonce})
}
