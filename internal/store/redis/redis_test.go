package redis_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/onetime"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/redis"
	"github.com/gatehouse-auth/gatehouse/internal/store/redis/redistest"
	"github.com/gatehouse-auth/gatehouse/internal/storetest"
)

// mustOpen opens the Redis store with a key prefix of this test's own (redistest.Open).
func mustOpen(t *testing.T) *redis.Client { return redistest.Open(t) }

// TestGCRAMatchesMemory drives the Redis buckets and the in-memory ones through the same
// sequence of requests on a moving clock: every answer must agree.
func TestGCRAMatchesMemory(t *testing.T) {
	c := mustOpen(t)
	mem := ratelimit.NewMemory(0)
	ctx := context.Background()
	l := ratelimit.Limit{Burst: 3, Per: 10 * time.Second}
	now := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	steps := []time.Duration{0, 0, 0, 0, 0, 5 * time.Second, 5 * time.Second, 0, 30 * time.Second, 0, 0, 0, 0, 1 * time.Second}
	for i, d := range steps {
		now = now.Add(d)
		for _, op := range []string{"peek", "allow"} {
			var a, b ratelimit.Result
			var ea, eb error
			if op == "peek" {
				a, ea = c.Peek(ctx, "k", l, now)
				b, eb = mem.Peek(ctx, "k", l, now)
			} else {
				a, ea = c.Allow(ctx, "k", l, now)
				b, eb = mem.Allow(ctx, "k", l, now)
			}
			if ea != nil || eb != nil {
				t.Fatalf("step %d %s: %v / %v", i, op, ea, eb)
			}
			if a != b {
				t.Fatalf("step %d %s: redis %+v, memory %+v", i, op, a, b)
			}
		}
	}
	if err := c.Reset(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if r, _ := c.Allow(ctx, "k", l, now); !r.Allowed || r.Remaining != 2 {
		t.Fatalf("after reset: %+v", r)
	}
}

// TestSharedAcrossInstances: two clients (two instances) share one bucket.
func TestSharedAcrossInstances(t *testing.T) {
	a := mustOpen(t)
	ctx := context.Background()
	l := ratelimit.Limit{Burst: 2, Per: time.Hour}
	now := time.Now()
	a.Allow(ctx, "shared", l, now)
	a.Allow(ctx, "shared", l, now)
	if r, _ := a.Allow(ctx, "shared", l, now); r.Allowed || r.RetryAfter <= 0 {
		t.Fatalf("third request allowed: %+v", r)
	}
}

func TestAnnounceReachesListeners(t *testing.T) {
	c := mustOpen(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan struct{}, 4)
	for range 2 {
		go c.Listen(ctx, func() { got <- struct{}{} })
	}
	time.Sleep(100 * time.Millisecond) // let the subscriptions register
	if err := c.Announce(ctx); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case <-got:
		case <-time.After(2 * time.Second):
			t.Fatal("a listener missed the announcement")
		}
	}
}

// TestFallbackWhenRedisDown: a dead Redis degrades the limits to per-instance memory — never
// an open gate, never an error.
func TestFallbackWhenRedisDown(t *testing.T) {
	c := mustOpen(t)
	c.Close() // as good as down
	var failures int
	f := &ratelimit.Fallback{Primary: c, Local: ratelimit.NewMemory(0), OnError: func(err error) {
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("primary error not marked unavailable: %v", err)
		}
		failures++
	}}
	ctx := context.Background()
	l := ratelimit.Limit{Burst: 1, Per: time.Hour}
	now := time.Now()
	if r, err := f.Allow(ctx, "k", l, now); err != nil || !r.Allowed {
		t.Fatalf("first: %+v %v", r, err)
	}
	if r, err := f.Allow(ctx, "k", l, now); err != nil || r.Allowed {
		t.Fatalf("second must be refused by the local fallback: %+v %v", r, err)
	}
	if failures != 1 {
		t.Fatalf("%d failures reported; want 1 (the breaker skips Redis after the first)", failures)
	}
}

func TestOneTimeConformance(t *testing.T) {
	storetest.RunOneTime(t, func(t *testing.T) onetime.Store { return mustOpen(t) })
}
