package ratelimit

import (
	"context"
	"fmt"
)

// CheckIP charges one sign-in attempt to the per-IP bucket alone (Policy.PerIP), the one
// password sign-in takes first: for sign-in paths that have no account to charge before the
// credential is checked, such as a password-less passkey sign-in (the account is only known
// from the signed assertion, and a signature cannot be guessed, so there is nothing to lock
// out). Both paths share the bucket, so an IP gets PerIP attempts over both together.
func (l *Limiter) CheckIP(ctx context.Context, ip string) (Decision, error) {
	r, err := l.store.Allow(ctx, prefixIP+ip, l.p.PerIP, l.now())
	if err != nil {
		return Decision{}, fmt.Errorf("ratelimit: per-ip bucket: %w", err)
	}
	if !r.Allowed {
		return l.refuse(Decision{Limit: LimitIP, RetryAfter: r.RetryAfter}), nil
	}
	return Decision{Allowed: true}, nil
}
