package outbox_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/clock"
	"github.com/gatehouse-auth/gatehouse/internal/outbox"
	"github.com/gatehouse-auth/gatehouse/internal/outbox/outboxtest"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// recorder is a Deliverer that fails while fail is non-nil and counts deliveries per item.
type recorder struct {
	mu    sync.Mutex
	fail  error
	count map[string]int
}

func (r *recorder) Deliver(_ context.Context, it *outbox.Item) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.count == nil {
		r.count = map[string]int{}
	}
	if r.fail != nil {
		return r.fail
	}
	r.count[it.ID]++
	return nil
}

func (r *recorder) setFail(err error) { r.mu.Lock(); r.fail = err; r.mu.Unlock() }
func (r *recorder) delivered(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.count[id]
}

type outcomes struct {
	mu sync.Mutex
	n  map[outbox.Outcome]int
}

func (o *outcomes) observe(q string, oc outbox.Outcome) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.n == nil {
		o.n = map[outbox.Outcome]int{}
	}
	o.n[oc]++
}

func (o *outcomes) get(oc outbox.Outcome) int { o.mu.Lock(); defer o.mu.Unlock(); return o.n[oc] }

type fixture struct {
	store *outboxtest.Memory
	clk   *clock.Fake
	d     *recorder
	obs   *outcomes
	w     *outbox.Worker
}

func newFixture(t *testing.T, cfg outbox.Config, s outbox.Store) *fixture {
	t.Helper()
	f := &fixture{store: outboxtest.NewMemory(), clk: clock.NewFake(t0), d: &recorder{}, obs: &outcomes{}}
	if s == nil {
		s = f.store
	}
	cfg.Queue = "mail"
	w, err := outbox.NewWorker(s, f.d, cfg, f.clk.Now, f.obs.observe, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.w = w
	return f
}

func (f *fixture) enqueue(t *testing.T) *outbox.Item {
	t.Helper()
	it := outbox.NewItem("mail", []byte("secret payload"), f.clk.Now())
	if err := f.store.OutboxEnqueue(context.Background(), it); err != nil {
		t.Fatal(err)
	}
	return it
}

func (f *fixture) runOnce(t *testing.T) int {
	t.Helper()
	n, err := f.w.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (f *fixture) state(t *testing.T, id string) outboxtest.State {
	t.Helper()
	s, ok := f.store.Get(id)
	if !ok {
		t.Fatalf("item %s missing", id)
	}
	return s
}

func TestDeliverMarksSentAndErasesPayload(t *testing.T) {
	f := newFixture(t, outbox.Config{}, nil)
	it := f.enqueue(t)
	if n := f.runOnce(t); n != 1 {
		t.Fatalf("claimed %d", n)
	}
	st := f.state(t, it.ID)
	if !st.Done || st.Dead || st.Item.Payload != nil || f.d.delivered(it.ID) != 1 || f.obs.get(outbox.Sent) != 1 {
		t.Fatalf("after delivery: %+v delivered=%d", st, f.d.delivered(it.ID))
	}
	if n := f.runOnce(t); n != 0 || f.d.delivered(it.ID) != 1 {
		t.Fatal("sent item delivered again")
	}
}

func TestRetryWithBackoffThenSend(t *testing.T) {
	f := newFixture(t, outbox.Config{BaseDelay: time.Minute}, nil)
	it := f.enqueue(t)
	f.d.setFail(errors.New("dial tcp: connection refused"))
	f.runOnce(t)
	st := f.state(t, it.ID)
	wait := st.Item.NextAttemptAt.Sub(t0)
	if st.Done || wait < 30*time.Second || wait > time.Minute || st.Item.LastError != "dial tcp: connection refused" || f.obs.get(outbox.Retry) != 1 {
		t.Fatalf("after a failure: %+v (wait %v)", st, wait)
	}
	// The receiver is back, but the item waits for its next attempt.
	f.d.setFail(nil)
	f.clk.Add(wait - time.Second)
	if n := f.runOnce(t); n != 0 {
		t.Fatal("retried before the backoff delay")
	}
	f.clk.Add(time.Second)
	f.runOnce(t)
	if st := f.state(t, it.ID); !st.Done || st.Dead || f.d.delivered(it.ID) != 1 || f.obs.get(outbox.Sent) != 1 {
		t.Fatalf("not sent after the outage: %+v", st)
	}
}

func TestBackoffGrowsAndIsCapped(t *testing.T) {
	cfg := outbox.Config{BaseDelay: 30 * time.Second, MaxDelay: time.Hour}
	low := func(int64) int64 { return 0 }
	high := func(n int64) int64 { return n - 1 }
	tests := []struct {
		attempts  int
		low, high time.Duration
	}{
		{1, 15 * time.Second, 30 * time.Second},
		{2, 30 * time.Second, time.Minute},
		{5, 4 * time.Minute, 8 * time.Minute},
		{8, 30 * time.Minute, time.Hour},
		{9, 30 * time.Minute, time.Hour}, // 30s·2^8 > 1h: capped
		{40, 30 * time.Minute, time.Hour},
		{100, 30 * time.Minute, time.Hour}, // no shift overflow
	}
	for _, tt := range tests {
		if got := cfg.Backoff(tt.attempts, low); got != tt.low {
			t.Errorf("attempt %d low: %v, want %v", tt.attempts, got, tt.low)
		}
		if got := cfg.Backoff(tt.attempts, high); got != tt.high {
			t.Errorf("attempt %d high: %v, want %v", tt.attempts, got, tt.high)
		}
	}
}

func TestGivingUp(t *testing.T) {
	tests := []struct {
		name      string
		cfg       outbox.Config
		prepare   func(f *fixture, it *outbox.Item)
		failWith  error
		rounds    int
		delivered int
	}{
		{name: "permanent error", failWith: outbox.Permanent(errors.New("550 no such user")), rounds: 1},
		{name: "max attempts", cfg: outbox.Config{MaxAttempts: 3}, failWith: errors.New("421 busy"), rounds: 3},
		{name: "too old", prepare: func(f *fixture, _ *outbox.Item) { f.clk.Add(73 * time.Hour) }, rounds: 1},
		{name: "expired code", prepare: func(f *fixture, _ *outbox.Item) { f.clk.Add(11 * time.Minute) }, rounds: 1},
		// The next attempt would come after the code expired: give up now.
		{name: "retry past expiry", cfg: outbox.Config{BaseDelay: 30 * time.Minute}, failWith: errors.New("421 busy"), rounds: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.cfg, nil)
			it := outbox.NewItem("mail", []byte("p"), t0)
			it.NotAfter = t0.Add(10 * time.Minute)
			if tt.name == "too old" || tt.name == "max attempts" {
				it.NotAfter = time.Time{}
			}
			if err := f.store.OutboxEnqueue(context.Background(), it); err != nil {
				t.Fatal(err)
			}
			if tt.prepare != nil {
				tt.prepare(f, it)
			}
			f.d.setFail(tt.failWith)
			for i := 0; i < tt.rounds; i++ {
				if n := f.runOnce(t); n != 1 {
					t.Fatalf("round %d claimed %d", i, n)
				}
				f.clk.Add(24 * time.Hour)
			}
			st := f.state(t, it.ID)
			if !st.Dead || st.Item.Payload != nil || st.Item.LastError == "" || f.obs.get(outbox.Failed) != 1 {
				t.Fatalf("not given up: %+v failed=%d", st, f.obs.get(outbox.Failed))
			}
			if f.d.delivered(it.ID) != tt.delivered {
				t.Fatalf("delivered %d times", f.d.delivered(it.ID))
			}
			if n := f.runOnce(t); n != 0 {
				t.Fatal("dead item claimed again")
			}
		})
	}
}

// failSent is a store whose OutboxMarkSent fails, like a process killed between the
// receiver's acceptance and the mark.
type failSent struct {
	outbox.Store
	fail bool
}

func (s *failSent) OutboxMarkSent(ctx context.Context, id, claim string, now time.Time) error {
	if s.fail {
		return errors.New("connection reset")
	}
	return s.Store.OutboxMarkSent(ctx, id, claim, now)
}

// TestCrashAfterDeliveryRedelivers shows the guarantee: at least once, with the same identity.
func TestCrashAfterDeliveryRedelivers(t *testing.T) {
	mem := outboxtest.NewMemory()
	s := &failSent{Store: mem, fail: true}
	f := newFixture(t, outbox.Config{Lease: time.Minute}, s)
	f.store = mem
	it := f.enqueue(t)
	f.runOnce(t)
	if f.d.delivered(it.ID) != 1 || f.state(t, it.ID).Done {
		t.Fatal("setup: the mark should have failed")
	}
	s.fail = false
	if n := f.runOnce(t); n != 0 {
		t.Fatal("claimed again while leased")
	}
	f.clk.Add(time.Minute + time.Second)
	f.runOnce(t)
	if f.d.delivered(it.ID) != 2 || !f.state(t, it.ID).Done {
		t.Fatalf("after the lease: delivered %d", f.d.delivered(it.ID))
	}
}

func TestRunDeliversOnNotifyAndStops(t *testing.T) {
	f := newFixture(t, outbox.Config{Poll: time.Hour}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.w.Run(ctx) }()
	it := f.enqueue(t)
	f.w.Notify()
	deadline := time.Now().Add(10 * time.Second)
	for f.d.delivered(it.ID) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("Run did not deliver after Notify")
		}
		time.Sleep(time.Millisecond)
		f.w.Notify()
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
}

func TestNewWorkerNeedsQueue(t *testing.T) {
	if _, err := outbox.NewWorker(outboxtest.NewMemory(), &recorder{}, outbox.Config{}, time.Now, nil, nil); err == nil {
		t.Fatal("worker without a queue accepted")
	}
}

// cancelling is a Deliverer that is interrupted by shutdown while it delivers.
type cancelling struct {
	cancel context.CancelFunc
	err    error
}

func (c *cancelling) Deliver(ctx context.Context, _ *outbox.Item) error {
	c.cancel()
	if c.err != nil {
		return c.err
	}
	return nil
}

func TestShutdownDuringDelivery(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantDone bool
	}{
		// The receiver accepted it just before shutdown: it must be marked sent, or it would
		// go out again after the restart.
		{"delivered", nil, true},
		// Interrupted: due again at once, not pushed back by a backoff.
		{"interrupted", context.Canceled, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := outboxtest.NewMemory()
			clk := clock.NewFake(t0)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			w, err := outbox.NewWorker(store, &cancelling{cancel: cancel, err: tt.err}, outbox.Config{Queue: "mail"}, clk.Now, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			it := outbox.NewItem("mail", []byte("p"), t0)
			store.OutboxEnqueue(context.Background(), it)
			if _, err := w.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			st, _ := store.Get(it.ID)
			if st.Done != tt.wantDone || st.Dead {
				t.Fatalf("state %+v", st)
			}
			if !tt.wantDone {
				again, _ := store.OutboxClaimDue(context.Background(), "mail", t0, time.Minute, 10)
				if len(again) != 1 {
					t.Fatal("interrupted item not due again at once")
				}
			}
		})
	}
}
