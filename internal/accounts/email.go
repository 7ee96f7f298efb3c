package accounts

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/mail"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

// Errors of the email flows (the API's codes are in docs/errors.md).
var (
	// ErrEmailUnavailable: the flow needs email and no mail server is configured.
	ErrEmailUnavailable = errors.New("email delivery is not configured")
	// ErrEmailNotVerified: require_verified_email is on and the account's address is not
	// verified. Returned only after the password was checked, so it tells nothing to a
	// stranger.
	ErrEmailNotVerified = errors.New("email address not verified")
	// ErrInvalidToken: a link token that is malformed, unknown, expired or already used.
	ErrInvalidToken = errors.New("the link is invalid, expired or already used")
	// ErrInvalidCode: a wrong, expired or used code, or one with no attempt left.
	ErrInvalidCode = errors.New("the code is wrong or expired")
	// ErrCurrentPassword: the current password given to change it is wrong.
	ErrCurrentPassword = errors.New("the current password is wrong")
)

// ProfileError is a profile field that is not acceptable; its message names the field.
type ProfileError struct{ Msg string }

func (e *ProfileError) Error() string { return e.Msg }

// Token lifetimes and limits (docs/email.md).
const (
	VerifyTTL    = 24 * time.Hour
	ResetTTL     = 30 * time.Minute
	UndoTTL      = 72 * time.Hour
	LoginCodeTTL = 10 * time.Minute
	// CodeAttempts is how many codes may be tried against one issued code: a 6-digit code
	// is guessable, so after this many wrong tries it is dead and a new one must be asked
	// for (which is rate limited too).
	CodeAttempts = 5
)

// Rate limits of the email flows, per key (email, IP or user).
var (
	limitMailPerEmail = ratelimit.Limit{Burst: 3, Per: 10 * time.Minute}
	limitMailPerIP    = ratelimit.Limit{Burst: 20, Per: 30 * time.Second}
	limitMailPerUser  = ratelimit.Limit{Burst: 3, Per: 10 * time.Minute}
	limitCodePerIP    = ratelimit.Limit{Burst: 30, Per: 10 * time.Second}
)

// Mailer queues an email; *mail.Outbox is the production one.
type Mailer interface {
	Enqueue(ctx context.Context, k mail.Kind, to string, d mail.Data) error
}

// EmailConfig turns on the email flows.
type EmailConfig struct {
	// Mailer queues messages; nil means no mail server: the flows that need email answer
	// ErrEmailUnavailable (sign-up still works, without a verification mail).
	Mailer Mailer
	Tokens TokenStore
	// Buckets keeps the rate limits of these flows (shared across instances with Redis).
	Buckets ratelimit.Store
	// CodeKey keys the HMAC of stored 6-digit codes (32 bytes, derived from the KEK).
	CodeKey []byte
	// BaseURL is where the links in emails point (the issuer); the token travels in the
	// URL fragment, which browsers never send to a server.
	BaseURL string
	// RequireVerified refuses sign-in to accounts whose address is not verified.
	RequireVerified bool
	// EmailLogin enables sign-in with a code sent by email.
	EmailLogin bool
}

type emailState struct {
	EmailConfig
	bg sync.WaitGroup // work started by a request that answered before it finished
}

// WithEmail enables the email flows.
func (s *Service) WithEmail(cfg EmailConfig) error {
	if cfg.Tokens == nil || cfg.Buckets == nil || len(cfg.CodeKey) < 32 {
		return errors.New("accounts: email flows need a token store, rate-limit buckets and a 32-byte code key")
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	s.email = &emailState{EmailConfig: cfg}
	return nil
}

// EmailLoginEnabled reports whether email sign-in codes are on.
func (s *Service) EmailLoginEnabled() bool { return s.email != nil && s.email.EmailLogin }

// EmailAvailable reports whether emails can be sent.
func (s *Service) EmailAvailable() bool { return s.email != nil && s.email.Mailer != nil }

// Wait waits for the background work started by requests (forgot-password and email
// sign-in answer before it is done); for tests and shutdown.
func (s *Service) Wait() {
	if s.email != nil {
		s.email.bg.Wait()
	}
}

func (s *Service) needMail() error {
	if !s.EmailAvailable() {
		return ErrEmailUnavailable
	}
	return nil
}

// allow takes a token from each named bucket, refusing with the first empty one.
func (s *Service) allow(ctx context.Context, name string, l ratelimit.Limit, key string) error {
	r, err := s.email.Buckets.Allow(ctx, "email:"+name+":"+key, l, s.now())
	if err != nil {
		return err
	}
	if !r.Allowed {
		return &RateLimitedError{RetryAfter: r.RetryAfter, Limit: name}
	}
	return nil
}

// issued is a new token as the user receives it.
type issued struct {
	link string // "<id>.<secret>"
	code string // 6 digits, or ""
}

func (s *Service) codeHash(id, code string) []byte {
	m := hmac.New(sha256.New, s.email.CodeKey)
	m.Write([]byte(id))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return m.Sum(nil)
}

func newCode() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(1_000_000))
	return fmt.Sprintf("%06d", n.Int64())
}

// issue stores a new token of purpose for u (replacing the previous one) and returns it.
func (s *Service) issue(ctx context.Context, userID, purpose, email string, ttl time.Duration, withCode bool) (issued, error) {
	id, sec := secret.NewID(), secret.NewToken()
	now := s.now()
	t := &Token{ID: id, UserID: userID, Purpose: purpose, Email: email, SecretHash: secret.Hash(sec), CreatedAt: now, ExpiresAt: now.Add(ttl)}
	out := issued{link: id + "." + sec}
	if withCode {
		out.code = newCode()
		t.CodeHash = s.codeHash(id, out.code)
	}
	return out, s.email.Tokens.PutAccountToken(ctx, t)
}

func (s *Service) link(path, tok string) string {
	return s.email.BaseURL + path + "#token=" + tok
}

// sendVerification issues a verification token for address email and queues the mail.
func (s *Service) sendVerification(ctx context.Context, u *users.User, purpose, email string) error {
	tok, err := s.issue(ctx, u.ID, purpose, email, VerifyTTL, true)
	if err != nil {
		return err
	}
	return s.email.Mailer.Enqueue(ctx, mail.VerifyEmail, email, mail.Data{Link: s.link("/ui/email/verify", tok.link), Code: tok.code, Expires: VerifyTTL})
}

// afterSignup sends the verification mail of a new account. A failure does not undo the
// sign-up: the user can ask for another mail (POST /v1/email/verify/resend).
func (s *Service) afterSignup(ctx context.Context, u *users.User) {
	if !s.EmailAvailable() || u.EmailVerified {
		return
	}
	if err := s.sendVerification(ctx, u, PurposeVerifyEmail, u.Email); err != nil {
		s.log.WarnContext(ctx, "verification email not queued", "user", u.ID, "err", err)
	}
}

// checkVerified refuses the sign-in of an unverified account when the deployment requires
// verified addresses. It runs after the credentials were checked.
func (s *Service) checkVerified(ctx context.Context, u *users.User, c Client) error {
	if s.email == nil || !s.email.RequireVerified || u.EmailVerified {
		return nil
	}
	if err := s.audit.Record(ctx, audit.Event{Type: audit.LoginFailed, UserID: u.ID, Actor: "user", IP: c.IP, UserAgent: c.UserAgent,
		Outcome: audit.Failure, Reason: "email_not_verified"}); err != nil {
		return err
	}
	return ErrEmailNotVerified
}

// parseLink splits "<id>.<secret>" and returns the stored token it names, checking the
// secret in constant time.
func (s *Service) lookupLink(ctx context.Context, tok string, purposes ...string) (*Token, error) {
	id, sec, ok := strings.Cut(tok, ".")
	if !ok || !secret.ValidID(id) || !secret.ValidToken(sec) {
		return nil, ErrInvalidToken
	}
	t, err := s.email.Tokens.AccountToken(ctx, id, s.now())
	if errors.Is(err, ErrTokenNotFound) {
		return nil, ErrInvalidToken
	}
	if err != nil {
		return nil, err
	}
	if !secret.Equal(t.SecretHash, secret.Hash(sec)) {
		return nil, ErrInvalidToken
	}
	for _, p := range purposes {
		if t.Purpose == p {
			return t, nil
		}
	}
	return nil, ErrInvalidToken
}

func (s *Service) consume(ctx context.Context, id string) (*Token, error) {
	t, err := s.email.Tokens.ConsumeAccountToken(ctx, id, s.now())
	if errors.Is(err, ErrTokenNotFound) {
		return nil, ErrInvalidToken // a concurrent use won
	}
	return t, err
}

// checkCode counts one attempt against t, then compares code; on a match it consumes t.
func (s *Service) checkCode(ctx context.Context, t *Token, code string) error {
	if _, err := s.email.Tokens.CountTokenAttempt(ctx, t.ID, CodeAttempts, s.now()); err != nil {
		if errors.Is(err, ErrTokenNotFound) {
			return ErrInvalidCode
		}
		return err
	}
	if t.CodeHash == nil || !validCode(code) || !hmac.Equal(t.CodeHash, s.codeHash(t.ID, code)) {
		return ErrInvalidCode
	}
	if _, err := s.email.Tokens.ConsumeAccountToken(ctx, t.ID, s.now()); err != nil {
		if errors.Is(err, ErrTokenNotFound) {
			return ErrInvalidCode
		}
		return err
	}
	return nil
}

func validCode(c string) bool {
	if len(c) != 6 {
		return false
	}
	for _, r := range c {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// VerifyOutcome says what a verification token did.
type VerifyOutcome string

// Outcomes of VerifyEmail.
const (
	EmailVerifiedOutcome VerifyOutcome = "email_verified"      // the address is verified
	EmailChangedOutcome  VerifyOutcome = "email_changed"       // the new address is the account's
	EmailChangeUndone    VerifyOutcome = "email_change_undone" // the old address is back, sessions ended
)

// VerifyEmail redeems a link token: a verification, an email change, or the undo of one.
func (s *Service) VerifyEmail(ctx context.Context, tok string, c Client) (*users.User, VerifyOutcome, error) {
	if s.email == nil {
		return nil, "", ErrInvalidToken
	}
	t, err := s.lookupLink(ctx, tok, PurposeVerifyEmail, PurposeEmailChange, PurposeEmailUndo)
	if err != nil {
		return nil, "", err
	}
	if t, err = s.consume(ctx, t.ID); err != nil {
		return nil, "", err
	}
	return s.applyVerification(ctx, t, c)
}

// VerifyEmailCode redeems the 6-digit code of the user's pending verification or email change.
func (s *Service) VerifyEmailCode(ctx context.Context, userID, code string, c Client) (*users.User, VerifyOutcome, error) {
	if s.email == nil {
		return nil, "", ErrInvalidCode
	}
	if err := s.allow(ctx, "code_ip", limitCodePerIP, c.RateKey); err != nil {
		return nil, "", err
	}
	var t *Token
	var err error
	for _, p := range []string{PurposeEmailChange, PurposeVerifyEmail} {
		if t, err = s.email.Tokens.AccountTokenFor(ctx, userID, p, s.now()); err == nil {
			break
		}
		if !errors.Is(err, ErrTokenNotFound) {
			return nil, "", err
		}
	}
	if t == nil {
		return nil, "", ErrInvalidCode
	}
	if err := s.checkCode(ctx, t, code); err != nil {
		return nil, "", err
	}
	return s.applyVerification(ctx, t, c)
}

// VerifyEmailCodeFor is VerifyEmailCode for a caller without a session, who names the
// account by its address. An unknown address answers like a wrong code.
func (s *Service) VerifyEmailCodeFor(ctx context.Context, email, code string, c Client) (*users.User, VerifyOutcome, error) {
	email, err := users.NormalizeEmail(email)
	if err != nil {
		return nil, "", err
	}
	u, err := s.users.UserByEmail(ctx, email)
	if errors.Is(err, users.ErrNotFound) {
		return nil, "", ErrInvalidCode
	}
	if err != nil {
		return nil, "", err
	}
	return s.VerifyEmailCode(ctx, u.ID, code, c)
}

func (s *Service) applyVerification(ctx context.Context, t *Token, c Client) (*users.User, VerifyOutcome, error) {
	var outcome VerifyOutcome
	var typ string
	var endSessions bool
	u, err := s.updateUser(ctx, t.UserID, func(u *users.User) error {
		switch t.Purpose {
		case PurposeVerifyEmail:
			if u.Email != t.Email {
				return ErrInvalidToken // the address changed since the mail was sent
			}
			u.EmailVerified, outcome, typ = true, EmailVerifiedOutcome, audit.EmailVerified
		case PurposeEmailChange:
			u.Email, u.EmailVerified, outcome, typ = t.Email, true, EmailChangedOutcome, audit.EmailChangeCompleted
		case PurposeEmailUndo:
			// The owner of the old address says the change was not theirs: the address comes
			// back and every session ends, since whoever asked for the change was signed in.
			u.Email, u.EmailVerified, outcome, typ = t.Email, true, EmailChangeUndone, audit.EmailChangeUndone
			u.CredentialEpoch++
			endSessions = true
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	switch t.Purpose {
	case PurposeEmailChange:
		// The change is done; the undo link stays valid for its owner.
	case PurposeEmailUndo:
		if err := s.email.Tokens.DeleteAccountTokens(ctx, u.ID, PurposeEmailChange); err != nil {
			return nil, "", err
		}
	}
	if endSessions {
		if _, err := s.sessions.RevokeUser(ctx, u.ID, ""); err != nil {
			return nil, "", err
		}
	}
	return u, outcome, s.audit.Record(ctx, audit.Event{Type: typ, UserID: u.ID, Actor: "user", IP: c.IP, UserAgent: c.UserAgent, Outcome: audit.Success})
}

// updateUser applies change to a fresh copy of the user and stores it, again on a
// concurrent credential change (users.ErrStale), a few times at most.
func (s *Service) updateUser(ctx context.Context, id string, change func(u *users.User) error) (*users.User, error) {
	for attempt := 0; ; attempt++ {
		u, err := s.users.UserByID(ctx, id)
		if err != nil {
			return nil, err
		}
		if err := change(u); err != nil {
			return nil, err
		}
		u.UpdatedAt = s.now()
		s.userCache.Delete(id)
		err = s.users.UpdateUser(ctx, u)
		if errors.Is(err, users.ErrStale) && attempt < 3 {
			continue
		}
		if err != nil {
			return nil, err
		}
		return u, nil
	}
}

// ResendVerification sends a new verification mail to the caller's address. It reports
// false when the address is already verified (nothing is sent).
func (s *Service) ResendVerification(ctx context.Context, sess *sessions.Session, c Client) (bool, error) {
	if err := s.needMail(); err != nil {
		return false, err
	}
	u, err := s.users.UserByID(ctx, sess.UserID)
	if err != nil {
		return false, err
	}
	if u.EmailVerified {
		return false, nil
	}
	if err := s.allow(ctx, "resend_user", limitMailPerUser, u.ID); err != nil {
		return false, err
	}
	return true, s.sendVerification(ctx, u, PurposeVerifyEmail, u.Email)
}

// background runs fn after the request has been answered, with the request's values but
// not its cancellation, bounded in time. The answers of forgot-password and email sign-in
// therefore take the same time whether the account exists or not: the lookup happens after.
func (s *Service) background(ctx context.Context, what string, fn func(ctx context.Context) error) {
	s.email.bg.Add(1)
	go func() {
		defer s.email.bg.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := fn(ctx); err != nil {
			s.log.ErrorContext(ctx, what+" failed", "err", err)
		}
	}()
}

// ForgotPassword queues a password-reset mail for email if an enabled account has it. The
// caller answers 202 whatever happens here: the answer never tells whether the account
// exists, and it is sent before the account is even looked up. Rate limits (per address
// and per IP) apply to every address alike.
func (s *Service) ForgotPassword(ctx context.Context, email string, c Client) error {
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
	if err := s.allow(ctx, "forgot_email", limitMailPerEmail, email); err != nil {
		return err
	}
	s.background(ctx, "password reset request", func(ctx context.Context) error {
		u, err := s.users.UserByEmail(ctx, email)
		if errors.Is(err, users.ErrNotFound) || (err == nil && u.Disabled) {
			reason := "unknown_user"
			ev := audit.Event{Type: audit.PasswordResetRequested, Actor: "user", IP: c.IP, UserAgent: c.UserAgent, Outcome: audit.Failure, Reason: reason}
			if u != nil {
				ev.UserID, ev.Reason = u.ID, "user_disabled"
			}
			return s.audit.Record(ctx, ev)
		}
		if err != nil {
			return err
		}
		tok, err := s.issue(ctx, u.ID, PurposePasswordReset, u.Email, ResetTTL, false)
		if err != nil {
			return err
		}
		if err := s.email.Mailer.Enqueue(ctx, mail.PasswordReset, u.Email, mail.Data{Link: s.link("/ui/password/reset", tok.link), Expires: ResetTTL}); err != nil {
			return err
		}
		return s.audit.Record(ctx, audit.Event{Type: audit.PasswordResetRequested, UserID: u.ID, Actor: "user", IP: c.IP, UserAgent: c.UserAgent, Outcome: audit.Success})
	})
	return nil
}

// ResetPassword sets a new password with a reset token. The password is checked against the
// policy before the token is used, so a refused password does not cost the link. Then every
// session of the user ends (with revocation-feed entries for their access tokens), every
// other email token dies, the address counts as verified (the link reached it), and a
// notice is mailed.
func (s *Service) ResetPassword(ctx context.Context, tok, pw string, c Client) error {
	if s.email == nil {
		return ErrInvalidToken
	}
	t, err := s.lookupLink(ctx, tok, PurposePasswordReset)
	if err != nil {
		return err
	}
	u, err := s.users.UserByID(ctx, t.UserID)
	if errors.Is(err, users.ErrNotFound) {
		return ErrInvalidToken
	}
	if err != nil {
		return err
	}
	if u.Disabled || u.Email != t.Email {
		return ErrInvalidToken
	}
	if err := s.policy.Check(pw, u.Email); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return err
	}
	if _, err := s.consume(ctx, t.ID); err != nil {
		return err
	}
	if err := s.setPassword(ctx, u.ID, hash, "", true); err != nil {
		return err
	}
	if err := s.email.Tokens.DeleteAccountTokens(ctx, u.ID, ""); err != nil {
		return err
	}
	if err := s.audit.Record(ctx, audit.Event{Type: audit.PasswordResetCompleted, UserID: u.ID, Actor: "user", IP: c.IP, UserAgent: c.UserAgent, Outcome: audit.Success}); err != nil {
		return err
	}
	s.notify(ctx, mail.PasswordChanged, u.Email, mail.Data{})
	return nil
}

// setPassword stores hash with a new credential epoch, then ends every session of the user
// but keep (the order startSession relies on; see UpdateUser).
func (s *Service) setPassword(ctx context.Context, userID, hash, keep string, verified bool) error {
	if _, err := s.updateUser(ctx, userID, func(u *users.User) error {
		u.PasswordHash = hash
		u.CredentialEpoch++
		if verified {
			u.EmailVerified = true
		}
		return nil
	}); err != nil {
		return err
	}
	_, err := s.sessions.RevokeUser(ctx, userID, keep)
	return err
}

// notify queues a notice; a failure is logged, never returned: the change is done.
func (s *Service) notify(ctx context.Context, k mail.Kind, to string, d mail.Data) {
	if !s.EmailAvailable() {
		return
	}
	if err := s.email.Mailer.Enqueue(ctx, k, to, d); err != nil {
		s.log.WarnContext(ctx, "notice email not queued", "kind", string(k), "err", err)
	}
}
