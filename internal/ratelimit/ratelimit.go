// Package ratelimit throttles the paths that can mint a session (docs/security.md, "Rate limits
// and lockout"): sign-in attempts per client IP, a progressive lockout per account and IP, a
// slower lockout per account that a guesser spread over many IPs runs into, and sign-ups per
// IP. It also decides which address a request comes from when reverse proxies sit in front.
//
// The buckets follow the generic cell rate algorithm (GCRA), which is a token bucket kept as
// one timestamp per key: a bucket holds Limit.Burst tokens and gets one back every Limit.Per.
// A Store keeps those timestamps. Memory is the in-process Store; a Redis Store that shares the
// counters between instances implements the same three operations with one Lua script over
// the same arithmetic (see conform).
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Limit is a token bucket: it holds Burst tokens when full and gets one back every Per.
// A request takes one token; a bucket without a token refuses requests.
type Limit struct {
	Burst int
	Per   time.Duration
}

// maxWindow bounds Burst*Per so that timestamp arithmetic in Unix nanoseconds cannot overflow.
const maxWindow = 10 * 365 * 24 * time.Hour

// Validate reports whether l is a usable bucket: at least one token, a positive refill
// interval, and a full refill time (Burst*Per) of at most ten years.
func (l Limit) Validate() error {
	switch {
	case l.Burst < 1:
		return fmt.Errorf("ratelimit: burst %d: want at least 1", l.Burst)
	case l.Per <= 0:
		return fmt.Errorf("ratelimit: per %s: want a positive interval", l.Per)
	case l.Per > maxWindow || int64(l.Burst) > int64(maxWindow/l.Per):
		return fmt.Errorf("ratelimit: %d per %s: refill time above %s", l.Burst, l.Per, maxWindow)
	}
	return nil
}

// String describes l, e.g. "5 then 1/1m0s".
func (l Limit) String() string { return fmt.Sprintf("%d then 1/%s", l.Burst, l.Per) }

// Result is the state of one bucket after a request.
type Result struct {
	// Allowed reports whether the request got a token.
	Allowed bool
	// Remaining is how many more requests the bucket would allow right now.
	Remaining int
	// RetryAfter is how long until the bucket has a token again; zero when Allowed.
	RetryAfter time.Duration
}

// Store keeps token buckets. The Limit travels with every call, so a Store needs no
// configuration and keeps one timestamp per key; a key must always be used with the same
// Limit. A Store forgets a bucket once it is full again: a missing key is a full bucket.
//
// Errors mean the Store could not answer (unreachable, full, canceled). Callers fail closed
// on them: a request is never allowed because the counters were unavailable.
type Store interface {
	// Allow takes a token from the bucket at key if it has one. A refused request takes
	// nothing, so hammering a closed bucket does not keep it closed longer.
	Allow(ctx context.Context, key string, l Limit, now time.Time) (Result, error)
	// Peek reports what Allow would answer, without taking a token.
	Peek(ctx context.Context, key string, l Limit, now time.Time) (Result, error)
	// Reset refills the bucket at key (forgets it).
	Reset(ctx context.Context, key string) error
}

// ErrFull is returned by Memory when it holds its maximum number of buckets and a request
// needs a new one. See NewMemory for why this fails closed instead of evicting.
var ErrFull = errors.New("ratelimit: bucket store full")

// conform is GCRA. tat ("theoretical arrival time") is the stored state of a bucket in Unix
// nanoseconds: the instant at which the bucket is full again; a tat at or before now (or 0,
// no entry) is a full bucket. A request conforms when, after adding one emission interval
// (Per) to tat, the bucket is not more than Burst intervals ahead of now. conform returns
// the answer and the tat to store when the request was allowed (newTAT > now always).
//
// A Redis implementation runs the same arithmetic in a Lua script (GET tat, compute, SET tat
// PX newTAT-now), so that counters shared between instances stay exact under concurrency.
func conform(tat, now int64, l Limit) (res Result, newTAT int64) {
	per := int64(l.Per)
	tau := int64(l.Burst) * per // how far ahead of now a full burst may push tat
	if tat < now {
		tat = now
	}
	newTAT = tat + per
	allowAt := newTAT - tau // earliest instant at which this request conforms
	if now < allowAt {
		return Result{RetryAfter: time.Duration(allowAt - now)}, tat
	}
	return Result{Allowed: true, Remaining: int((now - allowAt) / per)}, newTAT
}
