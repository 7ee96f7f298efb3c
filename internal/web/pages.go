package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/mfa"
	"github.com/gatehouse-auth/gatehouse/internal/password"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

// maxForm bounds a posted form; the fields are short.
const maxForm = 16 << 10

// form is a page with a form: what was typed (never a password), the errors per field and
// one message for the whole form.
type form struct {
	Title    string
	ReturnTo string
	Email    string
	// Alert is shown in an element with role="alert" above the form.
	Alert string
	// Errors maps a field name to its message (linked with aria-describedby).
	Errors map[string]string
	// Passkeys says whether the passkey button is offered.
	Passkeys bool
	// MFAToken is the second-step token, carried in a hidden field only.
	MFAToken string
	// Recovery opens the recovery-code part of the MFA form.
	Recovery bool
	// MFAPasskey offers "Use a passkey" on the MFA form (the user has one); MFACode the
	// authenticator-app code (the user has one, or the methods are unknown). The methods
	// travel in a hidden field so that the form shown again after a wrong code offers the
	// same ones; they only choose what is shown, the server decides what is accepted.
	MFAPasskey bool
	MFACode    bool
	MFAMethods string
	// Query is the return_to query string for links between pages ("?return_to=…").
	Query string
	// Forgot offers "Forgot your password?" (email can be sent).
	Forgot bool
}

func (f *form) PageTitle() string { return f.Title }

func (h *Handler) newForm(title, returnTo string) *form {
	f := &form{Title: title, Errors: map[string]string{}, ReturnTo: h.safeReturnTo(returnTo),
		Forgot: h.cfg.Accounts != nil && h.cfg.Accounts.EmailAvailable()}
	if f.ReturnTo != "" {
		f.Query = "?return_to=" + url.QueryEscape(f.ReturnTo)
	}
	return f
}

// parseForm reads a posted form of bounded size; false (and an answer) when it cannot.
func (h *Handler) parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		h.Error(w, r, http.StatusBadRequest, "The form could not be read", "Go back, reload the page and try again.")
		return false
	}
	return true
}

func (h *Handler) observe(step string, err error) {
	if h.cfg.Observe != nil {
		h.cfg.Observe(step, err)
	}
}

// fullSession returns the browser's session if it is a full one (not limited to enrolment).
func (h *Handler) fullSession(r *http.Request) *sessions.Session {
	if h.cfg.CallerSession == nil {
		return nil
	}
	s, err := h.cfg.CallerSession(r)
	if err != nil || accounts.RequireFull(s) != nil {
		return nil
	}
	return s
}

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("prompt") != "login" && h.fullSession(r) != nil {
		h.redirect(w, r, h.returnTo(q.Get("return_to")))
		return
	}
	f := h.newForm("Sign in", q.Get("return_to"))
	f.Email = q.Get("login_hint")
	f.Passkeys = h.cfg.Passkeys != nil
	h.Page(w, r, http.StatusOK, "login", f)
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	f := h.newForm("Sign in", r.PostForm.Get("return_to"))
	f.Email = r.PostForm.Get("email")
	f.Passkeys = h.cfg.Passkeys != nil
	pw := r.PostForm.Get("password")
	if strings.TrimSpace(f.Email) == "" {
		f.Errors["email"] = "Enter your email address."
	}
	if pw == "" {
		f.Errors["password"] = "Enter your password."
	}
	if len(f.Errors) > 0 {
		h.Page(w, r, http.StatusBadRequest, "login", f)
		return
	}
	res, err := h.cfg.Accounts.Login(r.Context(), f.Email, pw, h.cfg.Client(r))
	h.observe("login", err)
	h.afterSignIn(w, r, f, "login", res, err)
}

func (h *Handler) signupPage(w http.ResponseWriter, r *http.Request) {
	f := h.newForm("Create an account", r.URL.Query().Get("return_to"))
	f.Email = r.URL.Query().Get("login_hint")
	h.Page(w, r, http.StatusOK, "signup", f)
}

func (h *Handler) signup(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	f := h.newForm("Create an account", r.PostForm.Get("return_to"))
	f.Email = r.PostForm.Get("email")
	pw := r.PostForm.Get("password")
	if strings.TrimSpace(f.Email) == "" {
		f.Errors["email"] = "Enter your email address."
	}
	if pw == "" {
		f.Errors["password"] = "Choose a password."
	}
	if len(f.Errors) > 0 {
		h.Page(w, r, http.StatusBadRequest, "signup", f)
		return
	}
	res, err := h.cfg.Accounts.Signup(r.Context(), f.Email, pw, h.cfg.Client(r))
	h.afterSignIn(w, r, f, "signup", res, err)
}

// afterSignIn answers a password sign-in or sign-up: a session and the way back, the
// second-step page, or the form again with what went wrong.
func (h *Handler) afterSignIn(w http.ResponseWriter, r *http.Request, f *form, page string, res *accounts.Result, err error) {
	var mr *accounts.MFARequiredError
	var er *accounts.EnrolmentRequiredError
	switch {
	case err == nil:
		h.cfg.StartSession(w, r, res)
		h.redirect(w, r, h.returnTo(f.ReturnTo))
	case errors.As(err, &mr):
		m := h.newForm("Two-step verification", f.ReturnTo)
		m.MFAToken = string(mr.Token)
		m.setMFAMethods(strings.Join(mr.Methods, " "))
		h.Page(w, r, http.StatusOK, "mfa", m)
	case errors.As(err, &er):
		// A session that may only enrol a second factor: the account page says so.
		h.cfg.StartSession(w, r, er.Result)
		h.redirect(w, r, defaultReturnTo+h.rtQuery(f.ReturnTo))
	default:
		status := h.formError(w, r, f, err)
		h.Page(w, r, status, page, f)
	}
}

// formError puts err on f (a field's error or the form's alert) and returns the status.
func (h *Handler) formError(w http.ResponseWriter, r *http.Request, f *form, err error) int {
	if wait, ok := retryAfter(err); ok {
		w.Header().Set("Retry-After", strconv.Itoa(wait))
		f.Alert = "Too many attempts. Try again in " + humanWait(wait) + "."
		return http.StatusTooManyRequests
	}
	switch {
	case errors.Is(err, accounts.ErrInvalidCredentials):
		f.Alert = "The email or password is not right."
		return http.StatusUnauthorized
	case errors.Is(err, users.ErrInvalidEmail):
		f.Errors["email"] = "Enter a valid email address, like name@example.com."
	case errors.Is(err, users.ErrEmailTaken):
		f.Errors["email"] = "An account with this email already exists. Sign in instead."
		return http.StatusConflict
	case errors.Is(err, password.ErrTooShort):
		f.Errors["password"] = "Use at least 8 characters."
	case errors.Is(err, password.ErrTooLong):
		f.Errors["password"] = "Use at most 256 characters."
	case errors.Is(err, password.ErrCommon):
		f.Errors["password"] = "This password is too common or has appeared in a data breach. Choose another."
	case errors.Is(err, password.ErrInvalid):
		f.Errors["password"] = "This password contains characters that cannot be used."
	case errors.Is(err, accounts.ErrEmailNotVerified):
		f.Alert = "Verify your email address first: follow the link we sent you, then sign in."
		return http.StatusForbidden
	case errors.Is(err, accounts.ErrMFAToken):
		f.Alert = "This sign-in has expired. Sign in again."
		return http.StatusUnauthorized
	case errors.Is(err, mfa.ErrInvalidCode), errors.Is(err, mfa.ErrMalformedCode):
		f.Errors[codeField(f)] = "That code is wrong, expired or already used."
	case errors.Is(err, accounts.ErrNoProof):
		f.Errors[codeField(f)] = "Enter a code from your authenticator app, or a recovery code."
	default:
		status := http.StatusInternalServerError
		f.Alert = "Something went wrong on our side. Please try again."
		if unavailable(err) {
			status = http.StatusServiceUnavailable
			f.Alert = "The service is busy right now. Please try again in a moment."
			w.Header().Set("Retry-After", "1")
		}
		h.log.ErrorContext(r.Context(), "hosted pages: sign-in failed", "path", r.URL.Path, "err", err.Error())
		return status
	}
	return http.StatusBadRequest
}

func codeField(f *form) string {
	if f.Recovery {
		return "recovery_code"
	}
	return "code"
}

// unavailable reports errors that mean "try again shortly" rather than a bug.
func unavailable(err error) bool {
	return errors.Is(err, password.ErrBusy) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, store.ErrUnavailable)
}

// retryAfter returns the wait of a rate-limit error, in whole seconds (at least 1).
func retryAfter(err error) (int, bool) {
	var rl *accounts.RateLimitedError
	var ml *mfa.LimitedError
	var d time.Duration
	switch {
	case errors.As(err, &rl):
		d = rl.RetryAfter
	case errors.As(err, &ml):
		d = ml.RetryAfter
	default:
		return 0, false
	}
	return max(1, int((d+time.Second-1)/time.Second)), true
}

// humanWait says a wait in words: "30 seconds", "2 minutes", "1 hour".
func humanWait(secs int) string {
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case secs < 60:
		return plural(secs, "second")
	case secs < 3600:
		return plural((secs+59)/60, "minute")
	default:
		return plural((secs+3599)/3600, "hour")
	}
}

// mfaPage is the second step reached without its form: the token is only ever posted, so
// there is nothing to continue.
func (h *Handler) mfaPage(w http.ResponseWriter, r *http.Request) {
	h.signInAgain(w, r, r.URL.Query().Get("return_to"))
}

func (h *Handler) signInAgain(w http.ResponseWriter, r *http.Request, returnTo string) {
	f := h.newForm("", returnTo)
	h.Page(w, r, http.StatusUnauthorized, "error", ErrorData{Title: "Sign in again",
		Detail: "This sign-in has expired or was already used. Sign in again to continue.",
		Next:   "/ui/login" + f.Query, NextLabel: "Sign in again"})
}

// setMFAMethods records the second factors offered ("totp passkey"): the code field unless
// only a passkey is known, the passkey button when one is.
func (f *form) setMFAMethods(methods string) {
	ms := strings.Fields(methods)
	if len(ms) > 4 {
		ms = ms[:4]
	}
	f.MFAMethods, f.MFACode, f.MFAPasskey = "", len(ms) == 0, false
	for _, m := range ms {
		switch m {
		case "passkey":
			f.MFAPasskey = true
		case "totp", "recovery_code":
			f.MFACode = true
		default:
			continue
		}
		f.MFAMethods = strings.TrimSpace(f.MFAMethods + " " + m)
	}
	if !f.MFAPasskey {
		f.MFACode = true
	}
}

func (h *Handler) mfa(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	f := h.newForm("Two-step verification", r.PostForm.Get("return_to"))
	f.MFAToken = r.PostForm.Get("mfa_token")
	f.setMFAMethods(r.PostForm.Get("methods"))
	if f.MFAToken == "" {
		h.signInAgain(w, r, f.ReturnTo)
		return
	}
	p := accounts.Proof{Code: strings.TrimSpace(r.PostForm.Get("code")), RecoveryCode: strings.TrimSpace(r.PostForm.Get("recovery_code"))}
	// The button pressed decides which field counts: the recovery-code button posts
	// method=recovery; the main button uses the app code when one was typed.
	if r.PostForm.Get("method") == "recovery" {
		p.Code = ""
	} else if p.Code != "" {
		p.RecoveryCode = ""
	}
	f.Recovery = p.RecoveryCode != ""
	if h.cfg.LimitSecondStep != nil {
		if err := h.cfg.LimitSecondStep(r); err != nil {
			h.Page(w, r, h.formError(w, r, f, err), "mfa", f)
			return
		}
	}
	res, err := h.cfg.Accounts.LoginMFA(r.Context(), f.MFAToken, p, h.cfg.Client(r))
	h.observe("mfa", err)
	switch {
	case err == nil:
		h.cfg.StartSession(w, r, res)
		h.redirect(w, r, h.returnTo(f.ReturnTo))
	case errors.Is(err, accounts.ErrMFAToken), errors.Is(err, accounts.ErrInvalidCredentials):
		h.signInAgain(w, r, f.ReturnTo)
	default:
		h.Page(w, r, h.formError(w, r, f, err), "mfa", f)
	}
}

func (h *Handler) logoutPage(w http.ResponseWriter, r *http.Request) {
	f := h.newForm("Sign out", r.URL.Query().Get("return_to"))
	h.Page(w, r, http.StatusOK, "logout", f)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	if err := h.cfg.EndSession(w, r); err != nil {
		h.log.ErrorContext(r.Context(), "hosted pages: sign-out failed", "err", err.Error())
		h.Error(w, r, http.StatusServiceUnavailable, "Could not sign out", "Please try again in a moment.")
		return
	}
	if rt := h.safeReturnTo(r.PostForm.Get("return_to")); rt != "" {
		h.redirect(w, r, rt)
		return
	}
	h.Page(w, r, http.StatusOK, "error", ErrorData{Title: "Signed out", Detail: "You are signed out on this browser.",
		Next: "/ui/login", NextLabel: "Sign in again"})
}
