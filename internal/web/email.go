package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

// The pages the emails link to (docs/email.md): the link carries its token in the URL
// fragment (#token=…), which the browser never sends; the page's script copies it into a
// hidden field (and removes it from the address bar), and the token is only ever POSTed, so
// a link scanner that fetches the page consumes nothing. A ?token= query works too (the
// server puts it in the field). The token is never put into another URL, and every page
// answer has Referrer-Policy: no-referrer.

func (h *Handler) emailRoutes() {
	h.route("GET /ui/email/verify", h.verifyPage)
	h.route("POST /ui/email/verify", h.verify)
	h.route("GET /ui/password/reset", h.resetPage)
	h.route("POST /ui/password/reset", h.reset)
	h.route("GET /ui/password/forgot", h.forgotPage)
	h.route("POST /ui/password/forgot", h.forgot)
}

// tokenForm is the data of the verify, reset and forgot pages.
type tokenForm struct {
	Title  string
	Token  string
	Email  string
	Alert  string
	Errors map[string]string
	// Sent: the forgot-password answer.
	Sent bool
}

func (f *tokenForm) PageTitle() string { return f.Title }

func (h *Handler) verifyPage(w http.ResponseWriter, r *http.Request) {
	h.Page(w, r, http.StatusOK, "email_verify", &tokenForm{Title: "Confirm your email address", Token: r.URL.Query().Get("token"), Errors: map[string]string{}})
}

func (h *Handler) verify(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	tok := postedToken(r)
	_, outcome, err := h.cfg.Accounts.VerifyEmail(r.Context(), tok, h.cfg.Client(r))
	switch {
	case err == nil:
		d := ErrorData{Title: "Email address confirmed", Detail: "Thank you: your email address is verified.", Next: "/ui/account", NextLabel: "Go to your account"}
		switch outcome {
		case accounts.EmailChangedOutcome:
			d = ErrorData{Title: "Email address changed", Detail: "Your account now uses the new address.", Next: "/ui/account", NextLabel: "Go to your account"}
		case accounts.EmailChangeUndone:
			d = ErrorData{Title: "Email change undone", Detail: "Your account has its previous address again, and every session was signed out. Sign in, and change your password if you did not ask for the change.",
				Next: "/ui/login", NextLabel: "Sign in"}
		}
		h.Page(w, r, http.StatusOK, "error", d)
	case errors.Is(err, accounts.ErrInvalidToken):
		h.Page(w, r, http.StatusBadRequest, "error", ErrorData{Title: "This link has expired",
			Detail: "The link is invalid, expired or was already used. Sign in and ask for a new email from your account page.",
			Next:   "/ui/account", NextLabel: "Send a new link from your account"})
	default:
		h.log.ErrorContext(r.Context(), "hosted pages: email verification failed", "err", err.Error())
		h.Error(w, r, http.StatusServiceUnavailable, "Something went wrong", "Please try again in a moment.")
	}
}

// postedToken is the first non-empty "token" of the form: the hidden field the script fills,
// or the text field shown without JavaScript.
func postedToken(r *http.Request) string {
	for _, v := range r.PostForm["token"] {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

func (h *Handler) resetPage(w http.ResponseWriter, r *http.Request) {
	h.Page(w, r, http.StatusOK, "password_reset", &tokenForm{Title: "Choose a new password", Token: r.URL.Query().Get("token"), Errors: map[string]string{}})
}

func (h *Handler) reset(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	f := &tokenForm{Title: "Choose a new password", Token: postedToken(r), Errors: map[string]string{}}
	pw := r.PostForm.Get("password")
	if pw == "" {
		f.Errors["password"] = "Choose a password."
		h.Page(w, r, http.StatusBadRequest, "password_reset", f)
		return
	}
	err := h.cfg.Accounts.ResetPassword(r.Context(), f.Token, pw, h.cfg.Client(r))
	switch {
	case err == nil:
		h.Page(w, r, http.StatusOK, "error", ErrorData{Title: "Password changed",
			Detail: "Your new password is set, and every session of your account was signed out.", Next: "/ui/login", NextLabel: "Sign in"})
	case errors.Is(err, accounts.ErrInvalidToken):
		h.Page(w, r, http.StatusBadRequest, "error", ErrorData{Title: "This link has expired",
			Detail: "The link is invalid, expired or was already used. Ask for a new one.", Next: "/ui/password/forgot", NextLabel: "Ask for a new link"})
	default:
		ff := &form{Errors: f.Errors}
		status := h.formError(w, r, ff, err)
		f.Alert = ff.Alert
		h.Page(w, r, status, "password_reset", f)
	}
}

func (h *Handler) forgotPage(w http.ResponseWriter, r *http.Request) {
	h.Page(w, r, http.StatusOK, "password_forgot", &tokenForm{Title: "Reset your password", Email: r.URL.Query().Get("login_hint"), Errors: map[string]string{}})
}

// forgot answers the same for every well-formed address: whether an account has it is
// never told (the domain looks it up after answering).
func (h *Handler) forgot(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	f := &tokenForm{Title: "Reset your password", Email: strings.TrimSpace(r.PostForm.Get("email")), Errors: map[string]string{}}
	err := h.cfg.Accounts.ForgotPassword(r.Context(), f.Email, h.cfg.Client(r))
	switch {
	case err == nil:
		f.Sent = true
		h.Page(w, r, http.StatusOK, "password_forgot", f)
	case errors.Is(err, users.ErrInvalidEmail):
		f.Errors["email"] = "Enter a valid email address, like name@example.com."
		h.Page(w, r, http.StatusBadRequest, "password_forgot", f)
	case errors.Is(err, accounts.ErrEmailUnavailable):
		f.Alert = "This server cannot send email, so passwords cannot be reset this way. Ask your administrator."
		h.Page(w, r, http.StatusServiceUnavailable, "password_forgot", f)
	default:
		ff := &form{Errors: f.Errors}
		status := h.formError(w, r, ff, err)
		f.Alert = ff.Alert
		h.Page(w, r, status, "password_forgot", f)
	}
}
