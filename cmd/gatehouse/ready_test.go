package main

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"path/filepath"
	"testing"
	"time"
)

func TestReadinessCachesForASecond(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	full := errors.New("disk full")
	var calls int
	var result error
	r := newReadiness(func(context.Context) error { calls++; return result }, time.Second, func() time.Time { return now })
	steps := []struct {
		name      string
		advance   time.Duration
		result    error
		want      error
		wantCalls int
	}{
		{"first probe runs", 0, nil, nil, 1},
		{"within a second: cached", 999 * time.Millisecond, full, nil, 1},
		{"after a second: probes again and sees the failure", time.Millisecond, full, full, 2},
		{"failure cached too", 500 * time.Millisecond, nil, full, 2},
		{"recovers on the next probe", 500 * time.Millisecond, nil, nil, 3},
		{"clock going back: probes again", -time.Hour, nil, nil, 4},
	}
	for _, s := range steps {
		now = now.Add(s.advance)
		result = s.result
		if err := r.Ready(context.Background()); !errors.Is(err, s.want) || (s.want == nil && err != nil) {
			t.Fatalf("%s: Ready = %v, want %v", s.name, err, s.want)
		}
		if calls != s.wantCalls {
			t.Fatalf("%s: %d probes, want %d", s.name, calls, s.wantCalls)
		}
	}
}

func TestReadinessForgetsCancelledProbes(t *testing.T) {
	now := time.Now()
	var calls int
	r := newReadiness(func(ctx context.Context) error { calls++; return ctx.Err() }, time.Second, func() time.Time { return now })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.Ready(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled probe: %v", err)
	}
	if err := r.Ready(context.Background()); err != nil || calls != 2 {
		t.Fatalf("after a cancelled probe: %v after %d probes, want a fresh successful one", err, calls)
	}
}

// TestReadyzNeedsAWritableStore starts the server on SQLite and has another process's
// connection hold the database's write lock: reads still work (a ping succeeds), but nothing
// can be written, and /readyz must say so, then recover once the lock is released.
func TestReadyzNeedsAWritableStore(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir, nil)
	defer s.stop()

	other, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := context.Background()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	res, m := get(t, http.DefaultClient, s.url+"/readyz")
	if res.StatusCode != http.StatusServiceUnavailable || m["error"] != "temporarily_unavailable" {
		t.Fatalf("readyz while the database cannot be written: %d %v", res.StatusCode, m)
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if res, m := get(t, http.DefaultClient, s.url+"/readyz"); res.StatusCode != http.StatusOK {
		t.Fatalf("readyz once writable again: %d %v", res.StatusCode, m)
	}
	var beat []byte
	if err := conn.QueryRowContext(ctx, "SELECT value FROM settings WHERE name = 'ready_heartbeat'").Scan(&beat); err != nil {
		t.Fatalf("the readiness probe wrote nothing: %v", err)
	}
}
