package sessions_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/clock"

	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

type fixture struct {
	db    *sqlite.DB
	m     *sessions.Manager
	clock *clock.Fake
	user  string
}

func newFixture(t *testing.T, cfg sessions.Config) *fixture {
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
	return &fixture{db: db, m: sessions.NewManager(db, cfg, c.Now), clock: c, user: u.ID}
}

func (f *fixture) mustCreate(t *testing.T) (*sessions.Session, string) {
	t.Helper()
	s, tok, err := f.m.Create(context.Background(), f.user, sessions.Meta{AMR: []string{"pwd"}, IP: "192.0.2.7", UserAgent: "ua"})
	if err != nil {
		t.Fatal(err)
	}
	return s, string(tok)
}

func TestTokenShapeAndStorage(t *testing.T) {
	f := newFixture(t, sessions.Config{})
	s, tok := f.mustCreate(t)
	id, sec, ok := sessions.ParseToken(tok)
	if !ok || id != s.ID {
		t.Fatalf("token %q does not parse to its session id", tok)
	}
	if len(sec) != secret.TokenLen { // 256 bits
		t.Fatalf("secret length %d", len(sec))
	}
	stored, err := f.db.SessionByID(context.Background(), s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(stored.SecretHash), sec) || !secret.Equal(stored.SecretHash, secret.Hash(sec)) {
		t.Fatal("store must hold SHA-256 of the secret, not the secret")
	}
	_, tok2 := f.mustCreate(t)
	if tok2 == tok {
		t.Fatal("two sessions share a token")
	}
}

func TestValidateRejects(t *testing.T) {
	f := newFixture(t, sessions.Config{})
	s, tok := f.mustCreate(t)
	id, sec, _ := sessions.ParseToken(tok)
	otherSecret := secret.NewToken()
	tests := []struct{ name, tok string }{
		{"empty", ""},
		{"garbage", "not-a-token"},
		{"no dot", id + sec},
		{"wrong secret", id + "." + otherSecret},
		{"unknown id", secret.NewID() + "." + sec},
		{"secret with padding", id + "." + sec[:42] + "="},
		{"upper-case id", strings.ToUpper(id) + "." + sec},
		{"extra byte", tok + "A"},
		{"truncated", tok[:len(tok)-1]},
		{"swapped", sec + "." + id},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := f.m.Validate(context.Background(), tt.tok); !errors.Is(err, sessions.ErrInvalid) {
				t.Fatalf("Validate(%s) err = %v, want ErrInvalid", tt.name, err)
			}
		})
	}
	got, err := f.m.Validate(context.Background(), tok)
	if err != nil || got.ID != s.ID {
		t.Fatalf("valid token rejected: %v", err)
	}
}

func TestIdleExpiry(t *testing.T) {
	f := newFixture(t, sessions.Config{IdleTimeout: time.Hour, AbsoluteTimeout: 24 * time.Hour})
	_, tok := f.mustCreate(t)
	// Used every 50 minutes, the session stays alive past several idle periods.
	for range 5 {
		f.clock.Add(50 * time.Minute)
		if _, err := f.m.Validate(context.Background(), tok); err != nil {
			t.Fatalf("active session expired: %v", err)
		}
	}
	f.clock.Add(time.Hour)
	if _, err := f.m.Validate(context.Background(), tok); !errors.Is(err, sessions.ErrInvalid) {
		t.Fatalf("idle session still valid: %v", err)
	}
}

func TestAbsoluteExpiry(t *testing.T) {
	f := newFixture(t, sessions.Config{IdleTimeout: time.Hour, AbsoluteTimeout: 3 * time.Hour})
	_, tok := f.mustCreate(t)
	for range 5 { // keep it busy: 5 × 35 min = 175 min
		f.clock.Add(35 * time.Minute)
		if _, err := f.m.Validate(context.Background(), tok); err != nil {
			t.Fatalf("session died early: %v", err)
		}
	}
	f.clock.Add(5 * time.Minute) // 180 min: absolute limit, however busy
	if _, err := f.m.Validate(context.Background(), tok); !errors.Is(err, sessions.ErrInvalid) {
		t.Fatalf("session outlived its absolute limit: %v", err)
	}
}

func TestTouchIsCoalesced(t *testing.T) {
	f := newFixture(t, sessions.Config{TouchInterval: time.Minute})
	s, tok := f.mustCreate(t)
	ctx := context.Background()
	f.clock.Add(30 * time.Second)
	if _, err := f.m.Validate(ctx, tok); err != nil {
		t.Fatal(err)
	}
	stored, _ := f.db.SessionByID(ctx, s.ID)
	if !stored.LastSeenAt.Equal(s.CreatedAt) {
		t.Fatalf("a request within the touch interval wrote last_seen_at")
	}
	f.clock.Add(31 * time.Second)
	if _, err := f.m.Validate(ctx, tok); err != nil {
		t.Fatal(err)
	}
	stored, _ = f.db.SessionByID(ctx, s.ID)
	if !stored.LastSeenAt.Equal(f.clock.Now()) {
		t.Fatalf("last_seen_at = %v, want %v", stored.LastSeenAt, f.clock.Now())
	}
}

func TestRevokeAndList(t *testing.T) {
	f := newFixture(t, sessions.Config{IdleTimeout: time.Hour})
	ctx := context.Background()
	a, tokA := f.mustCreate(t)
	f.clock.Add(time.Second)
	b, tokB := f.mustCreate(t)
	f.clock.Add(time.Second)
	c, _ := f.mustCreate(t)

	list, err := f.m.List(ctx, f.user)
	if err != nil || len(list) != 3 || list[0].ID != c.ID {
		t.Fatalf("List = %d sessions, %v", len(list), err)
	}
	if err := f.m.Revoke(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.m.Validate(ctx, tokA); !errors.Is(err, sessions.ErrInvalid) {
		t.Fatalf("revoked session valid: %v", err)
	}
	ended, err := f.m.RevokeUser(ctx, f.user, b.ID)
	if err != nil || len(ended) != 1 || ended[0] != c.ID {
		t.Fatalf("RevokeUser except b = %v, %v", ended, err)
	}
	if _, err := f.m.Validate(ctx, tokB); err != nil {
		t.Fatalf("excepted session revoked: %v", err)
	}
	// Idle sessions disappear from the list without a sweep.
	f.clock.Add(2 * time.Hour)
	if list, _ := f.m.List(ctx, f.user); len(list) != 0 {
		t.Fatalf("expired session listed")
	}
	if n, err := f.m.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v", n, err)
	}
}

func FuzzParseToken(f *testing.F) {
	f.Add(secret.NewID() + "." + secret.NewToken())
	f.Add("a.b")
	f.Add("")
	f.Fuzz(func(t *testing.T, tok string) {
		id, sec, ok := sessions.ParseToken(tok)
		if ok && (id+"."+sec != tok || !secret.ValidID(id) || !secret.ValidToken(sec)) {
			t.Fatalf("accepted malformed token %q", tok)
		}
	})
}

// TestCacheFollowsOtherProcesses: a session ended by another process (another Manager on the
// same database) stops validating here once the revocation log is followed; one ended here
// stops at once.
func TestCacheFollowsOtherProcesses(t *testing.T) {
	f := newFixture(t, sessions.Config{})
	ctx := context.Background()
	a, tokA := f.mustCreate(t)
	_, tokB := f.mustCreate(t)
	if _, err := f.m.Validate(ctx, tokA); err != nil { // now cached
		t.Fatal(err)
	}
	if _, err := f.m.Validate(ctx, tokB); err != nil {
		t.Fatal(err)
	}
	other := sessions.NewManager(f.db, sessions.Config{}, f.clock.Now)
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go f.m.FollowRevocations(fctx, 5*time.Millisecond)
	time.Sleep(20 * time.Millisecond) // let the follower read the log's end first
	if err := other.Revoke(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := f.m.Validate(ctx, tokA); errors.Is(err, sessions.ErrInvalid) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("revocation by another process never reached the cache")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Local revocation: immediate, no follower needed.
	bs, _ := f.m.Validate(ctx, tokB)
	if err := f.m.Revoke(ctx, bs.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.m.Validate(ctx, tokB); !errors.Is(err, sessions.ErrInvalid) {
		t.Fatalf("locally revoked session still valid: %v", err)
	}
}

// TestCacheFailsClosed: with the store gone, cached sessions are not served once the
// follower notices.
func TestCacheFailsClosed(t *testing.T) {
	f := newFixture(t, sessions.Config{})
	ctx := context.Background()
	_, tok := f.mustCreate(t)
	if _, err := f.m.Validate(ctx, tok); err != nil {
		t.Fatal(err)
	}
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go f.m.FollowRevocations(fctx, 5*time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	f.db.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := f.m.Validate(ctx, tok)
		if err != nil && !errors.Is(err, sessions.ErrInvalid) {
			break // a store error: the API answers 503
		}
		if time.Now().After(deadline) {
			t.Fatalf("cached session still served with the store down (err %v)", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestPokeReadsTheLogAtOnce: with a follower that would wait an hour, a Poke (a Redis
// announcement) makes it read the log immediately.
func TestPokeReadsTheLogAtOnce(t *testing.T) {
	f := newFixture(t, sessions.Config{})
	ctx := context.Background()
	_, tok := f.mustCreate(t)
	s, err := f.m.Validate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	announced := make(chan struct{}, 1)
	other := sessions.NewManager(f.db, sessions.Config{}, f.clock.Now).WithFanout(func() { announced <- struct{}{} })
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go f.m.FollowRevocations(fctx, time.Hour)
	time.Sleep(20 * time.Millisecond)
	if err := other.Revoke(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	<-announced // the other instance announced its revocation
	f.m.Poke()  // …and this one hears it
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := f.m.Validate(ctx, tok); errors.Is(err, sessions.ErrInvalid) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("Poke did not make the follower read the log")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
