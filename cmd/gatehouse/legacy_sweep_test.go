package main

import (
	"context"
	"os"
	"testing"
	"time"
)

// TestSweepDeletesExpiredLegacyMarks wires the server's components on SQLite and checks that
// the periodic sweep deletes the replay marks of exchanged legacy tokens once those tokens
// have expired, and keeps the others (which still refuse a second exchange).
func TestSweepDeletesExpiredLegacyMarks(t *testing.T) {
	ctx := context.Background()
	cfg := defaultConfig()
	cfg.DataDir = t.TempDir()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a, err := open(ctx, cfg, newLogger(os.Stderr, "error"))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	now := time.Now()
	for _, m := range []struct {
		key string
		exp time.Time
	}{{"gone1", now.Add(-time.Hour)}, {"gone2", now.Add(-time.Second)}, {"live", now.Add(time.Hour)}} {
		if ok, err := a.db.MarkLegacyToken(ctx, m.key, m.exp, now.Add(-2*time.Hour)); !ok || err != nil {
			t.Fatal(ok, err)
		}
	}
	sweep(ctx, a)
	if n, err := a.db.DeleteExpiredLegacyMarks(ctx, time.Now(), 10); n != 0 || err != nil {
		t.Fatalf("%d expired marks left after the sweep (%v); want 0", n, err)
	}
	if ok, err := a.db.MarkLegacyToken(ctx, "live", now.Add(time.Hour), time.Now()); ok || err != nil {
		t.Fatalf("the mark of a token not yet expired was swept: %v %v", ok, err)
	}
}
