package sqlite_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/storetest"
)

func TestEventRetention(t *testing.T) {
	storetest.RunEventRetention(t, func(t *testing.T) storetest.EventStore { return mustOpen(t) })
}

// BenchmarkEventRetention measures one retention batch (audit.RetentionBatch rows), the
// longest the writer is held, on a table of 50,000 old and 50,000 young events.
func BenchmarkEventRetention(b *testing.B) {
	ctx := context.Background()
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	cutoff := now.Add(-audit.DefaultRetention)
	for i := range b.N {
		b.StopTimer()
		db := mustOpen(b)
		for j := range 50_000 {
			for _, at := range []time.Time{cutoff.Add(-time.Duration(j+1) * time.Second), now.Add(-time.Duration(j) * time.Second)} {
				if err := db.AppendEvent(ctx, &audit.Event{Type: audit.LoginFailed, Time: at, IP: "192.0.2.1", UserAgent: fmt.Sprint("ua/", j)}); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.StartTimer()
		start := time.Now()
		var worst time.Duration
		total := 0
		for {
			t0 := time.Now()
			n, err := db.DeleteEventsBefore(ctx, cutoff, audit.RetentionBatch)
			worst = max(worst, time.Since(t0))
			if err != nil {
				b.Fatal(err)
			}
			total += n
			if n < audit.RetentionBatch {
				break
			}
		}
		if total != 50_000 {
			b.Fatalf("deleted %d, want 50000", total)
		}
		if i == b.N-1 {
			el := time.Since(start)
			b.ReportMetric(float64(el.Microseconds())/float64(total/audit.RetentionBatch)/1000, "ms/batch")
			b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms/batch")
			b.ReportMetric(float64(total)/el.Seconds(), "events-deleted/s")
		}
	}
}
