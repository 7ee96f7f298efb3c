package oidc

import (
	"html/template"
	"net/http"
)

// LogoutView is the confirmation page of RP-Initiated Logout, shown when the request does not
// carry a valid id_token_hint (a cross-site link must not sign anyone out silently).
type LogoutView struct {
	ClientName string // empty when the request named no known client
	UserEmail  string
	// Action is where the form posts (same origin); LogoutID the one-time id of the parked
	// request (a form field).
	Action   string
	LogoutID string
	// RedirectURI is the registered post_logout_redirect_uri the answer will redirect to,
	// if any: a page whose CSP limits form-action must allow its origin (browsers check
	// form-action on the redirect after a post too).
	RedirectURI string
}

// LogoutPages renders the pages of RP-Initiated Logout. A Pages that does not implement it
// gets PlainPages' versions.
type LogoutPages interface {
	LogoutConfirm(w http.ResponseWriter, r *http.Request, v LogoutView)
	// LoggedOut is shown after a logout that has no registered post_logout_redirect_uri.
	LoggedOut(w http.ResponseWriter, r *http.Request)
}

var plainLogout = template.Must(template.New("").Parse(`
{{define "confirm"}}<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign out?</title></head>
<body><main><h1>Sign out{{if .ClientName}} of {{.ClientName}}{{end}}?</h1>
{{if .UserEmail}}<p>Signed in as {{.UserEmail}}</p>{{end}}
<form method="post" action="{{.Action}}"><input type="hidden" name="logout_id" value="{{.LogoutID}}">
<button type="submit" name="decision" value="logout">Sign out</button>
<button type="submit" name="decision" value="stay">Stay signed in</button></form></main></body></html>{{end}}
{{define "done"}}<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Signed out</title></head>
<body><main><h1>Signed out</h1><p role="status">You are signed out.</p></main></body></html>{{end}}`))

// LogoutConfirm implements LogoutPages.
func (PlainPages) LogoutConfirm(w http.ResponseWriter, r *http.Request, v LogoutView) {
	headers(w, "")
	w.WriteHeader(http.StatusOK)
	_ = plainLogout.ExecuteTemplate(w, "confirm", v)
}

// LoggedOut implements LogoutPages.
func (PlainPages) LoggedOut(w http.ResponseWriter, r *http.Request) {
	headers(w, "")
	w.WriteHeader(http.StatusOK)
	_ = plainLogout.ExecuteTemplate(w, "done", nil)
}
