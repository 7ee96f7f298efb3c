package ratelimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
)

func TestCheckIPSharesThePasswordBucket(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	l, err := ratelimit.NewLimiter(ratelimit.NewMemory(0), ratelimit.Policy{PerIP: ratelimit.Limit{Burst: 3, Per: time.Minute}}, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if d, err := l.CheckIP(ctx, "192.0.2.1"); err != nil || !d.Allowed {
			t.Fatalf("attempt %d: %+v %v", i, d, err)
		}
	}
	if d, err := l.CheckLogin(ctx, "192.0.2.1", "a@example.com"); err != nil || !d.Allowed {
		t.Fatalf("password attempt: %+v %v", d, err)
	}
	d, err := l.CheckIP(ctx, "192.0.2.1")
	if err != nil || d.Allowed || d.Limit != ratelimit.LimitIP || d.RetryAfter <= 0 {
		t.Fatalf("fourth attempt from one IP: %+v %v, want refused by %q", d, err, ratelimit.LimitIP)
	}
	if d, err := l.CheckLogin(ctx, "192.0.2.1", "a@example.com"); err != nil || d.Allowed {
		t.Fatalf("password sign-in after the passkey attempts emptied the bucket: %+v %v", d, err)
	}
	if d, _ := l.CheckIP(ctx, "192.0.2.2"); !d.Allowed {
		t.Fatal("another IP refused")
	}
	if l.Refused(ratelimit.LimitIP) != 2 {
		t.Fatalf("refusals counted: %d", l.Refused(ratelimit.LimitIP))
	}
	now = now.Add(time.Minute)
	if d, _ := l.CheckIP(ctx, "192.0.2.1"); !d.Allowed {
		t.Fatal("bucket did not refill")
	}
}
