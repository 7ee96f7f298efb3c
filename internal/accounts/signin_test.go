package accounts_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/password"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

// flakyUsers is a user store whose UserByEmail fails while down is set.
type flakyUsers struct {
	users.Store
	down atomic.Bool
}

var errDown = errors.New("store unavailable")

func (f *flakyUsers) UserByEmail(ctx context.Context, email string) (*users.User, error) {
	if f.down.Load() {
		return nil, errDown
	}
	return f.Store.UserByEmail(ctx, email)
}

// TestUncheckedAttemptsAreNotCharged retries a sign-in with the right password while the
// password hasher is saturated (503) and while the store is down (503), many more times
// than the lockout allows: none of those attempts checked the password, so none may count
// toward a lockout, and the next attempt succeeds without a user.locked event.
func TestUncheckedAttemptsAreNotCharged(t *testing.T) {
	h := password.NewUnsafeHasherForTests(password.Config{
		Params:      password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		Concurrency: 1, QueueSize: 1, QueueTimeout: time.Hour,
	})
	db := openSQLite(t)
	f := newFixture(t, db, h, ratelimit.Policy{})
	flaky := &flakyUsers{Store: db}
	svc := accounts.New(flaky, f.sessions, h, f.limiter, audit.NewLog(db, f.clock.Now), slog.New(slog.DiscardHandler), f.clock.Now)
	ctx := context.Background()
	u := f.mustUser(t, "owner@example.com", testPassword)
	c := client("203.0.113.7")

	// Saturate the hasher: one ticket holds the only slot, one waiter fills the queue.
	hold, err := h.Admit(ctx, password.Admission{})
	if err != nil {
		t.Fatal(err)
	}
	queued := make(chan error, 1)
	go func() {
		tk, err := h.Admit(ctx, password.Admission{})
		if err == nil {
			tk.Release()
		}
		queued <- err
	}()
	for h.QueueDepth() != 1 {
		time.Sleep(time.Millisecond)
	}
	for i := range 8 {
		if _, err := svc.Login(ctx, u.Email, testPassword, c); !errors.Is(err, password.ErrBusy) {
			t.Fatalf("attempt %d with the hasher saturated: %v, want ErrBusy", i, err)
		}
	}
	hold.Release()
	if err := <-queued; err != nil {
		t.Fatal(err)
	}

	flaky.down.Store(true)
	for i := range 8 {
		if _, err := svc.Login(ctx, u.Email, testPassword, c); !errors.Is(err, errDown) {
			t.Fatalf("attempt %d with the store down: %v, want the store error", i, err)
		}
	}
	flaky.down.Store(false)

	if _, err := svc.Login(ctx, u.Email, testPassword, c); err != nil {
		t.Fatalf("sign-in after 16 unchecked attempts: %v", err)
	}
	if n := len(f.events(t, audit.UserLocked)); n != 0 {
		t.Fatalf("%d user.locked events without a single wrong password", n)
	}
	if n := len(f.events(t, audit.LoginFailed)); n != 0 {
		t.Fatalf("%d login_failed events without a single wrong password", n)
	}
}

// TestConcurrentGuessesChargedBeforeHashing checks the other half: concurrent wrong guesses
// that all got past the check are each charged before their hash, so no more than the
// lockout tier allows are ever verified.
func TestConcurrentGuessesChargedBeforeHashing(t *testing.T) {
	f := newFixture(t, openSQLite(t), nil, ratelimit.Policy{PerIP: ratelimit.Limit{Burst: 1000, Per: time.Second}})
	u := f.mustUser(t, "target@example.com", testPassword)
	var wg sync.WaitGroup
	var verified, limited atomic.Int64
	for range 40 {
		wg.Go(func() {
			_, err := f.svc.Login(context.Background(), u.Email, "wrong guess number x", client("203.0.113.66"))
			var rl *accounts.RateLimitedError
			switch {
			case errors.Is(err, accounts.ErrInvalidCredentials):
				verified.Add(1)
			case errors.As(err, &rl):
				limited.Add(1)
			default:
				t.Errorf("guess: %v", err)
			}
		})
	}
	wg.Wait()
	if verified.Load() != 5 || limited.Load() != 35 {
		t.Fatalf("%d guesses verified, %d limited; want 5 and 35", verified.Load(), limited.Load())
	}
	if n := len(f.events(t, audit.UserLocked)); n != 1 {
		t.Fatalf("%d user.locked events, want 1", n)
	}
}

// TestRefusedFloodWritesFewEvents sends 2,000 wrong-password attempts from one IP and 500
// from 500 IPs at one account: refused attempts are counted, not audited one by one, so the
// events table grows by O(keys), not O(attempts), and a lockout writes one user.locked.
func TestRefusedFloodWritesFewEvents(t *testing.T) {
	f := newFixture(t, openSQLite(t), nil, ratelimit.Policy{})
	u := f.mustUser(t, "victim@example.com", testPassword)
	ctx := context.Background()
	refused := 0
	attempt := func(ip string) {
		_, err := f.svc.Login(ctx, u.Email, "not the password at all", client(ip))
		var rl *accounts.RateLimitedError
		if errors.As(err, &rl) {
			refused++
		} else if !errors.Is(err, accounts.ErrInvalidCredentials) {
			t.Fatalf("attempt from %s: %v", ip, err)
		}
	}
	for range 2000 {
		attempt("203.0.113.1")
	}
	for i := range 500 {
		attempt(fmt.Sprintf("10.%d.%d.1", i/250, i%250))
	}
	var counted uint64
	for _, l := range ratelimit.Limits {
		counted += f.limiter.Refused(l)
	}
	if counted != uint64(refused) || refused < 2400 {
		t.Fatalf("%d attempts refused, %d counted by the limiter", refused, counted)
	}
	all := 0
	for _, typ := range []string{audit.LoginFailed, audit.UserLocked} {
		all += len(f.events(t, typ))
	}
	// Verified failures: 5 from the first IP, 50 (the account's budget for unknown IPs)
	// from the others; sampled refusals: one per limit and key.
	if all > 5+50+3+2 {
		t.Fatalf("%d events for %d attempts (%d refused), want O(1) per lockout and key", all, 2500, refused)
	}
	if n := len(f.events(t, audit.UserLocked)); n != 2 {
		t.Fatalf("%d user.locked events, want 2 (the IP's tier, then the account)", n)
	}
	t.Logf("%d attempts, %d refused, %d audit events", 2500, refused, all)
}

// TestGlobalSignupCap checks that sign-ups from many addresses hit the global cap with a
// RateLimitedError (429 rate_limited with Retry-After) naming it.
func TestGlobalSignupCap(t *testing.T) {
	p := generous
	p.SignupAll = ratelimit.Limit{Burst: 3, Per: time.Minute}
	f := newFixture(t, openSQLite(t), nil, p)
	ctx := context.Background()
	for i := range 3 {
		if _, err := f.svc.Signup(ctx, fmt.Sprintf("new%d@example.com", i), testPassword, client(fmt.Sprintf("198.51.100.%d", i))); err != nil {
			t.Fatalf("sign-up %d: %v", i, err)
		}
	}
	_, err := f.svc.Signup(ctx, "one-too-many@example.com", testPassword, client("203.0.113.200"))
	var rl *accounts.RateLimitedError
	if !errors.As(err, &rl) || rl.Limit != ratelimit.LimitSignupAll || rl.RetryAfter != time.Minute {
		t.Fatalf("fourth sign-up: %v, want rate limited by signup_all for 1m", err)
	}
	if _, err := f.svc.Users().UserByEmail(ctx, "one-too-many@example.com"); !errors.Is(err, users.ErrNotFound) {
		t.Fatalf("refused sign-up created the account: %v", err)
	}
	if f.limiter.Refused(ratelimit.LimitSignupAll) != 1 {
		t.Fatalf("refusal not counted")
	}
}
