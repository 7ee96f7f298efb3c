package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
)

// BenchmarkAppendEventParallel measures audit writes from many goroutines: inserts into the
// events table commit one at a time (migrations/0003_feed.sql), so this is the ceiling on
// events per second for the whole cluster.
func BenchmarkAppendEventParallel(b *testing.B) {
	db := mustOpen(b)
	ctx := context.Background()
	now := time.Now()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := db.AppendEvent(ctx, &audit.Event{Type: audit.LoginFailed, Time: now, UserID: "u"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
