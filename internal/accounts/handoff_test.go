package accounts_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/onetime"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
	"github.com/gatehouse-auth/gatehouse/internal/store/redis"
	"github.com/gatehouse-auth/gatehouse/internal/store/redis/redistest"
)

const (
	targetA = "https://auth.a.example/v1/handoff/complete"
	targetB = "https://auth.b.example/v1/handoff/complete"
)

func TestValidHandoffTarget(t *testing.T) {
	for _, ok := range []string{targetB, "http://localhost:8080/v1/handoff/complete", "http://b.localhost/v1/handoff/complete",
		"http://127.0.0.1:9000/v1/handoff/complete", "http://[::1]:9000/v1/handoff/complete"} {
		if err := accounts.ValidHandoffTarget(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "auth.b.example/v1/handoff/complete", "http://auth.b.example/v1/handoff/complete",
		"https://auth.b.example/v1/handoff/complete?x=1", "https://auth.b.example/v1/handoff/complete#f",
		"https://auth.b.example/v1/handoff/complete/", "https://auth.b.example/", "https://u:p@auth.b.example/v1/handoff/complete",
		"ftp://auth.b.example/v1/handoff/complete", "https:///v1/handoff/complete", "https://auth.b.example/v1/handoff/%63omplete"} {
		if err := accounts.ValidHandoffTarget(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// handoffFixture is a fixture with handoff enabled over codes and a signed-in user.
// With realClock, the fake clock starts at the real time (for Redis, which expires codes by
// its own clock).
func handoffFixture(t *testing.T, db store, codes onetime.Store, realClock bool) (*fixture, *sessions.Session) {
	t.Helper()
	f := newFixture(t, db, nil, generous)
	if realClock {
		f.clock.Add(time.Since(f.clock.Now()))
	}
	if err := f.svc.WithHandoff([]string{targetA, targetB}, codes); err != nil {
		t.Fatal(err)
	}
	f.mustUser(t, "ho@example.com", testPassword)
	res, err := f.svc.Login(context.Background(), "ho@example.com", testPassword, client("192.0.2.1"))
	if err != nil {
		t.Fatal(err)
	}
	return f, res.Session
}

func TestHandoff(t *testing.T) {
	ctx := context.Background()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			db := b.open(t)
			f, sess := handoffFixture(t, db, db.(onetime.Store), false)
			c := client("198.51.100.7")
			start := func() string {
				t.Helper()
				code, err := f.svc.StartHandoff(ctx, sess, targetB, client("192.0.2.1"))
				if err != nil {
					t.Fatal(err)
				}
				return string(code)
			}
			refused := func(name, code, target, reason string) {
				t.Helper()
				n := len(f.events(t, audit.HandoffRefused))
				if _, err := f.svc.CompleteHandoff(ctx, code, target, c); !errors.Is(err, accounts.ErrHandoffCode) {
					t.Fatalf("%s: %v, want ErrHandoffCode", name, err)
				}
				ev := f.events(t, audit.HandoffRefused)
				if len(ev) != n+1 || ev[len(ev)-1].Reason != reason {
					t.Fatalf("%s: refusal events %v, want one more with reason %s", name, ev, reason)
				}
			}

			f.clock.Add(3 * time.Minute) // the new session's auth_time must be the original one
			code := start()
			f.clock.Add(9 * time.Second)
			res, err := f.svc.CompleteHandoff(ctx, code, targetB, c)
			if err != nil {
				t.Fatal(err)
			}
			if res.Session.ID == sess.ID || res.Session.UserID != sess.UserID {
				t.Fatalf("new session %+v for %+v", res.Session, sess)
			}
			if !slices.Equal(res.Session.AMR, sess.AMR) || !res.Session.AuthTime.Equal(sess.AuthTime) || res.Session.ACR() != sess.ACR() {
				t.Fatalf("amr %v auth_time %v, want %v %v", res.Session.AMR, res.Session.AuthTime, sess.AMR, sess.AuthTime)
			}
			if got, err := f.sessions.Validate(ctx, string(res.Token)); err != nil || got.ID != res.Session.ID {
				t.Fatalf("new session token: %v", err)
			}
			if len(f.events(t, audit.HandoffStarted)) != 1 || len(f.events(t, audit.HandoffCompleted)) != 1 {
				t.Fatal("handoff.started / handoff.completed not audited")
			}

			refused("second use", code, targetB, "unknown_or_used_code")

			late := start()
			f.clock.Add(accounts.HandoffTTL)
			refused("late use", late, targetB, "expired")

			refused("another host", start(), targetA, "wrong_target")
			refused("no configured host", start(), "", "wrong_target")
			refused("made-up code", secret.NewToken(), targetB, "unknown_or_used_code")

			if _, err := f.svc.StartHandoff(ctx, sess, "https://evil.example/v1/handoff/complete", c); !errors.Is(err, accounts.ErrHandoffTarget) {
				t.Fatalf("unknown target: %v", err)
			}
			if _, err := f.svc.StartHandoff(ctx, sess, targetB+"/", c); !errors.Is(err, accounts.ErrHandoffTarget) {
				t.Fatalf("near-miss target: %v", err)
			}

			// The original session signs out within the code's life: the code is dead.
			other, _ := f.svc.Login(ctx, "ho@example.com", testPassword, client("192.0.2.1"))
			rc, err := f.svc.StartHandoff(ctx, other.Session, targetB, c)
			if err != nil {
				t.Fatal(err)
			}
			code = string(rc)
			if _, err := f.svc.Logout(ctx, other.Session, accounts.ScopeLocal, c); err != nil {
				t.Fatal(err)
			}
			refused("session ended", code, targetB, "session_ended")

			// Disabled between start and completion.
			code = start()
			disabled := true
			if _, err := f.svc.UpdateUser(ctx, sess.UserID, accounts.UserPatch{Disabled: &disabled}, adminClient); err != nil {
				t.Fatal(err)
			}
			refused("disabled user", code, targetB, "user_disabled")
		})
	}
}

func TestHandoffEnrolmentSessionRefused(t *testing.T) {
	db := openSQLite(t)
	f, sess := handoffFixture(t, db, db.(onetime.Store), false)
	limited := *sess
	limited.Purpose = sessions.PurposeMFAEnrolment
	if _, err := f.svc.StartHandoff(context.Background(), &limited, targetB, client("192.0.2.1")); !errors.Is(err, accounts.ErrEnrolmentOnly) {
		t.Fatalf("enrolment-limited session handed off: %v", err)
	}
}

// TestHandoffConcurrentCompletes: of N concurrent redemptions of one code exactly one
// session is started, on every backend that can keep codes.
func TestHandoffConcurrentCompletes(t *testing.T) {
	type codeBackend struct {
		name  string
		open  func(t *testing.T) (store, onetime.Store)
		clock bool // the store expires codes by the real clock (move the fake one to now)
	}
	cbs := []codeBackend{
		{"sqlite", func(t *testing.T) (store, onetime.Store) { db := openSQLite(t); return db, db.(onetime.Store) }, false},
		{"postgres", func(t *testing.T) (store, onetime.Store) { db := openPostgres(t); return db, db.(onetime.Store) }, false},
		{"redis", func(t *testing.T) (store, onetime.Store) { return openSQLite(t), openRedis(t) }, true},
	}
	for _, b := range cbs {
		t.Run(b.name, func(t *testing.T) {
			db, codes := b.open(t)
			f, sess := handoffFixture(t, db, codes, b.clock)
			ctx := context.Background()
			for round := range 3 {
				code, err := f.svc.StartHandoff(ctx, sess, targetB, client("192.0.2.1"))
				if err != nil {
					t.Fatal(err)
				}
				const n = 16
				var wg sync.WaitGroup
				errs := make([]error, n)
				for i := range n {
					wg.Go(func() { _, errs[i] = f.svc.CompleteHandoff(ctx, string(code), targetB, client("198.51.100.7")) })
				}
				wg.Wait()
				won := 0
				for _, err := range errs {
					switch {
					case err == nil:
						won++
					case !errors.Is(err, accounts.ErrHandoffCode):
						t.Fatalf("round %d: %v", round, err)
					}
				}
				if won != 1 {
					t.Fatalf("round %d: %d of %d concurrent completes won, want exactly 1", round, won, n)
				}
			}
			if got := len(f.events(t, audit.HandoffCompleted)); got != 3 {
				t.Fatalf("%d handoff.completed events, want 3", got)
			}
		})
	}
}

// openRedis opens the Redis store with a key prefix of this test's own (redistest.Open).
func openRedis(t *testing.T) *redis.Client { return redistest.Open(t) }
