package accounts

import (
	"context"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/users"
)

// exchangeAccount is the account name under which token exchanges are checked against the
// sign-in limits: no email can contain a NUL, so it never shares an account's buckets.
const exchangeAccount = "\x00legacy-token-exchange"

// CheckExchange charges a legacy-token exchange from c to the per-IP sign-in bucket that
// password sign-ins spend (docs/security.md: rate limits apply on every path that mints a
// session). A refusal is a *RateLimitedError.
func (s *Service) CheckExchange(ctx context.Context, c Client) error {
	d, err := s.limiter.CheckLogin(ctx, c.RateKey, exchangeAccount)
	if err != nil {
		return err
	}
	if !d.Allowed {
		return &RateLimitedError{RetryAfter: d.RetryAfter, Limit: d.Limit}
	}
	return nil
}

// StartFederated starts a session for u, whose legacy token was verified by the caller
// (internal/legacy): amr ["fed"] and the legacy sign-in's authTime. Like every sign-in it
// re-reads the user after the session is stored and refuses a user disabled, deleted or
// changed meanwhile with ErrInvalidCredentials.
func (s *Service) StartFederated(ctx context.Context, u *users.User, authTime time.Time, c Client) (*Result, error) {
	if u.Disabled {
		return nil, ErrInvalidCredentials
	}
	return s.startSessionAt(ctx, u, []string{"fed"}, authTime, c)
}
