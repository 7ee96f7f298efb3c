package password

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestWaitObserved: each granted slot reports its lane and exactly how long the caller
// waited (under synctest's clock); a caller shed for a full queue reports nothing.
func TestWaitObserved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		h := newHasher(Config{Params: fast, Concurrency: 1, QueueSize: 1, QueueTimeout: time.Minute})
		var mu sync.Mutex
		var got []string
		h.ObserveWait(func(lane string, d time.Duration) {
			mu.Lock()
			got = append(got, fmt.Sprintf("%s %v", lane, d))
			mu.Unlock()
		})
		if err := h.acquire(ctx, Admission{}); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- h.acquire(ctx, Admission{Priority: true}) }()
		synctest.Wait()
		if err := h.acquire(ctx, Admission{Priority: true}); err != errQueueFull {
			t.Fatalf("third caller: %v, want the queue full", err)
		}
		time.Sleep(3 * time.Second)
		h.release()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		h.release()
		h.ObserveWait(nil)
		if err := h.acquire(ctx, Admission{}); err != nil {
			t.Fatal(err)
		}
		h.release()
		mu.Lock()
		defer mu.Unlock()
		if want := []string{"normal 0s", "priority 3s"}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("observed %q, want %q", got, want)
		}
	})
}
