package accounts

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/language"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/mail"
	"github.com/gatehouse-auth/gatehouse/internal/password"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

// ProfilePatch is a change of the caller's own profile; nil fields are left as they are and
// "" clears a field.
type ProfilePatch struct {
	Name    *string
	Locale  *string
	Picture *string
}

// Limits of profile fields.
const (
	maxNameLen    = 200
	maxPictureLen = 2048
)

func (p ProfilePatch) check() error {
	if p.Name != nil {
		n := *p.Name
		if utf8.RuneCountInString(n) > maxNameLen || strings.TrimSpace(n) != n || strings.ContainsFunc(n, unicode.IsControl) {
			return &ProfileError{"name must be at most 200 characters, without control characters or surrounding spaces"}
		}
	}
	if p.Locale != nil && *p.Locale != "" {
		if _, err := language.Parse(*p.Locale); err != nil || len(*p.Locale) > 35 {
			return &ProfileError{"locale must be a BCP 47 language tag such as \"en\" or \"pt-BR\""}
		}
	}
	if p.Picture != nil && *p.Picture != "" {
		u, err := url.Parse(*p.Picture)
		if err != nil || len(*p.Picture) > maxPictureLen || u.Scheme != "https" || u.Host == "" || u.User != nil {
			return &ProfileError{"picture must be an https URL of at most 2048 characters"}
		}
	}
	return nil
}

// UpdateProfile applies p to the caller's profile.
func (s *Service) UpdateProfile(ctx context.Context, sess *sessions.Session, p ProfilePatch, c Client) (*users.User, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	u, err := s.updateUser(ctx, sess.UserID, func(u *users.User) error {
		if p.Name != nil {
			u.Name = *p.Name
		}
		if p.Locale != nil {
			u.Locale = *p.Locale
		}
		if p.Picture != nil {
			u.Picture = *p.Picture
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return u, s.audit.Record(ctx, audit.Event{Type: audit.ProfileUpdated, UserID: u.ID, SessionID: sess.ID, Actor: "user", IP: c.IP, UserAgent: c.UserAgent, Outcome: audit.Success})
}

// ChangePassword sets the caller's password. It needs the current password, or (for an
// account without one, or a user who just stepped up) a sign-in younger than RecentAuth.
// Every other session of the user ends; the caller's stays.
func (s *Service) ChangePassword(ctx context.Context, sess *sessions.Session, current, pw string, c Client) error {
	u, err := s.users.UserByID(ctx, sess.UserID)
	if err != nil {
		return err
	}
	if current == "" {
		if s.RequireRecent(sess) != nil {
			return ErrStepUpRequired
		}
	} else {
		if err := s.checkCurrentPassword(ctx, u, current, c); err != nil {
			return err
		}
	}
	if err := s.policy.Check(pw, u.Email); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return err
	}
	if err := s.setPassword(ctx, u.ID, hash, sess.ID, false); err != nil {
		return err
	}
	if s.email != nil {
		// A pending reset link would undo this change.
		if err := s.email.Tokens.DeleteAccountTokens(ctx, u.ID, PurposePasswordReset); err != nil {
			return err
		}
	}
	if err := s.audit.Record(ctx, audit.Event{Type: audit.PasswordChanged, UserID: u.ID, SessionID: sess.ID, Actor: "user", IP: c.IP, UserAgent: c.UserAgent, Outcome: audit.Success}); err != nil {
		return err
	}
	s.notify(ctx, mail.PasswordChanged, u.Email, mail.Data{})
	return nil
}

// checkCurrentPassword verifies pw against u's password under the sign-in rate limits, so
// that a stolen session cannot be used to guess the password faster than the login form.
func (s *Service) checkCurrentPassword(ctx context.Context, u *users.User, pw string, c Client) error {
	d, err := s.limiter.CheckLogin(ctx, c.RateKey, u.Email)
	if err != nil {
		return err
	}
	if !d.Allowed {
		return &RateLimitedError{RetryAfter: d.RetryAfter, Limit: d.Limit}
	}
	t, err := s.hasher.Admit(ctx, password.Admission{Priority: true, Group: ratelimit.NetworkKey(c.RateKey)})
	if err != nil {
		return err
	}
	defer t.Release()
	charge, err := s.limiter.ChargeLogin(ctx, c.RateKey, u.Email, d.Known)
	if err != nil {
		return err
	}
	if !charge.Allowed {
		return &RateLimitedError{RetryAfter: charge.RetryAfter, Limit: charge.Limit}
	}
	ok := false
	if u.PasswordHash == "" {
		err = t.VerifyDummy(pw)
	} else {
		ok, _, err = t.Verify(pw, u.PasswordHash)
	}
	if err != nil {
		return err
	}
	if !ok {
		if err := s.limiter.LoginFailed(ctx, c.RateKey, u.Email); err != nil {
			return err
		}
		return ErrCurrentPassword
	}
	return nil
}

// ChangeEmail starts moving the caller's account to a new address: a verification mail
// (link and code) goes to the new address, and a notice with an undo link to the old one.
// The account keeps its address until the new one is verified.
func (s *Service) ChangeEmail(ctx context.Context, sess *sessions.Session, newEmail string, c Client) error {
	newEmail, err := users.NormalizeEmail(newEmail)
	if err != nil {
		return err
	}
	if err := s.needMail(); err != nil {
		return err
	}
	u, err := s.users.UserByID(ctx, sess.UserID)
	if err != nil {
		return err
	}
	if err := s.allow(ctx, "change_user", limitMailPerUser, u.ID); err != nil {
		return err
	}
	if newEmail == u.Email {
		return &ProfileError{"email is already the account's address"}
	}
	if other, err := s.users.UserByEmail(ctx, newEmail); err == nil && other.ID != u.ID {
		return users.ErrEmailTaken
	} else if err != nil && !errors.Is(err, users.ErrNotFound) {
		return err
	}
	// A completed change stays undoable by the previous address for UndoTTL. Another change
	// in that window would replace its undo link with one sent to the new address (perhaps
	// an attacker's), so it waits.
	switch undo, err := s.email.Tokens.AccountTokenFor(ctx, u.ID, PurposeEmailUndo, s.now()); {
	case err == nil && undo.Email != u.Email:
		return &ProfileError{"the previous email change can still be undone from the former address; try again after " + undo.ExpiresAt.UTC().Format(time.RFC3339)}
	case err != nil && !errors.Is(err, ErrTokenNotFound):
		return err
	}
	// One pending verification at a time: the old address's own verification is moot now.
	if err := s.email.Tokens.DeleteAccountTokens(ctx, u.ID, PurposeVerifyEmail); err != nil {
		return err
	}
	if err := s.sendVerification(ctx, u, PurposeEmailChange, newEmail); err != nil {
		return err
	}
	undo, err := s.issue(ctx, u.ID, PurposeEmailUndo, u.Email, UndoTTL, false)
	if err != nil {
		return err
	}
	if err := s.email.Mailer.Enqueue(ctx, mail.EmailChanged, u.Email, mail.Data{NewEmail: newEmail,
		UndoLink: s.link("/ui/email/verify", undo.link), Expires: UndoTTL}); err != nil {
		return err
	}
	return s.audit.Record(ctx, audit.Event{Type: audit.EmailChangeRequested, UserID: u.ID, SessionID: sess.ID, Actor: "user", IP: c.IP, UserAgent: c.UserAgent, Outcome: audit.Success})
}

// DeleteAccount deletes the caller's account. It needs a sign-in younger than RecentAuth.
// Like the administrator's delete, the user is first disabled with a new credential epoch,
// then every session ends (with revocation entries), then the user goes.
func (s *Service) DeleteAccount(ctx context.Context, sess *sessions.Session, c Client) error {
	if s.RequireRecent(sess) != nil {
		return ErrStepUpRequired
	}
	id := sess.UserID
	if _, err := s.updateUser(ctx, id, func(u *users.User) error {
		u.CredentialEpoch++
		u.Disabled = true
		return nil
	}); err != nil {
		return err
	}
	if _, err := s.sessions.RevokeUser(ctx, id, ""); err != nil {
		return err
	}
	s.userCache.Delete(id)
	if err := s.users.DeleteUser(ctx, id); err != nil {
		return err
	}
	return s.audit.Record(ctx, audit.Event{Type: audit.AccountDeleted, UserID: id, SessionID: sess.ID, Actor: "user", IP: c.IP, UserAgent: c.UserAgent, Outcome: audit.Success})
}

// Export is everything Gatehouse keeps about a user that the user may see.
type Export struct {
	User     *users.User
	Sessions []*sessions.Session
	Events   []*audit.Event
}

// maxExportEvents bounds the events of an export (the newest are kept by retention anyway).
const maxExportEvents = 1000

// ExportAccount returns the caller's data.
func (s *Service) ExportAccount(ctx context.Context, sess *sessions.Session) (*Export, error) {
	u, err := s.users.UserByID(ctx, sess.UserID)
	if err != nil {
		return nil, err
	}
	list, err := s.sessions.List(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	var events []*audit.Event
	var after int64
	for len(events) < maxExportEvents {
		page, err := s.audit.List(ctx, audit.Filter{UserID: u.ID, After: after, Limit: 200})
		if err != nil {
			return nil, err
		}
		events = append(events, page...)
		if len(page) < 200 {
			break
		}
		after = page[len(page)-1].ID
	}
	if len(events) > maxExportEvents {
		events = events[:maxExportEvents]
	}
	return &Export{User: u, Sessions: list, Events: events}, nil
}

// RequestEmailLogin queues a sign-in code for email if an enabled account has it. Like
// ForgotPassword, the caller answers 202 before the account is looked up.
func (s *Service) RequestEmailLogin(ctx context.Context, email string, c Client) error {
	email, err := users.NormalizeEmail(email)
	if err != nil {
		return err
	}
	if err := s.needMail(); err != nil {
		return err
	}
	if err := s.allow(ctx, "mail_ip", limitMailPerIP, c.RateKey); err != nil {
		return err
	}
	if err := s.allow(ctx, "login_email", limitMailPerEmail, email); err != nil {
		return err
	}
	s.background(ctx, "email sign-in request", func(ctx context.Context) error {
		u, err := s.users.UserByEmail(ctx, email)
		if errors.Is(err, users.ErrNotFound) || (err == nil && u.Disabled) {
			ev := audit.Event{Type: audit.EmailLoginCodeRequested, Actor: "user", IP: c.IP, UserAgent: c.UserAgent, Outcome: audit.Failure, Reason: "unknown_user"}
			if u != nil {
				ev.UserID, ev.Reason = u.ID, "user_disabled"
			}
			return s.audit.Record(ctx, ev)
		}
		if err != nil {
			return err
		}
		tok, err := s.issue(ctx, u.ID, PurposeLoginCode, u.Email, LoginCodeTTL, true)
		if err != nil {
			return err
		}
		if err := s.email.Mailer.Enqueue(ctx, mail.LoginCode, u.Email, mail.Data{Code: tok.code, Expires: LoginCodeTTL}); err != nil {
			return err
		}
		return s.audit.Record(ctx, audit.Event{Type: audit.EmailLoginCodeRequested, UserID: u.ID, Actor: "user", IP: c.IP, UserAgent: c.UserAgent, Outcome: audit.Success})
	})
	return nil
}

// EmailLogin signs in with a code sent by RequestEmailLogin: amr ["email"]. Wrong codes,
// unknown addresses and disabled accounts all answer ErrInvalidCode; each code allows
// CodeAttempts tries, and the sign-in rate limits per IP and account apply.
func (s *Service) EmailLogin(ctx context.Context, email, code string, c Client) (*Result, error) {
	if !s.EmailLoginEnabled() {
		return nil, ErrInvalidCode
	}
	email, err := users.NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	d, err := s.limiter.CheckLogin(ctx, c.RateKey, email)
	if err != nil {
		return nil, err
	}
	if !d.Allowed {
		return nil, s.refused(ctx, d, email, c)
	}
	charge, err := s.limiter.ChargeLogin(ctx, c.RateKey, email, d.Known)
	if err != nil {
		return nil, err
	}
	if !charge.Allowed {
		return nil, s.refused(ctx, charge, email, c)
	}
	fail := func(userID, reason string) error {
		if err := s.limiter.LoginFailed(ctx, c.RateKey, email); err != nil {
			return err
		}
		if err := s.audit.Record(ctx, audit.Event{Type: audit.LoginFailed, UserID: userID, Actor: "user", IP: c.IP, UserAgent: c.UserAgent, Outcome: audit.Failure, Reason: reason}); err != nil {
			return err
		}
		return ErrInvalidCode
	}
	u, err := s.users.UserByEmail(ctx, email)
	if errors.Is(err, users.ErrNotFound) {
		return nil, fail("", "unknown_user")
	}
	if err != nil {
		return nil, err
	}
	t, err := s.email.Tokens.AccountTokenFor(ctx, u.ID, PurposeLoginCode, s.now())
	if errors.Is(err, ErrTokenNotFound) {
		return nil, fail(u.ID, "no_code")
	}
	if err != nil {
		return nil, err
	}
	if err := s.checkCode(ctx, t, code); err != nil {
		if errors.Is(err, ErrInvalidCode) {
			return nil, fail(u.ID, "bad_code")
		}
		return nil, err
	}
	if u.Disabled || t.Email != u.Email {
		return nil, fail(u.ID, "user_disabled")
	}
	if !u.EmailVerified {
		// The code reached the address: it is verified now.
		if u, err = s.updateUser(ctx, u.ID, func(u *users.User) error { u.EmailVerified = true; return nil }); err != nil {
			return nil, err
		}
	}
	if err := s.limiter.LoginSucceeded(ctx, c.RateKey, email); err != nil {
		return nil, err
	}
	if err := s.audit.Record(ctx, audit.Event{Type: audit.EmailLogin, UserID: u.ID, Actor: "user", IP: c.IP, UserAgent: c.UserAgent, Outcome: audit.Success}); err != nil {
		return nil, err
	}
	return s.startSession(ctx, u, []string{"email"}, c)
}
