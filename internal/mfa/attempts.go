package mfa

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
)

// LimitStore keeps the token buckets of Attempts. ratelimit.Memory implements it, and so does
// every ratelimit.Store (the Redis one shares the buckets between instances).
type LimitStore interface {
	Allow(ctx context.Context, key string, l ratelimit.Limit, now time.Time) (ratelimit.Result, error)
	Peek(ctx context.Context, key string, l ratelimit.Limit, now time.Time) (ratelimit.Result, error)
	Reset(ctx context.Context, key string) error
}

var _ LimitStore = ratelimit.Store(nil)

// DefaultAttemptTiers are the buckets of second-factor attempts per user: 5, then 1 a minute;
// 10, then 1 every 10 minutes; 20, then 1 an hour (the tiers ratelimit uses for one account
// on one IP). A guesser who holds the password gets about 44 codes on the first day and 24 a
// day after, whatever the number of mfa_tokens, IPs or paths he uses: with 3 codes valid at
// any time, a 6-digit code falls with probability 3e-6 per try, about 2.6 % in a year of
// trying, during which the user sees a failed second factor in the audit log every hour.
func DefaultAttemptTiers() []ratelimit.Limit {
	return []ratelimit.Limit{
		{Burst: 5, Per: time.Minute},
		{Burst: 10, Per: 10 * time.Minute},
		{Burst: 20, Per: time.Hour},
	}
}

// ErrTooManyAttempts is matched (errors.Is) by a *LimitedError.
var ErrTooManyAttempts = errors.New("mfa: too many second-factor attempts")

// LimitedError refuses an attempt because the user's bucket is empty.
type LimitedError struct {
	// RetryAfter is how long until an attempt would be allowed.
	RetryAfter time.Duration
}

func (e *LimitedError) Error() string {
	return fmt.Sprintf("%v: retry after %s", ErrTooManyAttempts, e.RetryAfter.Round(time.Second))
}

// Is makes errors.Is(err, ErrTooManyAttempts) true.
func (e *LimitedError) Is(target error) bool { return target == ErrTooManyAttempts }

// Attempts is the per-user limit on second-factor attempts across every path (TOTP, recovery
// code, passkey; sign-in and step-up): a stolen password must not buy unlimited guesses
// through many mfa_tokens. An attempt is charged when it is checked, before the factor is
// verified, so concurrent guesses cannot slip past a count that is not updated yet; a
// success refills the user's buckets, so only wrong (or unfinished) attempts accumulate.
//
// The price is a denial of service that needs the password: someone who keeps the buckets
// empty also delays the real user. The user then changes the password, which the audit log
// of failed second factors prompts.
type Attempts struct {
	store LimitStore
	tiers []ratelimit.Limit
	now   func() time.Time
}

// NewAttempts returns the limit over store with tiers (DefaultAttemptTiers when nil).
func NewAttempts(store LimitStore, tiers []ratelimit.Limit, now func() time.Time) (*Attempts, error) {
	if store == nil || now == nil {
		return nil, errors.New("mfa: NewAttempts needs a store and a clock")
	}
	if tiers == nil {
		tiers = DefaultAttemptTiers()
	}
	if len(tiers) == 0 {
		return nil, errors.New("mfa: attempts: want at least one tier")
	}
	var errs []error
	for i, l := range tiers {
		if err := l.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("mfa: attempts tier %d: %w", i, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Attempts{store: store, tiers: tiers, now: now}, nil
}

// attemptKey is the bucket of tier i of a user. User ids are random identifiers, not
// personal data, so they appear as they are.
func attemptKey(i int, userID string) string {
	return "mfa" + strconv.Itoa(i+1) + ":" + userID
}

// Check charges one second-factor attempt of userID. It returns a *LimitedError when a bucket
// is empty, and any store error as is: the caller fails closed.
//
// Every tier is looked at before any is charged, so that an attempt refused by a slow tier
// does not also spend a token of a fast one.
func (a *Attempts) Check(ctx context.Context, userID string) error {
	now := a.now()
	for _, op := range []func(context.Context, string, ratelimit.Limit, time.Time) (ratelimit.Result, error){a.store.Peek, a.store.Allow} {
		var wait time.Duration
		refused := false
		for i, l := range a.tiers {
			r, err := op(ctx, attemptKey(i, userID), l, now)
			if err != nil {
				return fmt.Errorf("mfa: attempts: %w", err)
			}
			if !r.Allowed {
				refused = true
				wait = max(wait, r.RetryAfter)
			}
		}
		if refused {
			return &LimitedError{RetryAfter: wait}
		}
	}
	return nil
}

// Reset refills the buckets of userID after a successful second factor.
func (a *Attempts) Reset(ctx context.Context, userID string) error {
	for i := range a.tiers {
		if err := a.store.Reset(ctx, attemptKey(i, userID)); err != nil {
			return fmt.Errorf("mfa: attempts: %w", err)
		}
	}
	return nil
}
