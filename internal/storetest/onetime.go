package storetest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/onetime"
)

// RunOneTime is the conformance suite of onetime.Store; Run includes it, and the Redis store
// runs it on its own. It uses the real clock (Redis expires keys by itself).
func RunOneTime(t *testing.T, newStore func(t *testing.T) onetime.Store) {
	t.Run("OneTimeConsume", func(t *testing.T) {
		s := newStore(t)
		ctx := context.Background()
		now := time.Now()
		if err := s.PutCode(ctx, "k1", []byte("v1"), now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		v, err := s.ConsumeCode(ctx, "k1", now)
		if err != nil || string(v) != "v1" {
			t.Fatalf("consume: %q %v", v, err)
		}
		if _, err := s.ConsumeCode(ctx, "k1", now); !errors.Is(err, onetime.ErrNotFound) {
			t.Fatalf("second consume: %v", err)
		}
		if _, err := s.ConsumeCode(ctx, "missing", now); !errors.Is(err, onetime.ErrNotFound) {
			t.Fatalf("missing: %v", err)
		}
		if err := s.PutCode(ctx, "old", []byte("v"), now.Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ConsumeCode(ctx, "old", now); !errors.Is(err, onetime.ErrNotFound) {
			t.Fatalf("expired code consumed: %v", err)
		}
	})
	t.Run("OneTimeRace", func(t *testing.T) {
		s := newStore(t)
		ctx := context.Background()
		now := time.Now()
		if err := s.PutCode(ctx, "race", []byte("prize"), now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		var wins, misses atomic.Int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				v, err := s.ConsumeCode(ctx, "race", now)
				switch {
				case err == nil && string(v) == "prize":
					wins.Add(1)
				case errors.Is(err, onetime.ErrNotFound):
					misses.Add(1)
				default:
					t.Errorf("consume: %q %v", v, err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if wins.Load() != 1 || misses.Load() != 9 {
			t.Fatalf("%d redemptions succeeded, %d missed; want exactly 1 and 9", wins.Load(), misses.Load())
		}
	})
}
