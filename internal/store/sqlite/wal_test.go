package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

// walWorkload is a database with one user and one session, and the write a workload repeats.
type walWorkload struct {
	db      *DB
	session string
	write   func(ctx context.Context, i int) error
}

var walWrites = map[string]func(w *walWorkload) func(ctx context.Context, i int) error{
	// Refresh rotation: an UPDATE … RETURNING per request, the traffic that grew the WAL
	// to 182 MB.
	"refresh": func(w *walWorkload) func(ctx context.Context, i int) error {
		return func(ctx context.Context, i int) error {
			_, _, err := w.db.AdvanceRefresh(ctx, w.session, int64(i+1), time.Now())
			return err
		}
	},
	// Refused sign-ins: an INSERT … RETURNING into events per request.
	"events": func(w *walWorkload) func(ctx context.Context, i int) error {
		return func(ctx context.Context, i int) error {
			return w.db.AppendEvent(ctx, &audit.Event{Type: audit.LoginFailed, Time: time.Now(), IP: "192.0.2.1", Reason: "rate_limited"})
		}
	},
}

func mustWALWorkload(tb testing.TB, kind string) *walWorkload {
	tb.Helper()
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(tb.TempDir(), "g.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	now := time.Now()
	u := &users.User{ID: secret.NewID(), Email: "wal@example.com", CreatedAt: now, UpdatedAt: now}
	if err := db.CreateUser(ctx, u); err != nil {
		tb.Fatal(err)
	}
	s := &sessions.Session{ID: secret.NewID(), UserID: u.ID, SecretHash: secret.Hash(secret.NewToken()),
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour), Refresh: sessions.RefreshState{Gen: 1}}
	if err := db.CreateSession(ctx, s); err != nil {
		tb.Fatal(err)
	}
	w := &walWorkload{db: db, session: s.ID}
	w.write = walWrites[kind](w)
	return w
}

// readWhile runs n readers that look the session up without pause until stop is closed.
func (w *walWorkload) readWhile(n int, stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				w.db.SessionByID(context.Background(), w.session)
				w.db.TokenRevoked(context.Background(), "jti", time.Now())
			}
		})
	}
	return &wg
}

func (w *walWorkload) walSize(tb testing.TB) int64 {
	tb.Helper()
	fi, err := os.Stat(w.db.path + "-wal")
	if err != nil {
		tb.Fatal(err)
	}
	return fi.Size()
}

// TestWALBounded drives writes through the store and checks that the WAL never passes a
// bound: without readers the automatic checkpoint alone must keep it near 4 MiB; with readers
// overlapping without pause (which starve that checkpoint), the forced one must. Before writes
// finished their statements, every case failed (2,000 refreshes left an 8 MB WAL, 1,000 events
// a 17 MB one) and the database file was never written.
func TestWALBounded(t *testing.T) {
	tests := []struct {
		name    string
		kind    string
		writes  int
		readers int
		limit   int64 // forced-checkpoint threshold
		bound   int64
	}{
		// No forced checkpoint: the automatic one (1000 pages) must do it.
		{"refresh/autocheckpoint", "refresh", 2000, 0, 1 << 40, 5 << 20},
		{"events/autocheckpoint", "events", 1000, 0, 1 << 40, 5 << 20},
		// Forced checkpoints: the bound leaves room for a few that readers keep from finishing.
		{"refresh/readers", "refresh", 1000, 2, 512 << 10, 2 << 20},
		{"events/readers", "events", 1000, 2, 1 << 20, 6 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := mustWALWorkload(t, tt.kind)
			w.db.wal.limit = tt.limit
			stop := make(chan struct{})
			wg := w.readWhile(tt.readers, stop)
			defer wg.Wait()
			defer close(stop)
			var peak int64
			ctx := context.Background()
			for i := range tt.writes {
				if err := w.write(ctx, i); err != nil {
					t.Fatalf("write %d: %v", i, err)
				}
				if i%100 == 0 {
					peak = max(peak, w.walSize(t))
				}
			}
			peak = max(peak, w.walSize(t))
			if peak > tt.bound {
				t.Fatalf("WAL reached %d bytes after %d writes, want at most %d", peak, tt.writes, tt.bound)
			}
			fi, err := os.Stat(w.db.path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Size() <= 4096 {
				t.Fatalf("database file is %d bytes: nothing was ever checkpointed", fi.Size())
			}
		})
	}
}

// TestCheckpointTruncates checks that Checkpoint empties the WAL.
func TestCheckpointTruncates(t *testing.T) {
	w := mustWALWorkload(t, "events")
	ctx := context.Background()
	for i := range 200 {
		if err := w.write(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
	if w.walSize(t) == 0 {
		t.Fatal("WAL empty before the checkpoint; the test proves nothing")
	}
	if err := w.db.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if n := w.walSize(t); n != 0 {
		t.Fatalf("WAL is %d bytes after Checkpoint, want 0", n)
	}
	evs, err := w.db.ListEvents(ctx, audit.Filter{Limit: 1000})
	if err != nil || len(evs) != 200 {
		t.Fatalf("after checkpoint: %d events, %v", len(evs), err)
	}
}

// BenchmarkRefreshWAL reports the WAL's size after b.N refresh rotations with four readers
// overlapping them (go test -run - -bench RefreshWAL -benchtime 100000x).
func BenchmarkRefreshWAL(b *testing.B) {
	for _, kind := range []string{"refresh", "events"} {
		b.Run(kind, func(b *testing.B) {
			w := mustWALWorkload(b, kind)
			stop := make(chan struct{})
			wg := w.readWhile(4, stop)
			ctx := context.Background()
			var peak int64
			b.ResetTimer()
			for i := range b.N {
				if err := w.write(ctx, i); err != nil {
					b.Fatal(err)
				}
				if i%1000 == 0 {
					peak = max(peak, w.walSize(b))
				}
			}
			b.StopTimer()
			close(stop)
			wg.Wait()
			b.ReportMetric(float64(max(peak, w.walSize(b)))/(1<<20), "peak-wal-MiB")
			b.ReportMetric(float64(w.walSize(b))/(1<<20), "end-wal-MiB")
		})
	}
}
