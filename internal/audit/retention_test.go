package audit_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
)

// fakeEvents keeps event times and records every delete call.
type fakeEvents struct {
	times  []time.Time
	calls  []int // rows deleted per call
	cutoff time.Time
	failAt int // call number (1-based) that fails; 0: never
}

func (f *fakeEvents) DeleteEventsBefore(_ context.Context, cutoff time.Time, limit int) (int, error) {
	f.cutoff = cutoff
	if f.failAt == len(f.calls)+1 {
		f.calls = append(f.calls, 0)
		return 0, errors.New("disk full")
	}
	n := 0
	f.times = slices.DeleteFunc(f.times, func(t time.Time) bool {
		if n < limit && t.Before(cutoff) {
			n++
			return true
		}
		return false
	})
	f.calls = append(f.calls, n)
	return n, nil
}

func TestRetentionRun(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	old, young := now.Add(-91*24*time.Hour), now.Add(-89*24*time.Hour)
	tests := []struct {
		name      string
		old       int
		batch     int
		failAt    int
		wantCalls []int
		wantErr   bool
	}{
		{"nothing to delete", 0, 3, 0, []int{0}, false},
		{"one short batch", 2, 3, 0, []int{2}, false},
		{"exact batches end with an empty one", 6, 3, 0, []int{3, 3, 0}, false},
		{"several batches", 7, 3, 0, []int{3, 3, 1}, false},
		{"a failing batch stops the run", 7, 3, 2, []int{3, 0}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeEvents{failAt: tt.failAt}
			for range tt.old {
				f.times = append(f.times, old)
			}
			f.times = append(f.times, young, now)
			n, err := audit.NewRetention(f, audit.DefaultRetention, tt.batch, func() time.Time { return now }).Run(context.Background())
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if !slices.Equal(f.calls, tt.wantCalls) {
				t.Fatalf("batches = %v, want %v", f.calls, tt.wantCalls)
			}
			if want := sum(tt.wantCalls); n != want {
				t.Fatalf("deleted = %d, want %d", n, want)
			}
			if !f.cutoff.Equal(now.Add(-audit.DefaultRetention)) {
				t.Fatalf("cutoff = %v", f.cutoff)
			}
			if !tt.wantErr && len(f.times) != 2 {
				t.Fatalf("%d events left, want the 2 young ones", len(f.times))
			}
		})
	}
}

func TestRetentionStopsWithContext(t *testing.T) {
	f := &fakeEvents{}
	for range 10 {
		f.times = append(f.times, time.Unix(0, 0))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n, err := audit.NewRetention(f, time.Hour, 2, time.Now).Run(ctx)
	if !errors.Is(err, context.Canceled) || n != 2 {
		t.Fatalf("Run on a cancelled context: %d, %v; want one batch then context.Canceled", n, err)
	}
}

func sum(xs []int) int {
	s := 0
	for _, x := range xs {
		s += x
	}
	return s
}
