package sessions_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/sessions"
)

var testRefreshKey = []byte("0123456789abcdef0123456789abcdef")

func newRefreshFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t, sessions.Config{IdleTimeout: time.Hour, AbsoluteTimeout: 24 * time.Hour})
	f.m.WithRefresh(testRefreshKey, 30*time.Second)
	return f
}

func (f *fixture) mustCreateRefresh(t *testing.T) (*sessions.Session, string) {
	t.Helper()
	s, _, rt, err := f.m.CreateWithRefresh(context.Background(), f.user, sessions.Meta{AMR: []string{"pwd"}})
	if err != nil {
		t.Fatal(err)
	}
	return s, string(rt)
}

func (f *fixture) mustRefresh(t *testing.T, tok string, want sessions.RefreshOutcome) string {
	t.Helper()
	_, next, out, err := f.m.Refresh(context.Background(), tok)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if out != want {
		t.Fatalf("outcome %d, want %d", out, want)
	}
	return string(next)
}

func TestRefreshRotates(t *testing.T) {
	f := newRefreshFixture(t)
	_, r1 := f.mustCreateRefresh(t)
	if !strings.HasPrefix(r1, sessions.RefreshTokenPrefix) {
		t.Fatalf("token %q lacks prefix", r1)
	}
	r2 := f.mustRefresh(t, r1, sessions.Rotated)
	f.clock.Add(time.Minute)
	r3 := f.mustRefresh(t, r2, sessions.Rotated)
	if r1 == r2 || r2 == r3 {
		t.Fatal("rotation returned the same token")
	}
}

func TestRefreshGraceIsIdempotent(t *testing.T) {
	f := newRefreshFixture(t)
	_, r1 := f.mustCreateRefresh(t)
	r2 := f.mustRefresh(t, r1, sessions.Rotated)
	f.clock.Add(29 * time.Second)
	// A second tab (or a retry after a lost response) presents r1 again: same successor.
	if again := f.mustRefresh(t, r1, sessions.Replayed); again != r2 {
		t.Fatal("replay within grace produced a second branch")
	}
	f.mustRefresh(t, r2, sessions.Rotated) // and the successor still works
}

func TestRefreshReuseAfterGraceRevokes(t *testing.T) {
	f := newRefreshFixture(t)
	s, r1 := f.mustCreateRefresh(t)
	r2 := f.mustRefresh(t, r1, sessions.Rotated)
	f.clock.Add(31 * time.Second)
	if _, _, _, err := f.m.Refresh(context.Background(), r1); !errors.Is(err, sessions.ErrRefreshReused) {
		t.Fatalf("reuse after grace: %v", err)
	}
	if _, err := f.db.SessionByID(context.Background(), s.ID); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatal("session survived refresh-token reuse")
	}
	if _, _, _, err := f.m.Refresh(context.Background(), r2); !errors.Is(err, sessions.ErrInvalid) {
		t.Fatalf("newest token after reuse: %v", err)
	}
}

func TestRefreshTwoGenerationsOldRevokes(t *testing.T) {
	f := newRefreshFixture(t)
	_, r1 := f.mustCreateRefresh(t)
	r2 := f.mustRefresh(t, r1, sessions.Rotated)
	r3 := f.mustRefresh(t, r2, sessions.Rotated) // within grace of r1's rotation, still too old
	if _, _, _, err := f.m.Refresh(context.Background(), r1); !errors.Is(err, sessions.ErrRefreshReused) {
		t.Fatalf("two generations old: %v", err)
	}
	if _, _, _, err := f.m.Refresh(context.Background(), r3); !errors.Is(err, sessions.ErrInvalid) || errors.Is(err, sessions.ErrRefreshReused) {
		t.Fatalf("newest token after theft detection must be plainly invalid: %v", err)
	}
}

func TestRefreshForgeryDoesNotRevoke(t *testing.T) {
	f := newRefreshFixture(t)
	s, r1 := f.mustCreateRefresh(t)
	id, _, _, _ := sessions.ParseRefreshToken(r1)
	other := sessions.NewManager(f.db, sessions.Config{}, f.clock.Now).WithRefresh([]byte("another key, not the server's!!!"), 0)
	forged := mustCreateWith(t, other, f.user)
	for name, tok := range map[string]string{
		"other key":      sessions.RefreshTokenPrefix + id + "." + "1" + "." + strings.Split(forged, ".")[2],
		"next gen":       sessions.RefreshTokenPrefix + id + ".2." + strings.Split(r1, ".")[2],
		"no prefix":      strings.TrimPrefix(r1, sessions.RefreshTokenPrefix),
		"leading zero":   sessions.RefreshTokenPrefix + id + ".01." + strings.Split(r1, ".")[2],
		"negative":       sessions.RefreshTokenPrefix + id + ".-1." + strings.Split(r1, ".")[2],
		"garbage":        "ghr_garbage",
		"session cookie": s.ID + "." + strings.Repeat("A", 43),
	} {
		if _, _, _, err := f.m.Refresh(context.Background(), tok); !errors.Is(err, sessions.ErrInvalid) || errors.Is(err, sessions.ErrRefreshReused) {
			t.Errorf("%s: err = %v, want plain ErrInvalid", name, err)
		}
	}
	f.mustRefresh(t, r1, sessions.Rotated) // nothing above harmed the real session
}

func mustCreateWith(t *testing.T, m *sessions.Manager, user string) string {
	t.Helper()
	_, _, rt, err := m.CreateWithRefresh(context.Background(), user, sessions.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	return string(rt)
}

func TestRefreshHonoursSessionExpiry(t *testing.T) {
	f := newRefreshFixture(t) // idle 1h
	_, r1 := f.mustCreateRefresh(t)
	f.clock.Add(61 * time.Minute)
	if _, _, _, err := f.m.Refresh(context.Background(), r1); !errors.Is(err, sessions.ErrInvalid) {
		t.Fatalf("refresh of an idle-expired session: %v", err)
	}
}

// TestRefreshConcurrent: ten refreshes with one token, released together, all succeed and
// all receive the same successor.
func TestRefreshConcurrent(t *testing.T) {
	f := newRefreshFixture(t)
	_, r1 := f.mustCreateRefresh(t)
	const n = 10
	var wg sync.WaitGroup
	start := make(chan struct{})
	got := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, next, _, err := f.m.Refresh(context.Background(), r1)
			got[i], errs[i] = string(next), err
		}()
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("refresh %d: %v", i, errs[i])
		}
		if got[i] != got[0] {
			t.Fatalf("refresh %d got a different successor", i)
		}
	}
	f.mustRefresh(t, got[0], sessions.Rotated)
}

func FuzzParseRefreshToken(f *testing.F) {
	f.Add("ghr_aaaaaaaaaaaaaaaaaaaaaaaaaa.1." + strings.Repeat("A", 43))
	f.Add("ghr_..")
	f.Fuzz(func(t *testing.T, tok string) {
		id, gen, mac, ok := sessions.ParseRefreshToken(tok)
		if ok && (gen < 1 || len(mac) != 32 || len(id) != 26) {
			t.Fatalf("accepted malformed %q", tok)
		}
	})
}

// TestRefreshStaleCacheIsNotReuse: instance B has the session cached at generation 1 when
// instance A rotates it to 2. B, handed generation 2, must rotate it (confirming on the stored
// row), not take it for reuse and revoke the session.
func TestRefreshStaleCacheIsNotReuse(t *testing.T) {
	f := newRefreshFixture(t)
	a := f.m
	b := sessions.NewManager(f.db, sessions.Config{IdleTimeout: time.Hour, AbsoluteTimeout: 24 * time.Hour}, f.clock.Now).
		WithRefresh(testRefreshKey, 30*time.Second)
	ctx := context.Background()
	s, r1 := f.mustCreateRefresh(t)
	if _, err := b.Get(ctx, s.ID); err != nil { // B caches generation 1
		t.Fatal(err)
	}
	_, r2, _, err := a.Refresh(ctx, r1) // A: 1 → 2
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Add(time.Minute) // past the grace: only a stored-row check can save r2 on B
	_, r3, out, err := b.Refresh(ctx, string(r2))
	if err != nil || out != sessions.Rotated {
		t.Fatalf("B with a stale cache: %v (outcome %d)", err, out)
	}
	// And real reuse is still caught through a stale cache.
	if _, err := b.Get(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := a.Refresh(ctx, string(r3)); err != nil { // 3 → 4 on A
		t.Fatal(err)
	}
	f.clock.Add(time.Minute)
	if _, _, _, err := b.Refresh(ctx, string(r2)); !errors.Is(err, sessions.ErrRefreshReused) {
		t.Fatalf("reuse through a stale cache: %v", err)
	}
}
