package storetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
)

// Sizes of the concurrent feed tests: a few users with hundreds of sessions each, ended in
// bulk while single-token revocations and audit events commit around them.
const (
	feedUsers           = 6
	feedSessionsPerUser = 200
	feedTokenWriters    = 4
	feedTokensPerWriter = 120
	feedReaders         = 4
	feedEventWriters    = 8
	feedEventsPerWriter = 150
)

// testRevocationFeedConcurrent checks the promise followers rely on: a reader that pages
// RevocationsAfter from the last cursor it saw, while other transactions commit entries,
// sees every entry. A cursor that is only "the highest id seen" breaks this whenever ids are
// not handed out in commit order (a bulk DeleteUserSessions takes its ids, a single
// RevokeTokenID takes a higher one and commits first): one missed entry fails the test.
func testRevocationFeedConcurrent(t *testing.T, s Store) {
	ctx := context.Background()
	until := base.Add(time.Hour)
	var userIDs []string
	for i := range feedUsers {
		u := mustUser(t, s, fmt.Sprintf("bulk%d@example.com", i))
		userIDs = append(userIDs, u.ID)
	}
	var wg sync.WaitGroup
	errc := make(chan error, feedUsers*feedSessionsPerUser)
	for _, uid := range userIDs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range feedSessionsPerUser {
				ss := &sessions.Session{ID: secret.NewID(), UserID: uid, SecretHash: secret.Hash("x"),
					CreatedAt: base, LastSeenAt: base, ExpiresAt: until, AuthTime: base}
				if err := s.CreateSession(ctx, ss); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}

	var writing atomic.Int32
	writing.Store(feedUsers + feedTokenWriters)
	werr := make(chan error, feedUsers+feedTokenWriters)
	start := make(chan struct{})
	var writers sync.WaitGroup
	for _, uid := range userIDs {
		writers.Add(1)
		go func() {
			defer writers.Done()
			defer writing.Add(-1)
			<-start
			ids, err := s.DeleteUserSessions(ctx, uid, "", until)
			if err == nil && len(ids) != feedSessionsPerUser {
				err = fmt.Errorf("DeleteUserSessions ended %d sessions, want %d", len(ids), feedSessionsPerUser)
			}
			werr <- err
		}()
	}
	for w := range feedTokenWriters {
		writers.Add(1)
		go func() {
			defer writers.Done()
			defer writing.Add(-1)
			<-start
			for i := range feedTokensPerWriter {
				r := sessions.Revocation{TokenID: fmt.Sprintf("jti-%d-%d", w, i), UserID: "u", Until: until}
				if _, err := s.RevokeTokenID(ctx, r, ""); err != nil {
					werr <- err
					return
				}
			}
			werr <- nil
		}()
	}

	// Each reader follows the log from the beginning, as a poller would, with small pages
	// so that it reads often while the writers commit.
	seen := make([]map[string]bool, feedReaders)
	rerr := make([]error, feedReaders)
	var readers sync.WaitGroup
	for i := range feedReaders {
		seen[i] = map[string]bool{}
		readers.Add(1)
		go func() {
			defer readers.Done()
			var cursor int64
			for {
				done := writing.Load() == 0 // read once more after the last writer finished
				for {
					page, err := s.RevocationsAfter(ctx, cursor, base, 50)
					if err != nil {
						rerr[i] = err
						return
					}
					for _, e := range page {
						if e.Cursor <= cursor {
							rerr[i] = fmt.Errorf("cursor went back: %d after %d", e.Cursor, cursor)
							return
						}
						cursor = e.Cursor
						seen[i][e.SessionID+"/"+e.TokenID] = true
					}
					if len(page) < 50 {
						break
					}
				}
				if done {
					return
				}
			}
		}()
	}
	close(start)
	writers.Wait()
	close(werr)
	for err := range werr {
		if err != nil {
			t.Fatal(err)
		}
	}
	readers.Wait()

	all, err := s.RevocationsAfter(ctx, 0, base, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	want := feedUsers*feedSessionsPerUser + feedTokenWriters*feedTokensPerWriter
	if len(all) != want {
		t.Fatalf("log holds %d entries, want %d", len(all), want)
	}
	for i := range feedReaders {
		if rerr[i] != nil {
			t.Fatalf("reader %d: %v", i, rerr[i])
		}
		missed := 0
		for _, e := range all {
			if !seen[i][e.SessionID+"/"+e.TokenID] {
				missed++
			}
		}
		if missed > 0 {
			t.Errorf("reader %d missed %d of %d committed entries", i, missed, len(all))
		}
	}
}

// testEventFeedConcurrent is the same promise for the audit trail: a reader paging
// ListEvents with After = the last id it saw, while events commit concurrently, sees them all.
func testEventFeedConcurrent(t *testing.T, s Store) {
	ctx := context.Background()
	var writing atomic.Int32
	writing.Store(feedEventWriters)
	werr := make(chan error, feedEventWriters)
	start := make(chan struct{})
	for w := range feedEventWriters {
		go func() {
			defer writing.Add(-1)
			<-start
			for i := range feedEventsPerWriter {
				e := &audit.Event{Type: audit.LoginFailed, Time: base, UserID: fmt.Sprintf("u%d", w), Reason: fmt.Sprint(i)}
				if err := s.AppendEvent(ctx, e); err != nil {
					werr <- err
					return
				}
			}
			werr <- nil
		}()
	}
	seen := make([]map[int64]bool, feedReaders)
	rerr := make([]error, feedReaders)
	var readers sync.WaitGroup
	for i := range feedReaders {
		seen[i] = map[int64]bool{}
		readers.Add(1)
		go func() {
			defer readers.Done()
			var after int64
			for {
				done := writing.Load() == 0
				for {
					page, err := s.ListEvents(ctx, audit.Filter{After: after, Limit: 50})
					if err != nil {
						rerr[i] = err
						return
					}
					for _, e := range page {
						after = e.ID
						seen[i][e.ID] = true
					}
					if len(page) < 50 {
						break
					}
				}
				if done {
					return
				}
			}
		}()
	}
	close(start)
	for range feedEventWriters {
		if err := <-werr; err != nil {
			t.Fatal(err)
		}
	}
	readers.Wait()
	all, err := s.ListEvents(ctx, audit.Filter{Limit: 1_000_000})
	if err != nil {
		t.Fatal(err)
	}
	if want := feedEventWriters * feedEventsPerWriter; len(all) != want {
		t.Fatalf("trail holds %d events, want %d", len(all), want)
	}
	for i := range feedReaders {
		if rerr[i] != nil {
			t.Fatalf("reader %d: %v", i, rerr[i])
		}
		missed := 0
		for _, e := range all {
			if !seen[i][e.ID] {
				missed++
			}
		}
		if missed > 0 {
			t.Errorf("reader %d missed %d of %d committed events", i, missed, len(all))
		}
	}
}

// testRevokeTokenIDIdempotent: one entry per token id however often it is revoked, and none
// for a token whose session's entry already outlives it.
func testRevokeTokenIDIdempotent(t *testing.T, s Store) {
	ctx := context.Background()
	u := mustUser(t, s, "alice@example.com")
	live := mustSession(t, s, u.ID, base)
	ended := mustSession(t, s, u.ID, base)
	sessionUntil := base.Add(15 * time.Minute)
	if err := s.DeleteSession(ctx, ended.ID, sessionUntil); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, jti, sid string
		until          time.Time
		want           bool
	}{
		{"first revocation", "jti-a", live.ID, base.Add(10 * time.Minute), true},
		{"same token again", "jti-a", live.ID, base.Add(10 * time.Minute), false},
		{"same token, no session given", "jti-a", "", base.Add(10 * time.Minute), false},
		{"no session given", "jti-b", "", base.Add(10 * time.Minute), true},
		{"session already ended", "jti-c", ended.ID, base.Add(10 * time.Minute), false},
		{"token outlives its session's entry", "jti-d", ended.ID, sessionUntil.Add(time.Second), true},
		{"unknown session", "jti-e", "no-such-session", base.Add(10 * time.Minute), true},
	}
	for _, tt := range tests {
		added, err := s.RevokeTokenID(ctx, sessions.Revocation{TokenID: tt.jti, UserID: u.ID, Until: tt.until}, tt.sid)
		if err != nil || added != tt.want {
			t.Fatalf("%s: RevokeTokenID = %v, %v; want %v", tt.name, added, err, tt.want)
		}
	}
	all, err := s.RevocationsAfter(ctx, 0, base, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range all {
		if e.SessionID != "" && e.TokenID != "" {
			t.Fatalf("a token entry must name no session: %+v", e)
		}
		got = append(got, e.SessionID+e.TokenID)
	}
	if want := fmt.Sprint([]string{ended.ID, "jti-a", "jti-b", "jti-d", "jti-e"}); fmt.Sprint(got) != want {
		t.Fatalf("log = %v, want %v", got, want)
	}
	for _, jti := range []string{"jti-a", "jti-b", "jti-d"} {
		if r, err := s.TokenRevoked(ctx, jti, base); err != nil || !r {
			t.Fatalf("TokenRevoked(%s) = %v, %v", jti, r, err)
		}
	}
}
