// Package onetime issues short-lived codes that can be redeemed exactly once (the cross-domain
// handoff and MFA challenges build on it). A code is a 256-bit random secret; only its SHA-256 is
// stored, so a copy of the store redeems nothing, and consuming is one atomic operation, so of
// any number of concurrent redemptions exactly one succeeds.
package onetime

import (
	"context"
	"encoding/hex"
	"errors"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/secret"
)

// ErrNotFound is returned for a code that does not exist, expired, or was already used.
var ErrNotFound = errors.New("code not found, expired or already used")

// Store keeps codes by key (a hash) until expiry.
type Store interface {
	PutCode(ctx context.Context, key string, value []byte, expires time.Time) error
	// ConsumeCode deletes the code and returns its value, atomically; ErrNotFound when it
	// is missing or expired at now.
	ConsumeCode(ctx context.Context, key string, now time.Time) ([]byte, error)
}

// Codes issues and redeems codes.
type Codes struct {
	store Store
	now   func() time.Time
}

// New returns Codes over store.
func New(store Store, now func() time.Time) *Codes { return &Codes{store: store, now: now} }

// Key is how a code is stored: SHA-256, hex.
func Key(code string) string { return hex.EncodeToString(secret.Hash(code)) }

// Issue stores value under a new code valid for ttl and returns the code.
func (c *Codes) Issue(ctx context.Context, value []byte, ttl time.Duration) (secret.Redacted, error) {
	code := secret.NewToken()
	if err := c.store.PutCode(ctx, Key(code), value, c.now().Add(ttl)); err != nil {
		return "", err
	}
	return secret.Redacted(code), nil
}

// Redeem consumes a code and returns its value; it succeeds at most once per code.
func (c *Codes) Redeem(ctx context.Context, code string) ([]byte, error) {
	if !secret.ValidToken(code) {
		return nil, ErrNotFound
	}
	return c.store.ConsumeCode(ctx, Key(code), c.now())
}
