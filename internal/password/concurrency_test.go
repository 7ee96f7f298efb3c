package password

import (
	"context"
	"errors"
	"fmt"
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

// orderedHasher returns a Hasher of concurrency 1 whose KDF records the password of every
// call as it starts and then waits for one token on step.
func orderedHasher(t *testing.T, queue int) (h *Hasher, step chan struct{}, order func() []string) {
	t.Helper()
	h = newHasher(Config{Params: fast, Concurrency: 1, QueueSize: queue, QueueTimeout: time.Hour})
	step = make(chan struct{})
	var mu sync.Mutex
	var seen []string
	h.kdf = func(pw, salt []byte, p Params) []byte {
		mu.Lock()
		seen = append(seen, string(pw))
		mu.Unlock()
		<-step
		return argon2idKey(pw, salt, p)
	}
	t.Cleanup(func() { close(step) })
	return h, step, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), seen...) }
}

// hashIn starts a Hash of pw admitted with a, and waits until it is queued (depth wantDepth)
// or running. Its error is sent on the returned channel.
func hashIn(t *testing.T, h *Hasher, a Admission, pw string, queued func() bool) chan error {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		tk, err := h.Admit(context.Background(), a)
		if err == nil {
			_, err = tk.Hash(pw)
		}
		errc <- err
	}()
	waitFor(t, pw+" to queue", queued)
	return errc
}

// TestAdmissionOrder checks the order in which waiters get a slot: the priority lane first,
// then the normal lane's groups in turn, each group first-come-first-served.
func TestAdmissionOrder(t *testing.T) {
	h, step, order := orderedHasher(t, 8)
	depth := func(n int) func() bool { return func() bool { return h.QueueDepth() == n } }
	var errs []chan error
	errs = append(errs, hashIn(t, h, Admission{Group: "a"}, "holder", func() bool { return h.InFlight() == 1 }))
	errs = append(errs, hashIn(t, h, Admission{Group: "a"}, "a1", depth(1)))
	errs = append(errs, hashIn(t, h, Admission{Group: "a"}, "a2", depth(2)))
	errs = append(errs, hashIn(t, h, Admission{Group: "a"}, "a3", depth(3)))
	errs = append(errs, hashIn(t, h, Admission{Group: "b"}, "b1", depth(4)))
	errs = append(errs, hashIn(t, h, Admission{Priority: true, Group: "c"}, "p1", depth(5)))
	for range errs {
		step <- struct{}{}
	}
	for _, c := range errs {
		if err := <-c; err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"holder", "p1", "a1", "b1", "a2", "a3"}
	if got := order(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("hashing order %v, want %v", got, want)
	}
	if h.InFlight() != 0 || h.QueueDepth() != 0 || len(h.groups) != 0 || len(h.ring) != 0 {
		t.Fatalf("leaked: in flight %d, queued %d, groups %d", h.InFlight(), h.QueueDepth(), len(h.groups))
	}
}

// TestFairPushOut checks that a full normal lane makes room for a network with fewer waiters
// by turning away the newest waiter of the largest group, and for nobody else.
func TestFairPushOut(t *testing.T) {
	h, step, _ := orderedHasher(t, 3)
	depth := func(n int) func() bool { return func() bool { return h.QueueDepth() == n } }
	holder := hashIn(t, h, Admission{}, "holder", func() bool { return h.InFlight() == 1 })
	a1 := hashIn(t, h, Admission{Group: "a"}, "a1", depth(1))
	a2 := hashIn(t, h, Admission{Group: "a"}, "a2", depth(2))
	a3 := hashIn(t, h, Admission{Group: "a"}, "a3", depth(3))

	b1 := hashIn(t, h, Admission{Group: "b"}, "b1", func() bool { return len(a3) == 1 })
	if err := <-a3; !errors.Is(err, errPushedOut) {
		t.Fatalf("a3: %v, want pushed out", err)
	}
	c1 := hashIn(t, h, Admission{Group: "c"}, "c1", func() bool { return len(a2) == 1 })
	if err := <-a2; !errors.Is(err, errPushedOut) {
		t.Fatalf("a2: %v, want pushed out", err)
	}
	// a, b, c hold one waiter each: neither a fourth network nor a second of "a" gets in.
	for _, g := range []string{"d", "a"} {
		if _, err := h.Admit(context.Background(), Admission{Group: g}); !errors.Is(err, errQueueFull) {
			t.Fatalf("group %s with a fair full queue: %v, want queue full", g, err)
		}
	}
	// The priority lane has its own room.
	p1 := hashIn(t, h, Admission{Priority: true}, "p1", depth(4))
	for range 5 {
		step <- struct{}{}
	}
	for _, c := range []chan error{holder, a1, b1, c1, p1} {
		if err := <-c; err != nil {
			t.Fatal(err)
		}
	}
	if h.InFlight() != 0 || h.QueueDepth() != 0 {
		t.Fatalf("leaked: in flight %d, queued %d", h.InFlight(), h.QueueDepth())
	}
}

func TestTicket(t *testing.T) {
	h := newHasher(Config{Params: fast, Concurrency: 1, QueueSize: 1, QueueTimeout: time.Hour})
	enc := mustHash(t, h, "pw")
	tk, err := h.Admit(context.Background(), Admission{Priority: true})
	if err != nil || h.InFlight() != 1 {
		t.Fatalf("Admit: %v, in flight %d", err, h.InFlight())
	}
	if ok, _, err := tk.Verify("pw", enc); !ok || err != nil {
		t.Fatalf("Ticket.Verify = %v, %v", ok, err)
	}
	if _, _, err := tk.Verify("pw", enc); !errors.Is(err, errTicketSpent) {
		t.Fatalf("second use: %v, want spent", err)
	}
	tk.Release() // no-op on a spent ticket
	if h.InFlight() != 0 {
		t.Fatalf("in flight %d after a spent ticket", h.InFlight())
	}
	tk, _ = h.Admit(context.Background(), Admission{})
	tk.Release()
	tk.Release()
	if h.InFlight() != 0 {
		t.Fatalf("in flight %d after Release", h.InFlight())
	}
	tk, _ = h.Admit(context.Background(), Admission{})
	if err := tk.VerifyDummy("pw"); err != nil || h.InFlight() != 0 {
		t.Fatalf("VerifyDummy: %v, in flight %d", err, h.InFlight())
	}
	tk, _ = h.Admit(context.Background(), Admission{})
	if _, _, err := tk.Verify("pw", "$argon2id$bad"); !errors.Is(err, ErrMalformedHash) || h.InFlight() != 0 {
		t.Fatalf("malformed: %v, in flight %d", err, h.InFlight())
	}
}

// TestPriorityLaneDoesNotStarveNormal checks that a normal waiter gets a slot after at most
// three priority waiters while both lanes wait.
func TestPriorityLaneDoesNotStarveNormal(t *testing.T) {
	h, step, order := orderedHasher(t, 8)
	depth := func(n int) func() bool { return func() bool { return h.QueueDepth() == n } }
	errs := []chan error{hashIn(t, h, Admission{}, "holder", func() bool { return h.InFlight() == 1 })}
	errs = append(errs, hashIn(t, h, Admission{}, "n1", depth(1)))
	for i := range 5 {
		errs = append(errs, hashIn(t, h, Admission{Priority: true}, fmt.Sprintf("p%d", i+1), depth(i+2)))
	}
	for range errs {
		step <- struct{}{}
	}
	for _, c := range errs {
		if err := <-c; err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"holder", "p1", "p2", "p3", "n1", "p4", "p5"}
	if got := order(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("hashing order %v, want %v", got, want)
	}
}
