package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
)

// clock is a manually moved time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestLimitValidate(t *testing.T) {
	tests := []struct {
		name string
		l    ratelimit.Limit
		ok   bool
	}{
		{"ordinary", ratelimit.Limit{Burst: 5, Per: time.Minute}, true},
		{"one token", ratelimit.Limit{Burst: 1, Per: time.Nanosecond}, true},
		{"zero", ratelimit.Limit{}, false},
		{"no burst", ratelimit.Limit{Burst: 0, Per: time.Second}, false},
		{"negative burst", ratelimit.Limit{Burst: -1, Per: time.Second}, false},
		{"no interval", ratelimit.Limit{Burst: 3}, false},
		{"negative interval", ratelimit.Limit{Burst: 3, Per: -time.Second}, false},
		{"refill time overflows", ratelimit.Limit{Burst: 1 << 40, Per: time.Hour}, false},
		{"interval too long", ratelimit.Limit{Burst: 1, Per: 20 * 365 * 24 * time.Hour}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.l.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate(%+v) = %v, want ok=%v", tt.l, err, tt.ok)
			}
			if !tt.ok {
				_, aerr := ratelimit.NewMemory(0).Allow(context.Background(), "k", tt.l, time.Now())
				if aerr == nil {
					t.Fatalf("Allow accepted invalid limit %+v", tt.l)
				}
			}
		})
	}
}

// TestBucketMath drives one bucket through the GCRA arithmetic with a fake clock.
func TestBucketMath(t *testing.T) {
	type step struct {
		advance time.Duration
		peek    bool // Peek instead of Allow
		n       int  // repeat the call n times (default 1), each expecting want
		want    ratelimit.Result
	}
	allowed := func(rem int) ratelimit.Result { return ratelimit.Result{Allowed: true, Remaining: rem} }
	denied := func(d time.Duration) ratelimit.Result { return ratelimit.Result{RetryAfter: d} }
	three := ratelimit.Limit{Burst: 3, Per: 10 * time.Second}

	tests := []struct {
		name  string
		limit ratelimit.Limit
		steps []step
	}{
		{"burst then denial", three, []step{
			{want: allowed(2)}, {want: allowed(1)}, {want: allowed(0)},
			{want: denied(10 * time.Second)},
		}},
		{"partial refill reports the rest of the wait", three, []step{
			{want: allowed(2)}, {want: allowed(1)}, {want: allowed(0)},
			{advance: 4 * time.Second, want: denied(6 * time.Second)},
			{advance: 6 * time.Second, want: allowed(0)},
			{want: denied(10 * time.Second)},
		}},
		{"full refill after burst times per", three, []step{
			{want: allowed(2)}, {want: allowed(1)}, {want: allowed(0)},
			{advance: 30 * time.Second, want: allowed(2)},
			{want: allowed(1)}, {want: allowed(0)},
			{want: denied(10 * time.Second)},
		}},
		{"refill is capped at burst", three, []step{
			{advance: 24 * time.Hour, want: allowed(2)},
			{want: allowed(1)}, {want: allowed(0)},
			{want: denied(10 * time.Second)},
		}},
		{"denied requests take nothing", three, []step{
			{want: allowed(2)}, {want: allowed(1)}, {want: allowed(0)},
			{n: 100, want: denied(10 * time.Second)},
			{advance: 10 * time.Second, want: allowed(0)},
			{want: denied(10 * time.Second)},
		}},
		{"peek does not take", three, []step{
			{peek: true, n: 10, want: allowed(2)},
			{want: allowed(2)}, {want: allowed(1)},
			{peek: true, want: allowed(0)},
			{want: allowed(0)},
			{peek: true, want: denied(10 * time.Second)},
		}},
		{"one token", ratelimit.Limit{Burst: 1, Per: time.Hour}, []step{
			{want: allowed(0)},
			{want: denied(time.Hour)},
			{advance: 59 * time.Minute, want: denied(time.Minute)},
			{advance: time.Minute, want: allowed(0)},
		}},
		{"steady rate at exactly per", ratelimit.Limit{Burst: 2, Per: time.Second}, []step{
			{want: allowed(1)},
			{advance: time.Second, want: allowed(1)},
			{advance: time.Second, want: allowed(1)},
			{want: allowed(0)},
			{advance: 500 * time.Millisecond, want: denied(500 * time.Millisecond)},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			m := ratelimit.NewMemory(0)
			clk := newClock()
			for i, s := range tt.steps {
				clk.Add(s.advance)
				for range max(s.n, 1) {
					op := m.Allow
					if s.peek {
						op = m.Peek
					}
					got, err := op(ctx, "k", tt.limit, clk.Now())
					if err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
					if got != s.want {
						t.Fatalf("step %d (peek=%v): got %+v, want %+v", i, s.peek, got, s.want)
					}
				}
			}
		})
	}
}

func TestMemoryReset(t *testing.T) {
	ctx := context.Background()
	m := ratelimit.NewMemory(0)
	l := ratelimit.Limit{Burst: 1, Per: time.Hour}
	now := time.Now()
	for _, key := range []string{"a", "b"} {
		if r, _ := m.Allow(ctx, key, l, now); !r.Allowed {
			t.Fatalf("%s: first request refused", key)
		}
	}
	if err := m.Reset(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if r, _ := m.Allow(ctx, "a", l, now); !r.Allowed {
		t.Error("a: refused after Reset")
	}
	if r, _ := m.Allow(ctx, "b", l, now); r.Allowed {
		t.Error("b: Reset of a refilled b")
	}
	if err := m.Reset(ctx, "never-seen"); err != nil {
		t.Errorf("Reset of a missing key: %v", err)
	}
}

func TestMemoryCanceledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m := ratelimit.NewMemory(0)
	l := ratelimit.Limit{Burst: 1, Per: time.Second}
	tests := []struct {
		name string
		call func() error
	}{
		{"Allow", func() error { _, err := m.Allow(ctx, "k", l, time.Now()); return err }},
		{"Peek", func() error { _, err := m.Peek(ctx, "k", l, time.Now()); return err }},
		{"Reset", func() error { return m.Reset(ctx, "k") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, context.Canceled) {
				t.Fatalf("got %v, want context.Canceled", err)
			}
		})
	}
}

// TestMemoryEviction checks that buckets which are full again are forgotten by the amortized
// sweep, and that nothing but an allowed request creates an entry.
func TestMemoryEviction(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	m := ratelimit.NewMemory(0)
	l := ratelimit.Limit{Burst: 2, Per: time.Second}

	for i := range 1000 {
		if _, err := m.Allow(ctx, "live"+strconv.Itoa(i), l, clk.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if got := m.Len(); got != 1000 {
		t.Fatalf("Len after 1000 new keys = %d", got)
	}
	for i := range 1000 {
		if _, err := m.Peek(ctx, "peeked"+strconv.Itoa(i), l, clk.Now()); err != nil {
			t.Fatal(err)
		}
	}
	// Exhaust one bucket, then hammer it: refusals store nothing new.
	for range 10 {
		if _, err := m.Allow(ctx, "live0", l, clk.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if got := m.Len(); got != 1000 {
		t.Fatalf("Len after peeks and refusals = %d, want 1000", got)
	}

	// 2 s later every bucket holds its full burst again: enough traffic sweeps them all.
	clk.Add(2 * time.Second)
	for i := range 64 * 64 * 4 {
		if _, err := m.Peek(ctx, "p"+strconv.Itoa(i), l, clk.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if got := m.Len(); got != 0 {
		t.Fatalf("Len after refill and sweep = %d, want 0", got)
	}
}

// TestMemoryCap checks the hard cap: once full, new keys fail with ErrFull (closed), existing
// buckets keep their state (no eviction an attacker could use), and room comes back when
// buckets refill.
func TestMemoryCap(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	const maxEntries = 128
	m := ratelimit.NewMemory(maxEntries)
	l := ratelimit.Limit{Burst: 1, Per: time.Minute}

	var stored, full []string
	for i := range 10 * maxEntries {
		key := "k" + strconv.Itoa(i)
		r, err := m.Allow(ctx, key, l, clk.Now())
		switch {
		case errors.Is(err, ratelimit.ErrFull):
			if r.Allowed {
				t.Fatalf("%s: ErrFull with Allowed result", key)
			}
			full = append(full, key)
		case err != nil:
			t.Fatal(err)
		case !r.Allowed:
			t.Fatalf("%s: new key refused", key)
		default:
			stored = append(stored, key)
		}
	}
	if got := m.Len(); got > maxEntries {
		t.Fatalf("Len = %d, above the cap %d", got, maxEntries)
	}
	if len(stored) != m.Len() || len(full) == 0 {
		t.Fatalf("stored %d, full %d, Len %d", len(stored), len(full), m.Len())
	}
	// A stored bucket is still empty: the flood evicted nothing.
	for _, key := range stored {
		r, err := m.Allow(ctx, key, l, clk.Now())
		if err != nil || r.Allowed {
			t.Fatalf("%s: after the flood got %+v, %v; want a refusal", key, r, err)
		}
	}
	// A key refused for room is not stored, and Peek on it works (a full bucket).
	if r, err := m.Peek(ctx, full[0], l, clk.Now()); err != nil || !r.Allowed {
		t.Fatalf("Peek of a key refused for room: %+v, %v", r, err)
	}

	// Once the stored buckets are full again, the sweep makes room.
	// Keys spread over every shard, so each shard admits exactly its share.
	clk.Add(time.Minute)
	admitted := 0
	for _, key := range full {
		r, err := m.Allow(ctx, key, l, clk.Now())
		if errors.Is(err, ratelimit.ErrFull) {
			continue // its shard took other keys of this loop first
		}
		if err != nil || !r.Allowed {
			t.Fatalf("%s: after refill got %+v, %v", key, r, err)
		}
		admitted++
	}
	if admitted != maxEntries || m.Len() != maxEntries {
		t.Fatalf("after refill admitted %d, Len %d; want %d", admitted, m.Len(), maxEntries)
	}
}

// TestMemoryConcurrent checks that concurrent requests never get more tokens than the burst.
func TestMemoryConcurrent(t *testing.T) {
	ctx := context.Background()
	m := ratelimit.NewMemory(0)
	l := ratelimit.Limit{Burst: 50, Per: time.Hour}
	now := time.Now()
	var got atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 100 {
				r, err := m.Allow(ctx, "shared", l, now)
				if err != nil {
					t.Error(err)
					return
				}
				if r.Allowed {
					got.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if got.Load() != 50 {
		t.Fatalf("%d requests allowed, want exactly the burst of 50", got.Load())
	}
}

func BenchmarkMemoryAllow(b *testing.B) {
	ctx := context.Background()
	m := ratelimit.NewMemory(0)
	l := ratelimit.Limit{Burst: 20, Per: 3 * time.Second}
	keys := make([]string, 4096)
	for i := range keys {
		keys[i] = fmt.Sprintf("ip:198.51.%d.%d", i/256, i%256)
	}
	var seq atomic.Uint32
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := int(seq.Add(7919))
		for pb.Next() {
			i++
			if _, err := m.Allow(ctx, keys[i&(len(keys)-1)], l, time.Now()); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
