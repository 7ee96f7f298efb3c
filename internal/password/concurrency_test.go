package password

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// gate is a KDF hook that blocks every call until released and counts how many calls are
// inside it at once.
type gate struct {
	release      chan struct{}
	inside, peak atomic.Int64
	calls        atomic.Int64
}

// blockingHasher returns a Hasher with tiny parameters whose KDF waits on the returned gate.
func blockingHasher(tb testing.TB, concurrency, queue int, timeout time.Duration) (*Hasher, *gate) {
	tb.Helper()
	h := newHasher(Config{Params: fast, Concurrency: concurrency, QueueSize: queue, QueueTimeout: timeout})
	g := &gate{release: make(chan struct{})}
	h.kdf = func(pw, salt []byte, p Params) []byte {
		g.calls.Add(1)
		n := g.inside.Add(1)
		for {
			old := g.peak.Load()
			if n <= old || g.peak.CompareAndSwap(old, n) {
				break
			}
		}
		<-g.release
		g.inside.Add(-1)
		return argon2idKey(pw, salt, p)
	}
	tb.Cleanup(g.open) // never leave goroutines blocked if a test fails early
	return h, g
}

func (g *gate) open() {
	select {
	case <-g.release:
	default:
		close(g.release)
	}
}

// waitFor polls cond until it holds. The deadline is only a guard against a hung test; no
// assertion depends on how long anything takes.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestBoundedConcurrency(t *testing.T) {
	h, g := blockingHasher(t, 2, 3, time.Hour)
	var wg sync.WaitGroup
	var busy, done, other atomic.Int64
	for range 10 {
		wg.Go(func() {
			_, err := h.Hash(context.Background(), "pw")
			switch {
			case err == nil:
				done.Add(1)
			case errors.Is(err, ErrBusy):
				busy.Add(1)
			default:
				other.Add(1)
			}
		})
	}
	waitFor(t, "2 hashing, 3 queued, 5 turned away", func() bool {
		return g.inside.Load() == 2 && h.QueueDepth() == 3 && busy.Load() == 5
	})
	if h.InFlight() != 2 || done.Load() != 0 || other.Load() != 0 {
		t.Fatalf("before release: in flight %d, done %d, other errors %d", h.InFlight(), done.Load(), other.Load())
	}
	g.open()
	wg.Wait()
	if g.peak.Load() != 2 {
		t.Errorf("peak concurrent KDF calls = %d, want 2", g.peak.Load())
	}
	if done.Load() != 5 || busy.Load() != 5 || other.Load() != 0 || g.calls.Load() != 5 {
		t.Errorf("done=%d busy=%d other=%d kdf calls=%d, want 5/5/0/5", done.Load(), busy.Load(), other.Load(), g.calls.Load())
	}
	if h.InFlight() != 0 || h.QueueDepth() != 0 {
		t.Errorf("leaked: in flight %d, queued %d", h.InFlight(), h.QueueDepth())
	}
}

// TestQueuedCallerGivesUp checks that every operation waits in the same queue for the same
// semaphore, and leaves it with ErrBusy and no leaked slot when its context ends or its wait
// times out.
func TestQueuedCallerGivesUp(t *testing.T) {
	argon := mustHash(t, NewUnsafeFastHasherForTests(), "pw")
	bc := mustBcrypt(t, "pw")
	ops := []struct {
		name string
		op   func(context.Context, *Hasher) error
	}{
		{"Hash", func(ctx context.Context, h *Hasher) error { _, err := h.Hash(ctx, "pw"); return err }},
		{"Verify argon2id", func(ctx context.Context, h *Hasher) error { _, _, err := h.Verify(ctx, "pw", argon); return err }},
		{"Verify bcrypt", func(ctx context.Context, h *Hasher) error { _, _, err := h.Verify(ctx, "pw", bc); return err }},
		{"VerifyDummy", func(ctx context.Context, h *Hasher) error { return h.VerifyDummy(ctx, "pw") }},
	}
	for _, tt := range ops {
		t.Run(tt.name, func(t *testing.T) {
			h, g := blockingHasher(t, 1, 2, time.Hour)
			holder := make(chan error, 1)
			go func() { _, err := h.Hash(context.Background(), "holder"); holder <- err }()
			waitFor(t, "the holder to take the only slot", func() bool { return g.inside.Load() == 1 })

			// Cancelled while queued.
			ctx, cancel := context.WithCancel(context.Background())
			errc := make(chan error, 1)
			go func() { errc <- tt.op(ctx, h) }()
			waitFor(t, "the caller to queue", func() bool { return h.QueueDepth() == 1 })
			cancel()
			if err := <-errc; !errors.Is(err, ErrBusy) || !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled while queued: %v, want ErrBusy wrapping context.Canceled", err)
			}
			if h.QueueDepth() != 0 || h.InFlight() != 1 {
				t.Fatalf("after cancel: queued %d, in flight %d, want 0, 1", h.QueueDepth(), h.InFlight())
			}

			// Already cancelled: turned away without queueing.
			if err := tt.op(ctx, h); !errors.Is(err, ErrBusy) || !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled context: %v, want ErrBusy wrapping context.Canceled", err)
			}

			// Waits past QueueTimeout. The slot stays held, so this must time out.
			h.timeout = time.Millisecond
			if err := tt.op(context.Background(), h); !errors.Is(err, errTimedOut) {
				t.Fatalf("timed out in queue: %v, want ErrBusy (timed out)", err)
			}

			g.open()
			if err := <-holder; err != nil {
				t.Fatalf("holder: %v", err)
			}
			if h.InFlight() != 0 || h.QueueDepth() != 0 {
				t.Fatalf("leaked: in flight %d, queued %d", h.InFlight(), h.QueueDepth())
			}
			// The slot is usable again.
			h.timeout = time.Hour
			if err := tt.op(context.Background(), h); err != nil {
				t.Fatalf("after release: %v", err)
			}
		})
	}
}

func TestCancelledContextWithFreeSlot(t *testing.T) {
	h, g := blockingHasher(t, 2, 2, time.Hour)
	g.open()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Hash(ctx, "pw"); !errors.Is(err, ErrBusy) {
		t.Fatalf("Hash with a done context: %v, want ErrBusy", err)
	}
	if g.calls.Load() != 0 {
		t.Fatalf("the KDF ran %d times for a done context", g.calls.Load())
	}
}

// TestQueueTimeoutExact checks, on synctest's fake clock, that a queued caller waits exactly
// QueueTimeout: still queued one nanosecond before, turned away at it.
func TestQueueTimeoutExact(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const timeout = 2 * time.Second
		h, g := blockingHasher(t, 1, 1, timeout)
		holder := make(chan error, 1)
		go func() { _, err := h.Hash(context.Background(), "holder"); holder <- err }()
		synctest.Wait()
		if g.inside.Load() != 1 {
			t.Fatalf("holder not hashing: %d inside", g.inside.Load())
		}

		start := time.Now()
		errc := make(chan error, 1)
		go func() { _, err := h.Hash(context.Background(), "waiter"); errc <- err }()
		synctest.Wait()
		if h.QueueDepth() != 1 {
			t.Fatalf("queue depth %d, want 1", h.QueueDepth())
		}
		// A third caller finds the queue of one full and is turned away without waiting.
		if _, err := h.Hash(context.Background(), "third"); !errors.Is(err, errQueueFull) || time.Since(start) != 0 {
			t.Fatalf("third caller: %v after %v, want ErrBusy (queue full) at once", err, time.Since(start))
		}

		time.Sleep(timeout - time.Nanosecond)
		synctest.Wait()
		select {
		case err := <-errc:
			t.Fatalf("waiter returned %v before QueueTimeout", err)
		default:
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		select {
		case err := <-errc:
			if !errors.Is(err, errTimedOut) {
				t.Fatalf("waiter: %v, want ErrBusy (timed out)", err)
			}
		default:
			t.Fatal("waiter still queued at QueueTimeout")
		}

		g.open()
		if err := <-holder; err != nil {
			t.Fatalf("holder: %v", err)
		}
		if h.InFlight() != 0 || h.QueueDepth() != 0 || g.calls.Load() != 1 {
			t.Fatalf("in flight %d, queued %d, kdf calls %d; want 0, 0, 1", h.InFlight(), h.QueueDepth(), g.calls.Load())
		}
	})
}

// TestManyCallersBounded runs 150 Verify calls at once through a Hasher with Concurrency 2
// and room for all of them in the queue: every one must succeed, and the KDF (the only thing
// that allocates argon2id memory) must never run more than twice at once.
func TestManyCallersBounded(t *testing.T) {
	const callers = 150
	h, g := blockingHasher(t, 2, callers, time.Hour)
	g.open() // count only; never block
	enc := mustHash(t, h, "pw")
	var wg sync.WaitGroup
	var okCount atomic.Int64
	for range callers {
		wg.Go(func() {
			ok, _, err := h.Verify(context.Background(), "pw", enc)
			if err != nil {
				t.Errorf("Verify: %v", err)
			}
			if ok {
				okCount.Add(1)
			}
		})
	}
	wg.Wait()
	if okCount.Load() != callers || g.calls.Load() != callers+1 {
		t.Fatalf("%d of %d verified, kdf calls %d", okCount.Load(), callers, g.calls.Load())
	}
	if p := g.peak.Load(); p < 1 || p > 2 {
		t.Fatalf("peak concurrent KDF calls = %d, want at most 2", p)
	}
	if h.InFlight() != 0 || h.QueueDepth() != 0 {
		t.Fatalf("leaked: in flight %d, queued %d", h.InFlight(), h.QueueDepth())
	}
}
