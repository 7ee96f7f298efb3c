package accounts

import (
	"context"
	"errors"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/passkeys"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

// AdmitPasskeySignIn charges the start of a password-less passkey sign-in to the client's
// per-IP bucket, the one password sign-in takes first (ratelimit.Limiter.CheckIP). It is
// charged when the challenge is issued rather than when the answer comes back: every
// finish consumes a challenge, so finishes are bounded by the starts, and the store rows
// challenges occupy are bounded with them. There is no per-account lockout: the account is
// known only from a signed assertion, which cannot be guessed.
func (s *Service) AdmitPasskeySignIn(ctx context.Context, c Client) error {
	d, err := s.limiter.CheckIP(ctx, c.RateKey)
	if err != nil {
		return err
	}
	if d.Allowed {
		return nil
	}
	if s.refusals.First(d.Limit+"\x00"+c.RateKey, s.now()) {
		if err := s.audit.Record(ctx, audit.Event{Type: audit.LoginFailed, Actor: "user", IP: c.IP, UserAgent: c.UserAgent,
			Outcome: audit.Failure, Reason: "rate_limited_" + d.Limit}); err != nil {
			return err
		}
	}
	return &RateLimitedError{RetryAfter: d.RetryAfter, Limit: d.Limit}
}

// PasskeySignIn finishes a password-less sign-in: pk verifies the browser's assertion body
// for the challenge bound to bind, then the user it names gets a new session with the amr
// of the passkey. A response that does not verify is audited (user.login_failed,
// "passkey_invalid") and answered with passkeys.ErrInvalid; a disabled or deleted user with
// ErrInvalidCredentials, as at password sign-in.
func (s *Service) PasskeySignIn(ctx context.Context, pk *passkeys.Service, bind string, body []byte, c Client) (*Result, error) {
	as, err := pk.FinishLogin(ctx, bind, body, passkeys.Client{IP: c.IP, UserAgent: c.UserAgent})
	if errors.Is(err, passkeys.ErrInvalid) {
		reason := "passkey_invalid"
		if errors.Is(err, passkeys.ErrCloned) {
			reason = "passkey_cloned"
		}
		if aerr := s.audit.Record(ctx, audit.Event{Type: audit.LoginFailed, Actor: "user", IP: c.IP, UserAgent: c.UserAgent,
			Outcome: audit.Failure, Reason: reason}); aerr != nil {
			return nil, aerr
		}
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	return s.SignInVerified(ctx, as.UserID, as.AMR(), c)
}

// SignInVerified starts a session for userID, whose credential the caller has verified by
// other means than a password (a passkey). Like a password sign-in it refuses a disabled or
// deleted user (ErrInvalidCredentials, audited), marks the client's network as known for the
// account, re-checks the user after minting the session (startSession) and audits the
// sign-in.
func (s *Service) SignInVerified(ctx context.Context, userID string, amr []string, c Client) (*Result, error) {
	u, err := s.users.UserByID(ctx, userID)
	if errors.Is(err, users.ErrNotFound) || (err == nil && u.Disabled) {
		reason := "unknown_user"
		if err == nil {
			reason = "user_disabled"
		} else {
			userID = ""
		}
		if aerr := s.audit.Record(ctx, audit.Event{Type: audit.LoginFailed, UserID: userID, Actor: "user", IP: c.IP, UserAgent: c.UserAgent,
			Outcome: audit.Failure, Reason: reason}); aerr != nil {
			return nil, aerr
		}
		return nil, ErrInvalidCredentials
	}
	if err != nil {
		return nil, err
	}
	if err := s.limiter.LoginSucceeded(ctx, c.RateKey, u.Email); err != nil {
		return nil, err
	}
	return s.startSession(ctx, u, amr, c)
}
