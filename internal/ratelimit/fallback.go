package ratelimit

import (
	"context"
	"sync/atomic"
	"time"
)

// Fallback is a Store that uses Primary (shared, e.g. Redis) and, while Primary fails, Local
// (this instance's memory). Limits then hold per instance instead of across instances: a
// degradation, documented, never an open gate — and never a 503 for a cache outage. After a
// Primary failure, Local alone is used for a few seconds (a circuit breaker), so that an outage
// does not add a timeout to every sign-in.
type Fallback struct {
	Primary Store
	Local   Store
	// OnError, if set, is told of every Primary failure (for logs and metrics).
	OnError func(error)
	// Cooldown is how long Primary is skipped after a failure (default 5 s).
	Cooldown time.Duration

	openUntil atomic.Int64 // unix nanoseconds; Primary skipped before then
}

// usePrimary reports whether the breaker lets calls reach Primary.
func (f *Fallback) usePrimary() bool { return time.Now().UnixNano() >= f.openUntil.Load() }

var _ Store = (*Fallback)(nil)

func (f *Fallback) failed(err error) {
	cd := f.Cooldown
	if cd <= 0 {
		cd = 5 * time.Second
	}
	f.openUntil.Store(time.Now().Add(cd).UnixNano())
	if f.OnError != nil {
		f.OnError(err)
	}
}

// Allow implements Store.
func (f *Fallback) Allow(ctx context.Context, key string, l Limit, now time.Time) (Result, error) {
	if !f.usePrimary() {
		return f.Local.Allow(ctx, key, l, now)
	}
	r, err := f.Primary.Allow(ctx, key, l, now)
	if err != nil && ctx.Err() == nil {
		f.failed(err)
		return f.Local.Allow(ctx, key, l, now)
	}
	return r, err
}

// Peek implements Store.
func (f *Fallback) Peek(ctx context.Context, key string, l Limit, now time.Time) (Result, error) {
	if !f.usePrimary() {
		return f.Local.Peek(ctx, key, l, now)
	}
	r, err := f.Primary.Peek(ctx, key, l, now)
	if err != nil && ctx.Err() == nil {
		f.failed(err)
		return f.Local.Peek(ctx, key, l, now)
	}
	return r, err
}

// Reset implements Store. Both stores are reset, so a bucket refilled during an outage is
// refilled everywhere.
func (f *Fallback) Reset(ctx context.Context, key string) error {
	lerr := f.Local.Reset(ctx, key)
	if !f.usePrimary() {
		return lerr
	}
	if err := f.Primary.Reset(ctx, key); err != nil && ctx.Err() == nil {
		f.failed(err)
		return lerr
	}
	return lerr
}
