// Package storetest is the conformance suite every store backend passes: the same tests run
// against SQLite, PostgreSQL and, where it applies, Redis, so that the backends stay
// interchangeable.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/onetime"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

// Store is everything a full backend implements.
type Store interface {
	users.Store
	sessions.Store
	audit.Store
	store.Settings
	onetime.Store
	// DeleteExpiredOneTimeCodes deletes up to limit one-time codes (and used-code marks) that
	// expired at or before now, returning how many; the server's periodic sweep calls it.
	DeleteExpiredOneTimeCodes(ctx context.Context, now time.Time, limit int) (int, error)
}

// Run runs the suite. newStore must return a fresh, empty, migrated store for each call.
func Run(t *testing.T, newStore func(t *testing.T) Store) {
	t.Run("Users", func(t *testing.T) { testUsers(t, newStore(t)) })
	t.Run("UserList", func(t *testing.T) { testUserList(t, newStore(t)) })
	t.Run("UserLookalikes", func(t *testing.T) { testUserLookalikes(t, newStore(t)) })
	t.Run("Sessions", func(t *testing.T) { testSessions(t, newStore(t)) })
	t.Run("SessionsCascade", func(t *testing.T) { testSessionsCascade(t, newStore(t)) })
	t.Run("SessionExpiry", func(t *testing.T) { testSessionExpiry(t, newStore(t)) })
	t.Run("RefreshAdvance", func(t *testing.T) { testRefreshAdvance(t, newStore(t)) })
	t.Run("RefreshRace", func(t *testing.T) { testRefreshRace(t, newStore(t)) })
	t.Run("Events", func(t *testing.T) { testEvents(t, newStore(t)) })
	t.Run("RevokeTokenIDIdempotent", func(t *testing.T) { testRevokeTokenIDIdempotent(t, newStore(t)) })
	t.Run("RevocationFeedConcurrent", func(t *testing.T) { testRevocationFeedConcurrent(t, newStore(t)) })
	t.Run("EventFeedConcurrent", func(t *testing.T) { testEventFeedConcurrent(t, newStore(t)) })
	t.Run("Settings", func(t *testing.T) { testSettings(t, newStore(t)) })
	RunOneTime(t, func(t *testing.T) onetime.Store { return newStore(t) })
	t.Run("OneTimeSweep", func(t *testing.T) { testOneTimeSweep(t, newStore(t)) })
}

// testOneTimeSweep: expired codes go, in batches of limit; live ones stay and still redeem.
func testOneTimeSweep(t *testing.T, s Store) {
	ctx := context.Background()
	for i := range 5 {
		if err := s.PutCode(ctx, fmt.Sprintf("dead%d", i), []byte("v"), base.Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutCode(ctx, "live", []byte("v"), base.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n, err := s.DeleteExpiredOneTimeCodes(ctx, base, 3); err != nil || n != 3 {
		t.Fatalf("first batch: %d %v", n, err)
	}
	if n, err := s.DeleteExpiredOneTimeCodes(ctx, base, 3); err != nil || n != 2 {
		t.Fatalf("second batch: %d %v", n, err)
	}
	if n, err := s.DeleteExpiredOneTimeCodes(ctx, base, 3); err != nil || n != 0 {
		t.Fatalf("nothing left: %d %v", n, err)
	}
	if v, err := s.ConsumeCode(ctx, "live", base); err != nil || string(v) != "v" {
		t.Fatalf("the live code was swept: %q %v", v, err)
	}
}

// base is a fixed instant with microsecond precision (what every backend keeps).
var base = time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)

func mustUser(t *testing.T, s Store, email string) *users.User {
	t.Helper()
	u := &users.User{ID: secret.NewID(), Email: email, PasswordHash: "$argon2id$x", CreatedAt: base, UpdatedAt: base}
	if err := s.CreateUser(context.Background(), u); err != nil {
		t.Fatalf("CreateUser(%s): %v", email, err)
	}
	return u
}

func mustSession(t *testing.T, s Store, userID string, created time.Time) *sessions.Session {
	t.Helper()
	ss := &sessions.Session{
		ID: secret.NewID(), UserID: userID, SecretHash: secret.Hash(secret.NewToken()),
		CreatedAt: created, LastSeenAt: created, ExpiresAt: created.Add(24 * time.Hour), AuthTime: created,
		AMR: []string{"pwd", "mfa"}, IP: "192.0.2.1", UserAgent: "test/1.0", ClientID: "gatehouse",
	}
	if err := s.CreateSession(context.Background(), ss); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	return ss
}

func testUsers(t *testing.T, s Store) {
	ctx := context.Background()
	u := mustUser(t, s, "alice@example.com")

	dup := &users.User{ID: secret.NewID(), Email: "alice@example.com", CreatedAt: base, UpdatedAt: base}
	if err := s.CreateUser(ctx, dup); !errors.Is(err, users.ErrEmailTaken) {
		t.Fatalf("duplicate email: err = %v, want ErrEmailTaken", err)
	}
	got, err := s.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if *got != *u {
		t.Fatalf("UserByID = %+v, want %+v", got, u)
	}
	got, err = s.UserByEmail(ctx, "alice@example.com")
	if err != nil || got.ID != u.ID {
		t.Fatalf("UserByEmail = %+v, %v", got, err)
	}
	if _, err := s.UserByEmail(ctx, "nobody@example.com"); !errors.Is(err, users.ErrNotFound) {
		t.Fatalf("unknown email: err = %v", err)
	}
	if _, err := s.UserByID(ctx, "nope"); !errors.Is(err, users.ErrNotFound) {
		t.Fatalf("unknown id: err = %v", err)
	}

	u.Disabled, u.EmailVerified, u.UpdatedAt = true, true, base.Add(time.Hour)
	if err := s.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	got, _ = s.UserByID(ctx, u.ID)
	if !got.Disabled || !got.EmailVerified || !got.UpdatedAt.Equal(u.UpdatedAt) {
		t.Fatalf("update not stored: %+v", got)
	}
	other := mustUser(t, s, "bob@example.com")
	other.Email = "alice@example.com"
	if err := s.UpdateUser(ctx, other); !errors.Is(err, users.ErrEmailTaken) {
		t.Fatalf("update to taken email: err = %v", err)
	}
	if err := s.UpdateUser(ctx, &users.User{ID: "missing", Email: "x@example.com"}); !errors.Is(err, users.ErrNotFound) {
		t.Fatalf("update missing: err = %v", err)
	}

	// The credential epoch is stored, and never moves back: a write from a copy read before
	// a credential change is refused with ErrStale and changes nothing.
	stale := *u
	u.CredentialEpoch, u.PasswordHash = 1, "$argon2id$new"
	if err := s.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	stale.PasswordHash = "$argon2id$rehashed-old"
	if err := s.UpdateUser(ctx, &stale); !errors.Is(err, users.ErrStale) {
		t.Fatalf("update with an older epoch: err = %v, want ErrStale", err)
	}
	if got, _ = s.UserByID(ctx, u.ID); got.CredentialEpoch != 1 || got.PasswordHash != "$argon2id$new" {
		t.Fatalf("after a stale update: epoch %d hash %q, want 1 and the new hash", got.CredentialEpoch, got.PasswordHash)
	}
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, u.ID); !errors.Is(err, users.ErrNotFound) {
		t.Fatalf("second delete: err = %v", err)
	}
}

// testUserLookalikes checks the unique confusable-skeleton index (users.EmailSkeleton): an
// address that looks like another account's is refused on create and on update, with
// ErrEmailConfusable, and an exact duplicate is still plain ErrEmailTaken.
func testUserLookalikes(t *testing.T, s Store) {
	ctx := context.Background()
	paypal := mustUser(t, s, "paypal@example.com")
	for _, email := range []string{
		"p\u0430ypal@example.com",                     // Cyrillic а
		"paypa1@example.com",                          // digit one for l
		"paypal@\u0435xample.com",                     // Cyrillic е in the domain
		"\u0440\u0430\u0443\u0440\u0430l@example.com", // all Cyrillic but the l
	} {
		u := &users.User{ID: secret.NewID(), Email: email, CreatedAt: base, UpdatedAt: base}
		if err := s.CreateUser(ctx, u); !errors.Is(err, users.ErrEmailConfusable) {
			t.Fatalf("CreateUser(%q) next to paypal@example.com: err = %v, want ErrEmailConfusable", email, err)
		}
	}
	dup := &users.User{ID: secret.NewID(), Email: "paypal@example.com", CreatedAt: base, UpdatedAt: base}
	if err := s.CreateUser(ctx, dup); !errors.Is(err, users.ErrEmailTaken) || errors.Is(err, users.ErrEmailConfusable) {
		t.Fatalf("exact duplicate: err = %v, want ErrEmailTaken only", err)
	}

	other := mustUser(t, s, "modern@example.org")
	other.Email = "p\u0430ypal@example.com"
	if err := s.UpdateUser(ctx, other); !errors.Is(err, users.ErrEmailConfusable) {
		t.Fatalf("UpdateUser to a look-alike: err = %v, want ErrEmailConfusable", err)
	}
	if _, err := s.UserByEmail(ctx, "p\u0430ypal@example.com"); !errors.Is(err, users.ErrNotFound) {
		t.Fatalf("the refused update was stored: %v", err)
	}
	if u := (&users.User{ID: secret.NewID(), Email: "rnodern@example.org", CreatedAt: base, UpdatedAt: base}); !errors.Is(s.CreateUser(ctx, u), users.ErrEmailConfusable) {
		t.Fatal(`"rnodern" must be refused next to "modern"`)
	}

	// An account may change to a look-alike of its own address.
	paypal.Email, paypal.UpdatedAt = "paypa1@example.com", base.Add(time.Minute)
	if err := s.UpdateUser(ctx, paypal); err != nil {
		t.Fatalf("UpdateUser to a look-alike of its own address: %v", err)
	}
	// Deleting an account frees its skeleton.
	if err := s.DeleteUser(ctx, paypal.ID); err != nil {
		t.Fatal(err)
	}
	mustUser(t, s, "p\u0430ypal@example.com")
}

func testUserList(t *testing.T, s Store) {
	ctx := context.Background()
	for i := range 7 {
		mustUser(t, s, fmt.Sprintf("user%d@example.com", i))
	}
	mustUser(t, s, "zed_%@example.org")
	var seen []string
	after := ""
	for {
		page, err := s.ListUsers(ctx, users.ListFilter{After: after, Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > 3 {
			t.Fatalf("page of %d > limit", len(page))
		}
		for _, u := range page {
			if after != "" && u.ID <= after {
				t.Fatalf("not ordered by id: %s after %s", u.ID, after)
			}
			seen = append(seen, u.ID)
			after = u.ID
		}
		if len(page) < 3 {
			break
		}
	}
	if len(seen) != 8 {
		t.Fatalf("paged through %d users, want 8", len(seen))
	}
	page, err := s.ListUsers(ctx, users.ListFilter{Email: "user3@example.com", Limit: 10})
	if err != nil || len(page) != 1 || page[0].Email != "user3@example.com" {
		t.Fatalf("email filter: %v %v", page, err)
	}
	page, err = s.ListUsers(ctx, users.ListFilter{EmailPrefix: "user", Limit: 10})
	if err != nil || len(page) != 7 {
		t.Fatalf("prefix filter: %d users, %v", len(page), err)
	}
	page, err = s.ListUsers(ctx, users.ListFilter{EmailPrefix: "zed_%", Limit: 10})
	if err != nil || len(page) != 1 {
		t.Fatalf("prefix with wildcard characters must be literal: %d users, %v", len(page), err)
	}
	page, err = s.ListUsers(ctx, users.ListFilter{EmailPrefix: "z%", Limit: 10})
	if err != nil || len(page) != 0 {
		t.Fatalf("%% must not be a wildcard: %d users, %v", len(page), err)
	}
}

func testSessions(t *testing.T, s Store) {
	ctx := context.Background()
	u := mustUser(t, s, "alice@example.com")
	a := mustSession(t, s, u.ID, base)
	b := mustSession(t, s, u.ID, base.Add(time.Minute))
	c := mustSession(t, s, u.ID, base.Add(2*time.Minute))

	got, err := s.SessionByID(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != a.ID || got.UserID != u.ID || !bytes.Equal(got.SecretHash, a.SecretHash) ||
		!got.CreatedAt.Equal(a.CreatedAt) || !got.ExpiresAt.Equal(a.ExpiresAt) || !got.AuthTime.Equal(a.AuthTime) ||
		fmt.Sprint(got.AMR) != fmt.Sprint(a.AMR) || got.IP != a.IP || got.UserAgent != a.UserAgent || got.ClientID != a.ClientID {
		t.Fatalf("SessionByID = %+v, want %+v", got, a)
	}
	if _, err := s.SessionByID(ctx, "missing"); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("missing session: err = %v", err)
	}

	later := base.Add(10 * time.Minute)
	if err := s.TouchSession(ctx, a.ID, later); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchSession(ctx, a.ID, base.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, _ = s.SessionByID(ctx, a.ID)
	if !got.LastSeenAt.Equal(later) {
		t.Fatalf("LastSeenAt = %v, want %v (touch must never move it back)", got.LastSeenAt, later)
	}
	if err := s.TouchSession(ctx, "missing", later); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("touch missing: err = %v", err)
	}

	list, err := s.ListUserSessions(ctx, u.ID)
	if err != nil || len(list) != 3 || list[0].ID != c.ID || list[2].ID != a.ID {
		t.Fatalf("ListUserSessions newest first: %v %v", ids(list), err)
	}

	until := base.Add(time.Hour)
	if err := s.DeleteSession(ctx, b.ID, until); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSession(ctx, b.ID, until); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("second delete: err = %v", err)
	}
	gone, err := s.DeleteUserSessions(ctx, u.ID, c.ID, until)
	if err != nil || len(gone) != 1 || gone[0] != a.ID {
		t.Fatalf("DeleteUserSessions except c = %v, %v; want [%s]", gone, err, a.ID)
	}
	gone, err = s.DeleteUserSessions(ctx, u.ID, "", until)
	if err != nil || len(gone) != 1 || gone[0] != c.ID {
		t.Fatalf("DeleteUserSessions all = %v, %v", gone, err)
	}
	if list, _ := s.ListUserSessions(ctx, u.ID); len(list) != 0 {
		t.Fatalf("sessions left: %v", ids(list))
	}
	// Every deletion left a revocation entry, in order, with the user and the retention.
	revs, err := s.RevocationsAfter(ctx, 0, base, 100)
	if err != nil || len(revs) != 3 {
		t.Fatalf("revocations = %+v, %v; want 3", revs, err)
	}
	for i, want := range []string{b.ID, a.ID, c.ID} {
		if revs[i].SessionID != want || revs[i].UserID != u.ID || !revs[i].Until.Equal(until) {
			t.Fatalf("revocation %d = %+v, want session %s", i, revs[i], want)
		}
		if i > 0 && revs[i].Cursor <= revs[i-1].Cursor {
			t.Fatal("revocation cursors not increasing")
		}
	}
	last, err := s.LastRevocation(ctx)
	if err != nil || last != revs[2].Cursor {
		t.Fatalf("LastRevocation = %d, %v", last, err)
	}
	if after, _ := s.RevocationsAfter(ctx, revs[0].Cursor, base, 100); len(after) != 2 {
		t.Fatalf("cursor paging: %d entries", len(after))
	}
	if _, err := s.RevokeTokenID(ctx, sessions.Revocation{TokenID: "jti-1", UserID: u.ID, Until: base.Add(time.Minute)}, ""); err != nil {
		t.Fatal(err)
	}
	if r, err := s.TokenRevoked(ctx, "jti-1", base); err != nil || !r {
		t.Fatalf("TokenRevoked(jti-1) = %v, %v", r, err)
	}
	if r, _ := s.TokenRevoked(ctx, "jti-2", base); r {
		t.Fatal("unknown jti reported revoked")
	}
	if r, _ := s.TokenRevoked(ctx, "jti-1", base.Add(2*time.Minute)); r {
		t.Fatal("expired revocation still reported")
	}
	if live, _ := s.RevocationsAfter(ctx, 0, base.Add(2*time.Minute), 100); len(live) != 3 {
		t.Fatalf("expired entries must not be served: %d", len(live))
	}
	if n, err := s.DeleteExpiredRevocations(ctx, base.Add(2*time.Minute)); err != nil || n != 1 {
		t.Fatalf("DeleteExpiredRevocations = %d, %v", n, err)
	}
}

func testSessionsCascade(t *testing.T, s Store) {
	ctx := context.Background()
	u := mustUser(t, s, "alice@example.com")
	ss := mustSession(t, s, u.ID, base)
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionByID(ctx, ss.ID); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("session outlived its user: err = %v", err)
	}
}

func testSessionExpiry(t *testing.T, s Store) {
	ctx := context.Background()
	u := mustUser(t, s, "alice@example.com")
	live := mustSession(t, s, u.ID, base)
	abs := mustSession(t, s, u.ID, base.Add(-25*time.Hour)) // expires_at = base-1h
	idle := mustSession(t, s, u.ID, base.Add(-2*time.Hour))
	_ = s.TouchSession(ctx, live.ID, base)
	now, idleCutoff := base, base.Add(-time.Hour)
	n, err := s.CountActiveSessions(ctx, now, idleCutoff)
	if err != nil || n != 1 {
		t.Fatalf("CountActiveSessions = %d, %v; want 1", n, err)
	}
	n, err = s.DeleteExpiredSessions(ctx, now, idleCutoff)
	if err != nil || n != 2 {
		t.Fatalf("DeleteExpiredSessions = %d, %v; want 2", n, err)
	}
	for _, id := range []string{abs.ID, idle.ID} {
		if _, err := s.SessionByID(ctx, id); !errors.Is(err, sessions.ErrNotFound) {
			t.Fatalf("expired session %s still there", id)
		}
	}
	if _, err := s.SessionByID(ctx, live.ID); err != nil {
		t.Fatalf("live session swept: %v", err)
	}
}

func testEvents(t *testing.T, s Store) {
	ctx := context.Background()
	for i := range 5 {
		e := &audit.Event{Type: audit.LoginFailed, Time: base.Add(time.Duration(i) * time.Second), UserID: "u1",
			IP: "192.0.2.1", UserAgent: "ua", Outcome: audit.Failure, Reason: "bad_password", Actor: "user"}
		if i%2 == 1 {
			e.Type, e.UserID, e.Outcome, e.Reason = audit.LoginSucceeded, "u2", audit.Success, ""
		}
		if err := s.AppendEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
		if e.ID == 0 {
			t.Fatal("AppendEvent did not assign an id")
		}
	}
	all, err := s.ListEvents(ctx, audit.Filter{Limit: 100})
	if err != nil || len(all) != 5 {
		t.Fatalf("ListEvents = %d, %v", len(all), err)
	}
	if all[0].Reason != "bad_password" || !all[0].Time.Equal(base) || all[0].IP != "192.0.2.1" {
		t.Fatalf("event round trip: %+v", all[0])
	}
	failed, _ := s.ListEvents(ctx, audit.Filter{Type: audit.LoginFailed, Limit: 100})
	if len(failed) != 3 {
		t.Fatalf("type filter: %d events", len(failed))
	}
	u2, _ := s.ListEvents(ctx, audit.Filter{UserID: "u2", Limit: 100})
	if len(u2) != 2 {
		t.Fatalf("user filter: %d events", len(u2))
	}
	page, _ := s.ListEvents(ctx, audit.Filter{After: all[1].ID, Limit: 2})
	if len(page) != 2 || page[0].ID != all[2].ID {
		t.Fatalf("after cursor: %v", page)
	}
}

func testSettings(t *testing.T, s Store) {
	ctx := context.Background()
	if _, err := s.Setting(ctx, "k"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing setting: err = %v", err)
	}
	// Concurrent first writers all see the single winner.
	var wg sync.WaitGroup
	got := make([][]byte, 8)
	errs := make([]error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = s.PutSettingIfAbsent(ctx, "k", []byte{byte(i)})
		}()
	}
	wg.Wait()
	for i := range 8 {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !bytes.Equal(got[i], got[0]) {
			t.Fatalf("writers disagree: %v vs %v", got[i], got[0])
		}
	}
	v, err := s.Setting(ctx, "k")
	if err != nil || !bytes.Equal(v, got[0]) {
		t.Fatalf("Setting = %v, %v", v, err)
	}
}

func ids(ss []*sessions.Session) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.ID)
	}
	return out
}

func testRefreshAdvance(t *testing.T, s Store) {
	ctx := context.Background()
	u := mustUser(t, s, "alice@example.com")
	ss := &sessions.Session{ID: secret.NewID(), UserID: u.ID, SecretHash: secret.Hash("x"), CreatedAt: base, LastSeenAt: base,
		ExpiresAt: base.Add(time.Hour), AuthTime: base, Refresh: sessions.RefreshState{Gen: 1, RotatedAt: base, Salt: []byte("salt-0123456789ab")}}
	if err := s.CreateSession(ctx, ss); err != nil {
		t.Fatal(err)
	}
	got, err := s.SessionByID(ctx, ss.ID)
	if err != nil || got.Refresh.Gen != 1 || !got.Refresh.RotatedAt.Equal(base) || string(got.Refresh.Salt) != "salt-0123456789ab" {
		t.Fatalf("refresh state round trip: %+v, %v", got.Refresh, err)
	}
	at := base.Add(time.Minute)
	st, ok, err := s.AdvanceRefresh(ctx, ss.ID, 1, at)
	if err != nil || !ok || st.Gen != 2 || !st.RotatedAt.Equal(at) || string(st.Salt) != "salt-0123456789ab" {
		t.Fatalf("advance 1→2: %+v %v %v", st, ok, err)
	}
	st, ok, err = s.AdvanceRefresh(ctx, ss.ID, 1, at.Add(time.Second))
	if err != nil || ok || st.Gen != 2 || !st.RotatedAt.Equal(at) {
		t.Fatalf("stale advance must not move the state: %+v %v %v", st, ok, err)
	}
	got, _ = s.SessionByID(ctx, ss.ID)
	if !got.LastSeenAt.Equal(at) {
		t.Fatalf("a rotation is a use: last_seen_at = %v", got.LastSeenAt)
	}
	if _, _, err := s.AdvanceRefresh(ctx, "missing", 1, at); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("missing session: %v", err)
	}
}

// testRefreshRace releases ten advances of the same generation at once: exactly one wins and
// every caller sees the same successor generation.
func testRefreshRace(t *testing.T, s Store) {
	ctx := context.Background()
	u := mustUser(t, s, "alice@example.com")
	ss := &sessions.Session{ID: secret.NewID(), UserID: u.ID, SecretHash: secret.Hash("x"), CreatedAt: base, LastSeenAt: base,
		ExpiresAt: base.Add(time.Hour), AuthTime: base, Refresh: sessions.RefreshState{Gen: 7, Salt: []byte("s")}}
	if err := s.CreateSession(ctx, ss); err != nil {
		t.Fatal(err)
	}
	const n = 10
	var wg sync.WaitGroup
	start := make(chan struct{})
	gens := make([]int64, n)
	wins := make([]bool, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			var st sessions.RefreshState
			st, wins[i], errs[i] = s.AdvanceRefresh(ctx, ss.ID, 7, base.Add(time.Second))
			gens[i] = st.Gen
		}()
	}
	close(start)
	wg.Wait()
	won := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if gens[i] != 8 {
			t.Fatalf("caller %d sees generation %d, want 8", i, gens[i])
		}
		if wins[i] {
			won++
		}
	}
	if won != 1 {
		t.Fatalf("%d callers advanced the generation, want exactly 1", won)
	}
}
