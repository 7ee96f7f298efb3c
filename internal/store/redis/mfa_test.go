package redis_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/mfa"
	"github.com/gatehouse-auth/gatehouse/internal/mfa/mfatest"
	"github.com/gatehouse-auth/gatehouse/internal/store/redis"
)

func TestUsedCodesConformance(t *testing.T) {
	mfatest.RunUsedCodes(t, func(t *testing.T) mfa.UsedCodes { return mustOpen(t) }, false)
}

// TestUsedCodesAcrossInstances marks a code through one client and presents it through a
// second one with the same prefix (two instances sharing Redis): the second is a replay.
func TestUsedCodesAcrossInstances(t *testing.T) {
	a := mustOpen(t)
	url := os.Getenv("GATEHOUSE_TEST_REDIS")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	b, err := redis.Open(context.Background(), url, a.Prefix())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	now := time.Now()
	if first, err := a.MarkUsed(ctx, "totp:f:1", now, now.Add(time.Minute)); err != nil || !first {
		t.Fatalf("instance a: first=%v %v", first, err)
	}
	if first, err := b.MarkUsed(ctx, "totp:f:1", now, now.Add(time.Minute)); err != nil || first {
		t.Fatalf("instance b accepted a code used on a: first=%v %v", first, err)
	}
}
