package audit

import (
	"context"
	"fmt"
	"time"
)

// DefaultRetention is how long events are kept unless configured (events_retention).
const DefaultRetention = 90 * 24 * time.Hour

// RetentionBatch is how many events one delete statement removes at most: small enough that
// no statement holds the write lock for long (SQLite has one writer), large enough that a
// backlog of millions goes in minutes.
const RetentionBatch = 1000

// RetentionStore deletes old events.
type RetentionStore interface {
	// DeleteEventsBefore deletes at most limit events whose time is before cutoff and
	// returns how many it deleted.
	DeleteEventsBefore(ctx context.Context, cutoff time.Time, limit int) (int, error)
}

// Retention deletes events older than a fixed age. Run it periodically: the events table
// otherwise grows with every sign-in attempt for ever.
type Retention struct {
	store RetentionStore
	keep  time.Duration
	batch int
	now   func() time.Time
}

// NewRetention returns a Retention keeping events for keep, deleting batch rows per statement
// (RetentionBatch when batch <= 0). keep must be positive.
func NewRetention(store RetentionStore, keep time.Duration, batch int, now func() time.Time) *Retention {
	if batch <= 0 {
		batch = RetentionBatch
	}
	return &Retention{store: store, keep: keep, batch: batch, now: now}
}

// Run deletes every event older than the retention period, one batch per statement, until a
// batch comes back short or ctx ends, and returns how many it deleted. Between statements the
// store is free for other writers.
func (r *Retention) Run(ctx context.Context) (int, error) {
	cutoff := r.now().Add(-r.keep)
	total := 0
	for {
		n, err := r.store.DeleteEventsBefore(ctx, cutoff, r.batch)
		total += n
		if err != nil {
			return total, fmt.Errorf("audit retention: %w", err)
		}
		if n < r.batch {
			return total, nil
		}
		if err := ctx.Err(); err != nil {
			return total, fmt.Errorf("audit retention: %w", err)
		}
	}
}
