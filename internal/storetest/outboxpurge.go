package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/outbox"
)

// OutboxPurgeStore is an outbox store that can delete finished items.
type OutboxPurgeStore interface {
	outbox.Store
	OutboxPurge(ctx context.Context, cutoff time.Time, limit int) (int, error)
}

// RunOutboxPurge checks that OutboxPurge deletes only items finished before the cutoff.
func RunOutboxPurge(t *testing.T, newStore func(t *testing.T) OutboxPurgeStore) {
	t.Run("OutboxPurge", func(t *testing.T) {
		s := newStore(t)
		ctx := context.Background()
		sent, dead, pending := outbox.NewItem("mail", []byte("s"), base), outbox.NewItem("mail", []byte("d"), base), outbox.NewItem("mail", []byte("p"), base)
		pending.NextAttemptAt = base.Add(time.Hour)
		for _, it := range []*outbox.Item{sent, dead, pending} {
			if err := s.OutboxEnqueue(ctx, it); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.OutboxClaimDue(ctx, "mail", base, time.Minute, 10)
		if err != nil || len(got) != 2 {
			t.Fatalf("claim: %v %v", got, err)
		}
		for _, it := range got {
			if it.ID == sent.ID {
				err = s.OutboxMarkSent(ctx, it.ID, it.Claim, base)
			} else {
				err = s.OutboxMarkDead(ctx, it.ID, it.Claim, base.Add(time.Hour), "gave up")
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if n, err := s.OutboxPurge(ctx, base.Add(time.Minute), 100); err != nil || n != 1 {
			t.Fatalf("purge before the dead one finished: %d, %v", n, err)
		}
		if n, err := s.OutboxPurge(ctx, base.Add(48*time.Hour), 100); err != nil || n != 1 {
			t.Fatalf("purge of the dead one: %d, %v", n, err)
		}
		// The pending item is never purged.
		left, err := s.OutboxClaimDue(ctx, "mail", base.Add(2*time.Hour), time.Minute, 10)
		if err != nil || len(left) != 1 || left[0].ID != pending.ID {
			t.Fatalf("pending item after purges: %v %v", left, err)
		}
	})
}
