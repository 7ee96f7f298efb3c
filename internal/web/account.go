package web

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/mfa"
	"github.com/gatehouse-auth/gatehouse/internal/passkeys"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

// The account page (GET /ui/account) and its forms (POST /ui/account/...). Each form answers
// 303 back to the page with ?done=<what> (a fixed message, nothing typed is reflected), or
// the page again with its errors. Secrets shown once (recovery codes, a new TOTP secret) are
// rendered into the answer of the POST itself, never carried in a URL.

// Consent is one OIDC client the user has granted scopes to (Config.Consents).
type Consent struct {
	ClientID string
	Name     string
	Scopes   []string
	Updated  time.Time
}

// accountRoutes registers the account page and its actions.
func (h *Handler) accountRoutes() {
	h.route("GET /ui/account", h.account)
	h.route("POST /ui/account/profile", h.accountAction(h.postProfile))
	h.route("POST /ui/account/email", h.accountAction(h.postChangeEmail))
	h.route("POST /ui/account/email/resend", h.accountAction(h.postResend))
	h.route("POST /ui/account/sessions/revoke", h.accountAction(h.postRevokeSession))
	h.route("POST /ui/account/sessions/logout", h.accountAction(h.postLogoutScope))
	h.route("POST /ui/account/password", h.accountAction(h.postPassword))
	h.route("POST /ui/account/reauth", h.accountAction(h.postReauth))
	h.route("POST /ui/account/totp", h.enrolAction(h.postTOTPStart))
	h.route("POST /ui/account/totp/confirm", h.enrolAction(h.postTOTPConfirm))
	h.route("POST /ui/account/totp/remove", h.accountAction(h.postTOTPRemove))
	h.route("POST /ui/account/recovery-codes", h.accountAction(h.postRecoveryCodes))
	h.route("POST /ui/account/passkeys/rename", h.accountAction(h.postPasskeyRename))
	h.route("POST /ui/account/passkeys/delete", h.accountAction(h.postPasskeyDelete))
	h.route("POST /ui/account/consents/revoke", h.accountAction(h.postConsentRevoke))
	h.route("POST /ui/account/delete", h.accountAction(h.postDeleteAccount))
	h.route("POST /ui/account/export", h.accountAction(h.postExport))
}

// doneMessages are the flash messages of ?done=; anything else shows nothing.
var doneMessages = map[string]string{
	"profile":        "Your profile was saved.",
	"email_change":   "We sent a link to the new address. Your address changes once you follow it.",
	"resent":         "We sent a new verification email.",
	"verified":       "Your email address is already verified.",
	"session":        "That device was signed out.",
	"others":         "Every other device was signed out.",
	"password":       "Your password was changed. Your other devices were signed out.",
	"reauth":         "Thanks, you are confirmed. You can go on for the next 10 minutes.",
	"totp_removed":   "The authenticator app was removed.",
	"passkey_rename": "The passkey was renamed.",
	"passkey_delete": "The passkey was deleted.",
	"passkey_added":  "The passkey was added.",
	"consent":        "The app's access was revoked.",
}

// sessionRow is one line of "Sessions and devices".
type sessionRow struct {
	ID, IP, UserAgent string
	LastSeen, Created string
	Current           bool
}

type passkeyRow struct {
	ID, Name, Created, LastUsed string
}

// accountPage is the data of templates/account.html.
type accountPage struct {
	User      *users.User
	Enrolment bool   // the session may only enrol a second factor
	ReturnTo  string // where an enrolment session continues
	Query     string // "?return_to=…" for links
	Flash     string
	Alert     string
	Errors    map[string]string
	// Typed keeps what was typed into the profile and email forms (never passwords).
	Name, Locale, Picture, NewEmail string
	EmailMail                       bool // email can be sent (resend, change)
	Sessions                        []sessionRow
	MFA                             bool // TOTP is configured on this server
	MFARequired                     bool
	TOTP                            mfa.Status
	Enrol                           *enrolView // a TOTP enrolment in progress
	RecoveryCodes                   []string   // shown once
	Passkeys                        bool
	PasskeyList                     []passkeyRow
	Apps                            bool // OIDC is on
	Consents                        []Consent
	Reauth                          bool // show the "confirm it's you" form
	ReauthCode                      bool // ... with a code (TOTP) rather than the password
	Continue                        string
}

type enrolView struct {
	QR     template.URL // data:image/png;base64,… (the CSP allows data: images); see qrURL
	Secret string
	URI    string
}

// qrURL marks a PNG data: URL made by the mfa package as safe for an img src; anything
// else becomes empty.
func qrURL(s string) template.URL {
	if !strings.HasPrefix(s, "data:image/png;base64,") || strings.ContainsAny(s, "\"'<> ") {
		return ""
	}
	return template.URL(s)
}

func (*accountPage) PageTitle() string { return "Your account" }

// accountReq is an account request: the caller's session and user.
type accountReq struct {
	sess *sessions.Session
	user *users.User
	c    accounts.Client
}

// caller returns the session and user of the browser, or nil.
func (h *Handler) caller(r *http.Request) *accountReq {
	if h.cfg.CallerSession == nil {
		return nil
	}
	s, err := h.cfg.CallerSession(r)
	if err != nil || s == nil {
		return nil
	}
	u, err := h.cfg.Accounts.User(r.Context(), s.UserID)
	if err != nil || u.Disabled {
		return nil
	}
	return &accountReq{sess: s, user: u, c: h.cfg.Client(r)}
}

func (h *Handler) toLogin(w http.ResponseWriter, r *http.Request) {
	h.redirect(w, r, "/ui/login?return_to="+url.QueryEscape(defaultReturnTo))
}

// accountAction wraps a POST of a full session: it reads the form and finds the caller.
func (h *Handler) accountAction(fn func(http.ResponseWriter, *http.Request, *accountReq)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !h.parseForm(w, r) {
			return
		}
		a := h.caller(r)
		if a == nil {
			h.toLogin(w, r)
			return
		}
		if accounts.RequireFull(a.sess) != nil {
			h.redirect(w, r, "/ui/account"+h.rtQuery(r.PostForm.Get("return_to")))
			return
		}
		fn(w, r, a)
	}
}

// enrolAction is accountAction for the routes a session limited to enrolment may use too.
func (h *Handler) enrolAction(fn func(http.ResponseWriter, *http.Request, *accountReq)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !h.parseForm(w, r) {
			return
		}
		a := h.caller(r)
		if a == nil {
			h.toLogin(w, r)
			return
		}
		fn(w, r, a)
	}
}

func (h *Handler) rtQuery(rt string) string {
	if rt = h.safeReturnTo(rt); rt != "" {
		return "?return_to=" + url.QueryEscape(rt)
	}
	return ""
}

func (h *Handler) done(w http.ResponseWriter, r *http.Request, what string) {
	h.redirect(w, r, "/ui/account?done="+what)
}

// load fills the page for a.
func (h *Handler) load(ctx context.Context, r *http.Request, a *accountReq) *accountPage {
	p := &accountPage{User: a.user, Errors: map[string]string{}, Enrolment: accounts.RequireFull(a.sess) != nil,
		Name: a.user.Name, Locale: a.user.Locale, Picture: a.user.Picture}
	p.ReturnTo = h.safeReturnTo(r.FormValue("return_to"))
	if p.ReturnTo != "" {
		p.Query = "?return_to=" + url.QueryEscape(p.ReturnTo)
	}
	acc := h.cfg.Accounts
	p.EmailMail = acc.EmailAvailable()
	p.MFA = acc.TOTP() != nil
	p.MFARequired = acc.MFAPolicy() == "required"
	if p.MFA {
		if st, err := acc.MFAStatus(ctx, a.user.ID); err == nil {
			p.TOTP = st
		}
	}
	if p.Enrolment {
		return p
	}
	if h.cfg.Sessions != nil {
		if list, err := h.cfg.Sessions.List(ctx, a.user.ID); err == nil {
			for _, s := range list {
				if s.Purpose != "" {
					continue
				}
				row := sessionRow{ID: s.ID, IP: s.IP, UserAgent: s.UserAgent,
					LastSeen: when(s.LastSeenAt), Created: when(s.CreatedAt), Current: s.ID == a.sess.ID}
				if row.Current { // this device first
					p.Sessions = append([]sessionRow{row}, p.Sessions...)
				} else {
					p.Sessions = append(p.Sessions, row)
				}
			}
		}
	}
	if h.cfg.Passkeys != nil {
		p.Passkeys = true
		if list, err := h.cfg.Passkeys.List(ctx, a.user.ID); err == nil {
			for _, k := range list {
				p.PasskeyList = append(p.PasskeyList, passkeyRow{ID: k.ID, Name: k.Name, Created: when(k.CreatedAt), LastUsed: when(k.LastUsedAt)})
			}
		}
	}
	if h.cfg.Consents != nil {
		p.Apps = true
		if list, err := h.cfg.Consents(r, a.user.ID); err == nil {
			p.Consents = list
		}
	}
	p.ReauthCode = p.TOTP.TOTP
	return p
}

func when(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2 Jan 2006 15:04 UTC")
}

func (h *Handler) account(w http.ResponseWriter, r *http.Request) {
	a := h.caller(r)
	if a == nil {
		h.redirect(w, r, "/ui/login?return_to="+url.QueryEscape(defaultReturnTo+h.rtQuery(r.URL.Query().Get("return_to"))))
		return
	}
	p := h.load(r.Context(), r, a)
	p.Flash = doneMessages[r.URL.Query().Get("done")]
	h.Page(w, r, http.StatusOK, "account", p)
}

// fail renders the page with err put where it belongs; a step-up error opens the re-auth form.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, p *accountPage, field string, err error) {
	var pe *accounts.ProfileError
	status := http.StatusBadRequest
	switch {
	case errors.Is(err, accounts.ErrStepUpRequired):
		p.Reauth = true
		p.Alert = "For your safety, confirm it's you first (below), then try again."
		status = http.StatusForbidden
	case errors.Is(err, accounts.ErrCurrentPassword):
		p.Errors["current_password"] = "The current password is not right."
		status = http.StatusForbidden
	case errors.As(err, &pe):
		p.Errors[field] = strings.ToUpper(pe.Msg[:1]) + pe.Msg[1:] + "."
	case errors.Is(err, accounts.ErrEmailUnavailable):
		p.Alert = "This server cannot send email, so this is not available."
		status = http.StatusServiceUnavailable
	case errors.Is(err, sessions.ErrNotFound), errors.Is(err, passkeys.ErrNotFound):
		p.Alert = "That item no longer exists. The page shows what is left."
		status = http.StatusNotFound
	case errors.Is(err, passkeys.ErrBadName):
		p.Errors[field] = "Use a name of 1 to 64 ordinary characters."
	case errors.Is(err, mfa.ErrAlreadyEnrolled):
		p.Alert = "An authenticator app is already set up. Remove it first to set up another."
		status = http.StatusConflict
	case errors.Is(err, mfa.ErrNotEnrolled):
		p.Alert = "Set up an authenticator app first."
		status = http.StatusConflict
	default:
		f := &form{Errors: p.Errors}
		status = h.formError(w, r, f, err)
		if f.Alert != "" {
			p.Alert = f.Alert
		}
		if field != "" {
			for k, v := range f.Errors {
				if k == "password" {
					k = field
				}
				p.Errors[k] = v
			}
		}
	}
	h.Page(w, r, status, "account", p)
}

func (h *Handler) postProfile(w http.ResponseWriter, r *http.Request, a *accountReq) {
	name, locale, pic := strings.TrimSpace(r.PostForm.Get("name")), r.PostForm.Get("locale"), r.PostForm.Get("picture")
	_, err := h.cfg.Accounts.UpdateProfile(r.Context(), a.sess, accounts.ProfilePatch{Name: &name, Locale: &locale, Picture: &pic}, a.c)
	if err != nil {
		p := h.load(r.Context(), r, a)
		p.Name, p.Locale, p.Picture = name, locale, pic
		field := "name"
		var pe *accounts.ProfileError
		if errors.As(err, &pe) {
			switch {
			case strings.HasPrefix(pe.Msg, "locale"):
				field = "locale"
			case strings.HasPrefix(pe.Msg, "picture"):
				field = "picture"
			}
		}
		h.fail(w, r, p, field, err)
		return
	}
	h.done(w, r, "profile")
}

func (h *Handler) postChangeEmail(w http.ResponseWriter, r *http.Request, a *accountReq) {
	ne := strings.TrimSpace(r.PostForm.Get("new_email"))
	err := h.cfg.Accounts.ChangeEmail(r.Context(), a.sess, ne, a.c)
	if err != nil {
		p := h.load(r.Context(), r, a)
		p.NewEmail = ne
		switch {
		case errors.Is(err, users.ErrInvalidEmail):
			p.Errors["new_email"] = "Enter a valid email address, like name@example.com."
			h.Page(w, r, http.StatusBadRequest, "account", p)
		case errors.Is(err, users.ErrEmailTaken):
			p.Errors["new_email"] = "Another account uses this address."
			h.Page(w, r, http.StatusConflict, "account", p)
		default:
			h.fail(w, r, p, "new_email", err)
		}
		return
	}
	h.done(w, r, "email_change")
}

func (h *Handler) postResend(w http.ResponseWriter, r *http.Request, a *accountReq) {
	sent, err := h.cfg.Accounts.ResendVerification(r.Context(), a.sess, a.c)
	if err != nil {
		h.fail(w, r, h.load(r.Context(), r, a), "", err)
		return
	}
	if !sent {
		h.done(w, r, "verified")
		return
	}
	h.done(w, r, "resent")
}

func (h *Handler) postRevokeSession(w http.ResponseWriter, r *http.Request, a *accountReq) {
	id := r.PostForm.Get("session_id")
	if id == a.sess.ID {
		// This browser: the same as signing out.
		h.redirect(w, r, "/ui/logout")
		return
	}
	if err := h.cfg.Accounts.RevokeOwnSession(r.Context(), a.user.ID, id, a.c); err != nil {
		h.fail(w, r, h.load(r.Context(), r, a), "", err)
		return
	}
	h.done(w, r, "session")
}

func (h *Handler) postLogoutScope(w http.ResponseWriter, r *http.Request, a *accountReq) {
	switch r.PostForm.Get("scope") {
	case accounts.ScopeOthers:
		if _, err := h.cfg.Accounts.Logout(r.Context(), a.sess, accounts.ScopeOthers, a.c); err != nil {
			h.fail(w, r, h.load(r.Context(), r, a), "", err)
			return
		}
		h.done(w, r, "others")
	case accounts.ScopeGlobal:
		if _, err := h.cfg.Accounts.Logout(r.Context(), a.sess, accounts.ScopeGlobal, a.c); err != nil {
			h.fail(w, r, h.load(r.Context(), r, a), "", err)
			return
		}
		h.cfg.EndSession(w, r) // clears the cookies; the session is gone already
		h.Page(w, r, http.StatusOK, "error", ErrorData{Title: "Signed out everywhere",
			Detail: "Every session of your account has ended, this one included.", Next: "/ui/login", NextLabel: "Sign in again"})
	default:
		h.Error(w, r, http.StatusBadRequest, "The form could not be read", "Go back, reload the page and try again.")
	}
}

func (h *Handler) postPassword(w http.ResponseWriter, r *http.Request, a *accountReq) {
	cur, pw := r.PostForm.Get("current_password"), r.PostForm.Get("new_password")
	p := h.load(r.Context(), r, a)
	if pw == "" {
		p.Errors["new_password"] = "Choose a new password."
		h.Page(w, r, http.StatusBadRequest, "account", p)
		return
	}
	err := h.cfg.Accounts.ChangePassword(r.Context(), a.sess, cur, pw, a.c)
	if errors.Is(err, accounts.ErrStepUpRequired) {
		p.Errors["current_password"] = "Enter your current password."
	}
	if err != nil {
		h.fail(w, r, p, "new_password", err)
		return
	}
	h.done(w, r, "password")
}

// postReauth confirms the user again: with a code when an authenticator app is set up (a
// step-up, which replaces the session), else with the password (a new sign-in).
func (h *Handler) postReauth(w http.ResponseWriter, r *http.Request, a *accountReq) {
	code, recovery, pw := strings.TrimSpace(r.PostForm.Get("code")), strings.TrimSpace(r.PostForm.Get("recovery_code")), r.PostForm.Get("password")
	p := h.load(r.Context(), r, a)
	p.Reauth = true
	var res *accounts.Result
	var err error
	switch {
	case p.ReauthCode:
		if code == "" && recovery == "" {
			p.Errors["code"] = "Enter a code from your authenticator app."
			h.Page(w, r, http.StatusBadRequest, "account", p)
			return
		}
		if code != "" {
			recovery = ""
		}
		if h.cfg.LimitSecondStep != nil {
			if err = h.cfg.LimitSecondStep(r); err != nil {
				h.fail(w, r, p, "", err)
				return
			}
		}
		res, err = h.cfg.Accounts.StepUp(r.Context(), a.sess, accounts.Proof{Code: code, RecoveryCode: recovery}, a.c)
		if errors.Is(err, mfa.ErrInvalidCode) || errors.Is(err, mfa.ErrMalformedCode) {
			p.Errors["code"] = "That code is wrong, expired or already used."
			h.Page(w, r, http.StatusBadRequest, "account", p)
			return
		}
	default:
		if pw == "" {
			p.Errors["reauth_password"] = "Enter your password."
			h.Page(w, r, http.StatusBadRequest, "account", p)
			return
		}
		res, err = h.cfg.Accounts.Login(r.Context(), a.user.Email, pw, a.c)
		var mr *accounts.MFARequiredError
		if errors.As(err, &mr) {
			// A second factor this form cannot take (a passkey): sign in again in full.
			h.redirect(w, r, "/ui/login?prompt=login&return_to="+url.QueryEscape(defaultReturnTo))
			return
		}
		if errors.Is(err, accounts.ErrInvalidCredentials) {
			p.Errors["reauth_password"] = "The password is not right."
			h.Page(w, r, http.StatusUnauthorized, "account", p)
			return
		}
	}
	if err != nil {
		h.fail(w, r, p, "", err)
		return
	}
	h.cfg.StartSession(w, r, res)
	h.done(w, r, "reauth")
}

func (h *Handler) postTOTPStart(w http.ResponseWriter, r *http.Request, a *accountReq) {
	p := h.load(r.Context(), r, a)
	e, err := h.cfg.Accounts.EnrolTOTP(r.Context(), a.sess)
	if err != nil {
		h.fail(w, r, p, "", err)
		return
	}
	p.Enrol = &enrolView{QR: qrURL(string(e.QR)), Secret: string(e.Secret), URI: string(e.URI)}
	h.Page(w, r, http.StatusOK, "account", p)
}

func (h *Handler) postTOTPConfirm(w http.ResponseWriter, r *http.Request, a *accountReq) {
	p := h.load(r.Context(), r, a)
	code := strings.TrimSpace(r.PostForm.Get("code"))
	codes, err := h.cfg.Accounts.ConfirmTOTP(r.Context(), a.sess, code, a.c)
	if err != nil {
		// The pending enrolment stays: show its secret again, from the form.
		if uri := r.PostForm.Get("uri"); strings.HasPrefix(uri, "otpauth://totp/") {
			if qr, qerr := mfa.QRDataURL(uri); qerr == nil {
				p.Enrol = &enrolView{QR: qrURL(qr), URI: uri, Secret: r.PostForm.Get("secret")}
			}
		}
		if errors.Is(err, mfa.ErrInvalidCode) || errors.Is(err, mfa.ErrMalformedCode) || errors.Is(err, mfa.ErrNotEnrolled) {
			p.Errors["totp_code"] = "That code is not right. Check the app's clock and enter the current code."
			if errors.Is(err, mfa.ErrNotEnrolled) {
				p.Enrol = nil
				p.Errors["totp_code"] = ""
				p.Alert = "This set-up has expired. Start again."
			}
			h.Page(w, r, http.StatusBadRequest, "account", p)
			return
		}
		h.fail(w, r, p, "totp_code", err)
		return
	}
	p.RecoveryCodes = codes
	p.TOTP.TOTP = true
	p.TOTP.RecoveryCodes = len(codes)
	p.Flash = "Two-step verification is on. Save these recovery codes now: they are shown only once."
	if p.Enrolment {
		// The enrolment session ended with the change: sign in again, now with the code.
		p.Continue = "/ui/login" + p.Query
	}
	h.Page(w, r, http.StatusOK, "account", p)
}

func (h *Handler) postTOTPRemove(w http.ResponseWriter, r *http.Request, a *accountReq) {
	if err := h.cfg.Accounts.RemoveTOTP(r.Context(), a.sess, a.c); err != nil {
		h.fail(w, r, h.load(r.Context(), r, a), "", err)
		return
	}
	h.done(w, r, "totp_removed")
}

func (h *Handler) postRecoveryCodes(w http.ResponseWriter, r *http.Request, a *accountReq) {
	codes, err := h.cfg.Accounts.RegenerateRecoveryCodes(r.Context(), a.sess, a.c)
	p := h.load(r.Context(), r, a)
	if err != nil {
		h.fail(w, r, p, "", err)
		return
	}
	p.RecoveryCodes = codes
	p.TOTP.RecoveryCodes = len(codes)
	p.Flash = "New recovery codes: save them now, they are shown only once. The old ones no longer work."
	h.Page(w, r, http.StatusOK, "account", p)
}

func (h *Handler) postPasskeyRename(w http.ResponseWriter, r *http.Request, a *accountReq) {
	if h.cfg.Passkeys == nil {
		h.Error(w, r, http.StatusNotFound, "Page not found", "There is no page at this address.")
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("name"))
	if err := h.cfg.Passkeys.Rename(r.Context(), a.user.ID, r.PostForm.Get("id"), name); err != nil {
		h.fail(w, r, h.load(r.Context(), r, a), "passkey_name", err)
		return
	}
	h.done(w, r, "passkey_rename")
}

func (h *Handler) postPasskeyDelete(w http.ResponseWriter, r *http.Request, a *accountReq) {
	if h.cfg.Passkeys == nil {
		h.Error(w, r, http.StatusNotFound, "Page not found", "There is no page at this address.")
		return
	}
	err := h.cfg.Accounts.RequireRecent(a.sess)
	if err == nil {
		err = h.cfg.Passkeys.Delete(r.Context(), a.user.ID, r.PostForm.Get("id"))
	}
	if err != nil {
		h.fail(w, r, h.load(r.Context(), r, a), "", err)
		return
	}
	h.done(w, r, "passkey_delete")
}

func (h *Handler) postConsentRevoke(w http.ResponseWriter, r *http.Request, a *accountReq) {
	if h.cfg.RevokeConsent == nil {
		h.Error(w, r, http.StatusNotFound, "Page not found", "There is no page at this address.")
		return
	}
	if err := h.cfg.RevokeConsent(r, a.sess, r.PostForm.Get("client_id")); err != nil {
		p := h.load(r.Context(), r, a)
		if errors.Is(err, ErrNotFound) {
			p.Alert = "That app has no access to revoke."
			h.Page(w, r, http.StatusNotFound, "account", p)
			return
		}
		h.fail(w, r, p, "", err)
		return
	}
	h.done(w, r, "consent")
}

// ErrNotFound is what Config.RevokeConsent returns for a consent that does not exist.
var ErrNotFound = errors.New("not found")

func (h *Handler) postDeleteAccount(w http.ResponseWriter, r *http.Request, a *accountReq) {
	p := h.load(r.Context(), r, a)
	if !strings.EqualFold(strings.TrimSpace(r.PostForm.Get("confirm_email")), a.user.Email) {
		p.Errors["confirm_email"] = "Type your email address exactly to confirm."
		h.Page(w, r, http.StatusBadRequest, "account", p)
		return
	}
	if err := h.cfg.Accounts.DeleteAccount(r.Context(), a.sess, a.c); err != nil {
		h.fail(w, r, p, "", err)
		return
	}
	h.cfg.EndSession(w, r)
	h.Page(w, r, http.StatusOK, "error", ErrorData{Title: "Account deleted",
		Detail: "Your account and its sessions are gone.", Next: "/ui/signup", NextLabel: "Create a new account"})
}

func (h *Handler) postExport(w http.ResponseWriter, r *http.Request, a *accountReq) {
	if h.cfg.Export == nil {
		h.Error(w, r, http.StatusNotFound, "Page not found", "There is no page at this address.")
		return
	}
	if err := h.cfg.Export(w, r, a.sess); err != nil {
		h.fail(w, r, h.load(r.Context(), r, a), "", err)
	}
}
