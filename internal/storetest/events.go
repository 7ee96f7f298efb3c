package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
)

// EventStore is what event retention needs from a backend.
type EventStore interface {
	audit.Store
	audit.RetentionStore
}

// RunEventRetention checks that old events are deleted by time, in batches, and that younger
// ones survive intact. newStore must return a fresh, empty, migrated store for each call.
func RunEventRetention(t *testing.T, newStore func(t *testing.T) EventStore) {
	t.Run("EventRetentionBatches", func(t *testing.T) { testEventRetentionBatches(t, newStore(t)) })
	t.Run("EventRetentionBoundary", func(t *testing.T) { testEventRetentionBoundary(t, newStore(t)) })
}

func mustEvent(t *testing.T, s EventStore, typ string, at time.Time) *audit.Event {
	t.Helper()
	e := &audit.Event{Type: typ, Time: at, IP: "192.0.2.1", Outcome: audit.Failure, Reason: "rate_limited"}
	if err := s.AppendEvent(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	return e
}

func testEventRetentionBatches(t *testing.T, s EventStore) {
	ctx := context.Background()
	now := base
	keep := audit.DefaultRetention
	// Young and old events interleaved, and out of id order: retention goes by time.
	var young []int64
	const old = 25
	for i := range old {
		if i%5 == 0 {
			young = append(young, mustEvent(t, s, audit.LoginSucceeded, now.Add(-time.Duration(i)*time.Hour)).ID)
		}
		mustEvent(t, s, audit.LoginFailed, now.Add(-keep-time.Duration(old-i)*time.Minute))
	}
	young = append(young, mustEvent(t, s, audit.LoginSucceeded, now).ID)

	if n, err := s.DeleteEventsBefore(ctx, now.Add(-keep), 3); err != nil || n != 3 {
		t.Fatalf("DeleteEventsBefore(limit 3) = %d, %v; want 3", n, err)
	}
	r := audit.NewRetention(s, keep, 10, func() time.Time { return now })
	n, err := r.Run(ctx)
	if err != nil || n != old-3 {
		t.Fatalf("Retention.Run = %d, %v; want %d", n, err, old-3)
	}
	left, err := s.ListEvents(ctx, audit.Filter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, e := range left {
		if e.Type != audit.LoginSucceeded || e.Time.Before(now.Add(-keep)) {
			t.Fatalf("event survived retention: %+v", e)
		}
		ids = append(ids, e.ID)
	}
	if len(ids) != len(young) {
		t.Fatalf("left %v, want the young events %v", ids, young)
	}
	for i := range ids {
		if ids[i] != young[i] {
			t.Fatalf("left %v, want the young events %v", ids, young)
		}
	}
	// A run with nothing to delete deletes nothing.
	if n, err := r.Run(ctx); err != nil || n != 0 {
		t.Fatalf("second Run = %d, %v; want 0", n, err)
	}
}

func testEventRetentionBoundary(t *testing.T, s EventStore) {
	ctx := context.Background()
	cutoff := base.Add(-audit.DefaultRetention)
	before := mustEvent(t, s, audit.LoginFailed, cutoff.Add(-time.Microsecond))
	at := mustEvent(t, s, audit.LoginFailed, cutoff)
	n, err := audit.NewRetention(s, audit.DefaultRetention, 0, func() time.Time { return base }).Run(ctx)
	if err != nil || n != 1 {
		t.Fatalf("Run = %d, %v; want 1 (the event just before the cutoff)", n, err)
	}
	left, err := s.ListEvents(ctx, audit.Filter{Limit: 10})
	if err != nil || len(left) != 1 || left[0].ID != at.ID {
		t.Fatalf("left %v, %v; want only event %d (event %d is older than the cutoff)", left, err, at.ID, before.ID)
	}
}
