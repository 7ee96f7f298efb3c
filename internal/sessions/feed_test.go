package sessions_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/clock"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

// countingStore is a real SQLite store that counts the log reads the feed is meant to spare,
// and can be made to fail them.
type countingStore struct {
	*sqlite.DB
	after, revoked atomic.Int64
	down           atomic.Bool
}

var errDown = errors.New("store down")

func (s *countingStore) RevocationsAfter(ctx context.Context, cursor int64, now time.Time, limit int) ([]sessions.Revocation, error) {
	s.after.Add(1)
	if s.down.Load() {
		return nil, errDown
	}
	return s.DB.RevocationsAfter(ctx, cursor, now, limit)
}

func (s *countingStore) TokenRevoked(ctx context.Context, jti string, now time.Time) (bool, error) {
	s.revoked.Add(1)
	if s.down.Load() {
		return false, errDown
	}
	return s.DB.TokenRevoked(ctx, jti, now)
}

type feedFixture struct {
	db    *countingStore
	m     *sessions.Manager // follows the log (loadFeed/pullFeed are driven by the test)
	other *sessions.Manager // another instance on the same database
	clock *clock.Fake
	user  string
}

const testInterval = 250 * time.Millisecond

func newFeedFixture(t testing.TB) *feedFixture {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c := clock.NewFake(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	u := &users.User{ID: secret.NewID(), Email: "a@example.com", CreatedAt: c.Now(), UpdatedAt: c.Now()}
	if err := db.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	cs := &countingStore{DB: db}
	m := sessions.NewManager(cs, sessions.Config{}, c.Now)
	m.SetFeedStaleAfter(2*testInterval + sessions.FeedSlack)
	return &feedFixture{db: cs, m: m, other: sessions.NewManager(db, sessions.Config{}, c.Now), clock: c, user: u.ID}
}

func (f *feedFixture) mustSession(t testing.TB, m *sessions.Manager) *sessions.Session {
	t.Helper()
	s, _, err := m.Create(context.Background(), f.user, sessions.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustLoad(t *testing.T, m *sessions.Manager) {
	t.Helper()
	if err := m.LoadFeed(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestFeedFanOutReadsTheStoreOnce: once a revocation made here has been written, the streams
// that wake up for it are answered from memory, however many there are.
func TestFeedFanOutReadsTheStoreOnce(t *testing.T) {
	f := newFeedFixture(t)
	ctx := context.Background()
	old := f.mustSession(t, f.other)
	if err := f.other.Revoke(ctx, old.ID); err != nil { // an entry from before this instance started
		t.Fatal(err)
	}
	mustLoad(t, f.m)
	s := f.mustSession(t, f.m)
	before, err := f.m.RevocationsAfter(ctx, 0, 1000)
	if err != nil || len(before) != 1 || before[0].SessionID != old.ID {
		t.Fatalf("RevocationsAfter(0) = %+v, %v; want the entry of %s", before, err, old.ID)
	}
	cursor := before[0].Cursor
	if err := f.m.Revoke(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	reads := f.db.after.Load()
	for range 200 { // 200 SSE streams wake up and read from their cursor
		list, err := f.m.RevocationsAfter(ctx, cursor, 1000)
		if err != nil || len(list) != 1 || list[0].SessionID != s.ID || list[0].Cursor <= cursor {
			t.Fatalf("RevocationsAfter(%d) = %+v, %v; want the entry of %s", cursor, list, err, s.ID)
		}
	}
	if n := f.db.after.Load() - reads; n != 0 {
		t.Fatalf("200 readers within the tail made %d store reads, want 0", n)
	}
	// A cursor ahead of what this instance has read (another instance is further along) is
	// answered by the store.
	list, _ := f.m.RevocationsAfter(ctx, 0, 1000)
	last := list[len(list)-1].Cursor
	if _, err := f.m.RevocationsAfter(ctx, last+100, 1000); err != nil || f.db.after.Load() != reads+1 {
		t.Fatalf("a cursor beyond the tail must go to the store (reads %d → %d)", reads, f.db.after.Load())
	}
	// Limit and expiry apply as in the store.
	if list, _ := f.m.RevocationsAfter(ctx, 0, 1); len(list) != 1 || list[0].SessionID != old.ID {
		t.Fatalf("limit 1 = %+v", list)
	}
	f.clock.Add(f.m.Config().RevocationRetention + time.Second)
	if _, err := f.m.PullFeed(ctx); err != nil {
		t.Fatal(err)
	}
	if list, _ := f.m.RevocationsAfter(ctx, 0, 1000); len(list) != 0 {
		t.Fatalf("expired entries served from memory: %+v", list)
	}
}

// TestFeedFollowsOtherInstances: entries another instance writes reach this one's copy by the
// next read, in cursor order, and the tail and the store agree.
func TestFeedFollowsOtherInstances(t *testing.T) {
	f := newFeedFixture(t)
	ctx := context.Background()
	mustLoad(t, f.m)
	var want []string
	for range 5 {
		s := f.mustSession(t, f.other)
		if err := f.other.Revoke(ctx, s.ID); err != nil {
			t.Fatal(err)
		}
		want = append(want, s.ID)
	}
	if err := f.other.RevokeTokenID(ctx, "jti-x", "", f.user, f.clock.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	want = append(want, "jti-x")
	if n, err := f.m.PullFeed(ctx); err != nil || n != 6 {
		t.Fatalf("pullFeed = %d, %v; want 6", n, err)
	}
	mem, err := f.m.RevocationsAfter(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := f.db.DB.RevocationsAfter(ctx, 0, f.clock.Now(), 1000)
	if len(mem) != len(want) || len(stored) != len(want) {
		t.Fatalf("memory %d entries, store %d, want %d", len(mem), len(stored), len(want))
	}
	for i := range mem {
		if mem[i] != stored[i] || mem[i].SessionID+mem[i].TokenID != want[i] {
			t.Fatalf("entry %d: memory %+v, store %+v, want %s", i, mem[i], stored[i], want[i])
		}
	}
	if r, err := f.m.IsRevoked(ctx, "jti-x"); err != nil || !r {
		t.Fatalf("IsRevoked(jti revoked elsewhere) = %v, %v", r, err)
	}
}

// TestIsRevokedFromMemoryFailsClosed: while the copy is fresh the bearer check costs no store
// read; once it is stale (no successful read for 2×interval + slack, or a failed read) the
// check goes to the store, and fails with it.
func TestIsRevokedFromMemoryFailsClosed(t *testing.T) {
	f := newFeedFixture(t)
	ctx := context.Background()
	if r, err := f.m.IsRevoked(ctx, "jti-1"); err != nil || r || f.db.revoked.Load() != 1 {
		t.Fatalf("before the log is loaded: IsRevoked = %v, %v after %d store reads; want the store", r, err, f.db.revoked.Load())
	}
	mustLoad(t, f.m)
	s := f.mustSession(t, f.m)
	if err := f.m.RevokeTokenID(ctx, "jti-1", s.ID, f.user, f.clock.Now().Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	f.db.revoked.Store(0)
	for _, tc := range []struct {
		jti  string
		want bool
	}{{"jti-1", true}, {"jti-2", false}} {
		if r, err := f.m.IsRevoked(ctx, tc.jti); err != nil || r != tc.want {
			t.Fatalf("IsRevoked(%s) = %v, %v; want %v", tc.jti, r, err, tc.want)
		}
	}
	if n := f.db.revoked.Load(); n != 0 {
		t.Fatalf("fresh copy: %d store reads, want 0", n)
	}

	// Stale by time: the follower has not read for longer than 2×interval + slack.
	f.clock.Add(2*testInterval + sessions.FeedSlack + time.Millisecond)
	f.db.down.Store(true)
	if _, err := f.m.IsRevoked(ctx, "jti-2"); !errors.Is(err, errDown) {
		t.Fatalf("stale copy, store down: IsRevoked err = %v, want the store's error", err)
	}
	if _, err := f.m.RevocationsAfter(ctx, 0, 10); !errors.Is(err, errDown) {
		t.Fatalf("stale copy, store down: RevocationsAfter err = %v, want the store's error", err)
	}
	// Stale by failure: a read that fails makes the copy stale at once.
	f.db.down.Store(false)
	if _, err := f.m.PullFeed(ctx); err != nil {
		t.Fatal(err)
	}
	f.db.revoked.Store(0)
	if r, err := f.m.IsRevoked(ctx, "jti-1"); err != nil || !r || f.db.revoked.Load() != 0 {
		t.Fatalf("fresh again: IsRevoked = %v, %v after %d store reads", r, err, f.db.revoked.Load())
	}
	f.db.down.Store(true)
	if _, err := f.m.PullFeed(ctx); !errors.Is(err, errDown) {
		t.Fatalf("pullFeed err = %v", err)
	}
	if _, err := f.m.IsRevoked(ctx, "jti-1"); !errors.Is(err, errDown) {
		t.Fatalf("after a failed read: IsRevoked err = %v, want the store's error", err)
	}
	// The revocation itself expires with the token.
	f.db.down.Store(false)
	f.clock.Add(10 * time.Minute)
	if _, err := f.m.PullFeed(ctx); err != nil {
		t.Fatal(err)
	}
	if r, err := f.m.IsRevoked(ctx, "jti-1"); err != nil || r {
		t.Fatalf("after the token's expiry: IsRevoked = %v, %v", r, err)
	}
}

// TestRevokeTokenIDIsIdempotent: revoking the same access token again and again makes one
// entry; revoking a token whose session has ended makes none (the session's entry covers it).
func TestRevokeTokenIDIsIdempotent(t *testing.T) {
	for _, follow := range []bool{false, true} {
		f := newFeedFixture(t)
		ctx := context.Background()
		if follow {
			mustLoad(t, f.m)
		}
		s := f.mustSession(t, f.m)
		until := f.clock.Now().Add(10 * time.Minute)
		for range 100 {
			if err := f.m.RevokeTokenID(ctx, "jti-1", s.ID, f.user, until); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.m.Revoke(ctx, s.ID); err != nil {
			t.Fatal(err)
		}
		for range 100 {
			if err := f.m.RevokeTokenID(ctx, "jti-2", s.ID, f.user, until); err != nil {
				t.Fatal(err)
			}
		}
		list, err := f.db.DB.RevocationsAfter(ctx, 0, f.clock.Now(), 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].TokenID != "jti-1" || list[1].SessionID != s.ID {
			t.Fatalf("follow=%v: log = %+v; want one entry for jti-1 and one for the session", follow, list)
		}
	}
}

// TestFeedTailIsBounded: a long log keeps only a bounded tail in memory; older cursors are
// answered by the store, and nothing is lost at the seam.
func TestFeedTailIsBounded(t *testing.T) {
	f := newFeedFixture(t)
	ctx := context.Background()
	const maxTail = 100
	f.m.SetFeedMaxTail(maxTail)
	mustLoad(t, f.m)
	until := f.clock.Now().Add(time.Hour)
	n := 3*maxTail + 10
	for i := range n {
		if _, err := f.db.DB.RevokeTokenID(ctx, sessions.Revocation{TokenID: secret.NewID(), Until: until}, ""); err != nil {
			t.Fatal(err)
		}
		if i%40 == 0 {
			if _, err := f.m.PullFeed(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := f.m.PullFeed(ctx); err != nil {
		t.Fatal(err)
	}
	if from, size := f.m.FeedTail(); size > maxTail || from == 0 {
		t.Fatalf("tail of %d entries from %d; want at most %d", size, from, maxTail)
	}
	var got int
	var cursor int64
	for {
		page, err := f.m.RevocationsAfter(ctx, cursor, 30)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			if e.Cursor <= cursor {
				t.Fatal("cursor went back")
			}
			cursor = e.Cursor
		}
		got += len(page)
		if len(page) < 30 {
			break
		}
	}
	if got != n {
		t.Fatalf("paged through %d entries, want %d", got, n)
	}
}

var _ sessions.Store = (*countingStore)(nil)

// BenchmarkFeedFanOut is what one revocation costs the streams that follow it: 200 readers
// each asking for what follows their cursor, answered from the instance's copy of the log
// ("memory") or, as before the copy existed, each from the store.
func BenchmarkFeedFanOut(b *testing.B) {
	const readers = 200
	for _, mode := range []string{"memory", "store"} {
		b.Run(mode, func(b *testing.B) {
			f := newFeedFixture(b)
			ctx := context.Background()
			if mode == "memory" {
				if err := f.m.LoadFeed(ctx); err != nil {
					b.Fatal(err)
				}
			}
			var cursor int64
			for b.Loop() {
				s, _, err := f.m.Create(ctx, f.user, sessions.Meta{})
				if err != nil {
					b.Fatal(err)
				}
				if err := f.m.Revoke(ctx, s.ID); err != nil {
					b.Fatal(err)
				}
				var next int64
				for range readers {
					list, err := f.m.RevocationsAfter(ctx, cursor, 1000)
					if err != nil || len(list) != 1 {
						b.Fatalf("RevocationsAfter = %d entries, %v", len(list), err)
					}
					next = list[0].Cursor
				}
				cursor = next
			}
		})
	}
}

func TestFeedLag(t *testing.T) {
	f := newFeedFixture(t)
	if _, ok := f.m.FeedLag(); ok {
		t.Fatal("a feed never read reports a lag")
	}
	mustLoad(t, f.m)
	f.clock.Add(3 * time.Second)
	if lag, ok := f.m.FeedLag(); !ok || lag != 3*time.Second {
		t.Fatalf("lag = %v %v, want 3s", lag, ok)
	}
}

// TestClientRevocations: entries naming an access key (client_id) revoke its tokens issued
// before the bound, answered from this instance's copy while it is fresh and from the store
// when it is stale, with the same answers; another instance's entries arrive with the log.
func TestClientRevocations(t *testing.T) {
	f := newFeedFixture(t)
	ctx := context.Background()
	mustLoad(t, f.m)
	before := f.clock.Now()
	if err := f.other.RevokeClients(ctx, f.user, []string{"key-1", "key-2"}); err != nil {
		t.Fatal(err)
	}
	if n, err := f.m.PullFeed(ctx); err != nil || n != 2 {
		t.Fatalf("pullFeed = %d, %v; want 2", n, err)
	}
	later := before.Truncate(time.Second).Add(time.Second)
	cases := []struct {
		name   string
		client string
		iat    time.Time
		want   bool
	}{
		{"issued before", "key-1", before.Add(-time.Minute), true},
		{"issued in the same second", "key-2", before.Truncate(time.Second), true},
		{"issued the next second", "key-1", later, false},
		{"another key", "key-3", before, false},
	}
	for _, mode := range []string{"memory", "store"} {
		if mode == "store" {
			f.m.SetFeedStaleAfter(time.Nanosecond)
			f.clock.Add(time.Millisecond)
		}
		for _, tc := range cases {
			got, err := f.m.ClientRevoked(ctx, tc.client, tc.iat)
			if err != nil || got != tc.want {
				t.Errorf("%s, %s: ClientRevoked = %v, %v; want %v", mode, tc.name, got, err, tc.want)
			}
		}
	}
	// Entries end with their retention: the key works again for every token.
	f.clock.Add(f.m.Config().RevocationRetention + time.Second)
	if got, err := f.m.ClientRevoked(ctx, "key-1", before.Add(-time.Minute)); err != nil || got {
		t.Fatalf("after retention: %v, %v", got, err)
	}
}
