// Package redistest opens the Redis store for tests in any package.
package redistest

import (
	"context"
	"os"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/store/redis"
)

// Open connects with a key prefix of this test's own, removed afterwards. It skips when no
// server is reachable and GATEHOUSE_TEST_REDIS is unset; CI sets it, making the suites that
// use it required.
func Open(t testing.TB) *redis.Client {
	t.Helper()
	url := os.Getenv("GATEHOUSE_TEST_REDIS")
	required := url != ""
	if !required {
		url = "redis://127.0.0.1:6379/0"
	}
	prefix := "gh_test_" + secret.NewID() + ":"
	c, err := redis.Open(context.Background(), url, prefix)
	if err != nil {
		if required {
			t.Fatalf("GATEHOUSE_TEST_REDIS is set but unusable: %v", err)
		}
		t.Skipf("Redis tests skipped: no server at 127.0.0.1:6379 and GATEHOUSE_TEST_REDIS unset (%v)", err)
	}
	t.Cleanup(func() {
		opt, _ := goredis.ParseURL(url)
		r := goredis.NewClient(opt)
		defer r.Close()
		ctx := context.Background()
		if keys, _ := r.Keys(ctx, prefix+"*").Result(); len(keys) > 0 {
			r.Del(ctx, keys...)
		}
		c.Close()
	})
	return c
}
