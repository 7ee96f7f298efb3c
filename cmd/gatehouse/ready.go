package main

import (
	"context"
	"sync"
	"time"
)

// readiness answers GET /readyz from the store's writability probe (a real commit), run at
// most once per ttl however often the endpoint is polled: a load balancer, or anybody on the
// internet, polling /readyz must not turn into a stream of writes.
type readiness struct {
	check func(context.Context) error
	now   func() time.Time
	ttl   time.Duration

	mu    sync.Mutex
	at    time.Time // when err was observed; zero: never
	err   error
	valid bool
}

func newReadiness(check func(context.Context) error, ttl time.Duration, now func() time.Time) *readiness {
	return &readiness{check: check, now: now, ttl: ttl}
}

// Ready returns the last probe's result if it is younger than ttl, else probes again.
func (r *readiness) Ready(ctx context.Context) error {
	r.mu.Lock()
	if r.valid {
		if age := r.now().Sub(r.at); age >= 0 && age < r.ttl {
			err := r.err
			r.mu.Unlock()
			return err
		}
	}
	r.mu.Unlock()
	err := r.check(ctx)
	if ctx.Err() != nil {
		return err // cut short by the caller: says nothing to remember about the store
	}
	r.mu.Lock()
	r.at, r.err, r.valid = r.now(), err, true
	r.mu.Unlock()
	return err
}
