package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
)

type fixture struct {
	clk   *clock
	store *ratelimit.Memory
	lim   *ratelimit.Limiter
}

func newFixture(tb testing.TB, p ratelimit.Policy) *fixture {
	tb.Helper()
	f := &fixture{clk: newClock(), store: ratelimit.NewMemory(0)}
	f.lim = mustLimiter(tb, f.store, p, f.clk.Now)
	return f
}

func mustLimiter(tb testing.TB, s ratelimit.Store, p ratelimit.Policy, now func() time.Time) *ratelimit.Limiter {
	tb.Helper()
	l, err := ratelimit.NewLimiter(s, p, now)
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

// attempt runs one sign-in the way accounts does: check, charge (with a hashing slot in
// hand), then report the outcome. It returns the decision without the Known and
// LockoutStarts hints, which tests check separately.
func (f *fixture) attempt(tb testing.TB, ip, account string, success bool) ratelimit.Decision {
	tb.Helper()
	ctx := context.Background()
	d, err := f.lim.CheckLogin(ctx, ip, account)
	if err != nil {
		tb.Fatalf("CheckLogin(%s, %s): %v", ip, account, err)
	}
	if d.Allowed {
		if d, err = f.lim.ChargeLogin(ctx, ip, account, d.Known); err != nil {
			tb.Fatalf("ChargeLogin(%s, %s): %v", ip, account, err)
		}
	}
	if d.Allowed {
		d.Limit = ""
	}
	d.Known, d.LockoutStarts = false, false
	if !d.Allowed {
		return d
	}
	if success {
		err = f.lim.LoginSucceeded(ctx, ip, account)
	} else {
		err = f.lim.LoginFailed(ctx, ip, account)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

var (
	allow     = ratelimit.Decision{Allowed: true}
	lockedAIP = func(d time.Duration) ratelimit.Decision {
		return ratelimit.Decision{Locked: true, Limit: ratelimit.LimitAccountIP, RetryAfter: d}
	}
	ipLimited = func(d time.Duration) ratelimit.Decision {
		return ratelimit.Decision{Limit: ratelimit.LimitIP, RetryAfter: d}
	}
	signupLimited = func(d time.Duration) ratelimit.Decision {
		return ratelimit.Decision{Limit: ratelimit.LimitSignup, RetryAfter: d}
	}
)

// TestLimiterSteps runs short scenarios under the default policy, step by step.
func TestLimiterSteps(t *testing.T) {
	const (
		fail    = "fail"
		success = "success"
		signup  = "signup"
	)
	type step struct {
		advance time.Duration
		op      string
		ip      string
		account string
		n       int // repeat (default 1), each expecting want
		want    ratelimit.Decision
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"five failures lock the pair for a minute", []step{
			{op: fail, ip: "a", account: "u", n: 5, want: allow},
			{op: fail, ip: "a", account: "u", want: lockedAIP(time.Minute)},
			{advance: 20 * time.Second, op: fail, ip: "a", account: "u", want: lockedAIP(40 * time.Second)},
			{advance: 40 * time.Second, op: fail, ip: "a", account: "u", want: allow},
			{op: fail, ip: "a", account: "u", want: lockedAIP(time.Minute)},
		}},
		{"a locked pair refuses the right password too", []step{
			{op: fail, ip: "a", account: "u", n: 5, want: allow},
			{op: success, ip: "a", account: "u", want: lockedAIP(time.Minute)},
		}},
		// (d) A success refills the pair's tiers: the user is not punished for earlier typos.
		{"success resets the account and IP buckets", []step{
			{op: fail, ip: "a", account: "u", n: 4, want: allow},
			{op: success, ip: "a", account: "u", want: allow},
			{op: fail, ip: "a", account: "u", n: 5, want: allow},
			{op: fail, ip: "a", account: "u", want: lockedAIP(time.Minute)},
		}},
		{"without the success the same failures lock", []step{
			{op: fail, ip: "a", account: "u", n: 4, want: allow},
			{op: fail, ip: "a", account: "u", want: allow},
			{op: fail, ip: "a", account: "u", want: lockedAIP(time.Minute)},
		}},
		{"success resets only its own IP", []step{
			{op: fail, ip: "a", account: "u", n: 5, want: allow},
			{op: success, ip: "b", account: "u", want: allow},
			{op: fail, ip: "a", account: "u", want: lockedAIP(time.Minute)},
		}},
		{"accounts are separate", []step{
			{op: fail, ip: "a", account: "u", n: 5, want: allow},
			{op: fail, ip: "a", account: "v", n: 5, want: allow},
			{op: fail, ip: "a", account: "v", want: lockedAIP(time.Minute)},
		}},
		// (e)
		{"signup per IP", []step{
			{op: signup, ip: "a", n: 10, want: allow},
			{op: signup, ip: "a", want: signupLimited(5 * time.Minute)},
			{op: signup, ip: "b", want: allow},
			{op: fail, ip: "a", account: "u", want: allow}, // sign-in has its own buckets
			{advance: 5 * time.Minute, op: signup, ip: "a", want: allow},
			{op: signup, ip: "a", want: signupLimited(5 * time.Minute)},
		}},
		{"IP limit refuses before the account is charged", []step{
			{op: success, ip: "a", account: "other", n: 20, want: allow},
			{op: fail, ip: "a", account: "u", n: 50, want: ipLimited(3 * time.Second)},
			{advance: time.Minute, op: fail, ip: "a", account: "u", n: 5, want: allow},
			{op: fail, ip: "a", account: "u", want: lockedAIP(time.Minute)},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, ratelimit.Policy{})
			for i, s := range tt.steps {
				f.clk.Add(s.advance)
				for j := range max(s.n, 1) {
					var got ratelimit.Decision
					if s.op == signup {
						var err error
						if got, err = f.lim.CheckSignup(context.Background(), s.ip); err != nil {
							t.Fatal(err)
						}
					} else {
						got = f.attempt(t, s.ip, s.account, s.op == success)
					}
					if got != s.want {
						t.Fatalf("step %d.%d (%s %s/%s): got %+v, want %+v", i, j, s.op, s.ip, s.account, got, s.want)
					}
				}
			}
		})
	}
}

// (a) A guesser on one IP and one account is locked after five guesses, then waits longer
// and longer, and gets no more than the slowest tier allows in a day.
func TestBruteForceOneIPIsLockedProgressively(t *testing.T) {
	f := newFixture(t, ratelimit.Policy{})
	start := f.clk.Now()
	var retries []time.Duration
	guesses := 0
	for f.clk.Now().Sub(start) < 24*time.Hour {
		d := f.attempt(t, "203.0.113.9", "victim@example.com", false)
		if d.Allowed {
			guesses++
			continue
		}
		if !d.Locked || d.Limit != ratelimit.LimitAccountIP || d.RetryAfter <= 0 {
			t.Fatalf("after %d guesses: %+v, want an account_ip lockout", guesses, d)
		}
		if len(retries) == 0 && (guesses != 5 || d.RetryAfter != time.Minute) {
			t.Fatalf("first lockout after %d guesses, retry %s; want 5 and 1m", guesses, d.RetryAfter)
		}
		retries = append(retries, d.RetryAfter)
		f.clk.Add(d.RetryAfter) // the guesser comes back the moment he may
	}
	if !slices.IsSorted(retries) {
		t.Errorf("retry delays shrink: %v", retries)
	}
	for _, want := range []time.Duration{time.Minute, 10 * time.Minute, time.Hour} {
		if !slices.Contains(retries, want) {
			t.Errorf("retry delays never reach %s: %v", want, retries)
		}
	}
	if last := retries[len(retries)-1]; last != time.Hour {
		t.Errorf("final retry %s, want 1h", last)
	}
	// The slowest tier (20, then 1/h) bounds a day to 20 + 24 guesses.
	if guesses > 44 {
		t.Errorf("%d guesses in 24h, want at most 44", guesses)
	}
	t.Logf("%d guesses in 24h; retry delays %v", guesses, retries)
}

// (b) While one IP is locked out of an account, the owner on another IP is not.
func TestLockoutOfOneIPSparesOthers(t *testing.T) {
	f := newFixture(t, ratelimit.Policy{})
	for range 5 {
		f.attempt(t, "203.0.113.9", "user@example.com", false)
	}
	tests := []struct {
		name string
		ip   string
		want ratelimit.Decision
	}{
		{"attacker IP locked", "203.0.113.9", lockedAIP(time.Minute)},
		{"owner IP allowed", "198.51.100.20", allow},
		{"attacker IP still locked after the owner", "203.0.113.9", lockedAIP(time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := f.attempt(t, tt.ip, "user@example.com", true); got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// (c) A guesser spread over 1,000 IPs gets PerAccount.Burst guesses and then one per
// PerAccount.Per; the owner on an IP he signed in from before is not locked out.
func TestDistributedGuessingIsThrottledPerAccount(t *testing.T) {
	f := newFixture(t, ratelimit.Policy{})
	const account = "ceo@example.com"
	if d := f.attempt(t, "192.0.2.77", account, true); d != allow {
		t.Fatalf("owner's earlier sign-in: %+v", d)
	}
	f.clk.Add(24 * time.Hour)

	ip := func(i int) string { return fmt.Sprintf("10.%d.%d.1", i/256, i%256) }
	guesses := 0
	for i := range 1000 {
		f.clk.Add(10 * time.Millisecond)
		d := f.attempt(t, ip(i), account, false)
		switch {
		case d.Allowed:
			guesses++
		case !d.Locked || d.Limit != ratelimit.LimitAccount:
			t.Fatalf("IP %d: %+v, want an account lockout", i, d)
		}
	}
	if guesses != 50 {
		t.Fatalf("burst from 1,000 IPs got %d guesses, want 50", guesses)
	}

	// An hour more, a fresh IP every 10 s: one guess per 5 minutes gets through.
	guesses = 0
	for i := range 360 {
		f.clk.Add(10 * time.Second)
		if f.attempt(t, ip(i), account, false).Allowed {
			guesses++
		}
	}
	if guesses < 11 || guesses > 13 {
		t.Fatalf("%d guesses in the next hour, want about 12", guesses)
	}

	tests := []struct {
		name    string
		ip      string
		account string
		want    ratelimit.Decision
	}{
		{"owner on a known IP gets in", "192.0.2.77", account, allow},
		// The documented cost: a sign-in from a new network waits while the attack lasts.
		{"owner on a new IP waits", "198.51.100.5", account, ratelimit.Decision{Locked: true, Limit: ratelimit.LimitAccount}},
		{"another account is untouched", "10.0.0.1", "someone.else@example.com", allow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := f.attempt(t, tt.ip, tt.account, true)
			if got.RetryAfter > 5*time.Minute {
				t.Errorf("retry %s, above the refill interval", got.RetryAfter)
			}
			got.RetryAfter = 0
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// (f) Credential stuffing from one IP: many accounts, one guess each, stops at the IP limit.
func TestCredentialStuffingFromOneIP(t *testing.T) {
	f := newFixture(t, ratelimit.Policy{})
	guesses := 0
	for i := range 1000 {
		d := f.attempt(t, "203.0.113.50", fmt.Sprintf("user%d@example.com", i), false)
		if d.Allowed {
			guesses++
			continue
		}
		if want := ipLimited(3 * time.Second); d != want {
			t.Fatalf("account %d: %+v, want %+v", i, d, want)
		}
	}
	if guesses != 20 {
		t.Fatalf("%d guesses in the burst, want 20", guesses)
	}
	// One more every 3 s: 1,200 an hour.
	guesses = 0
	for i := range 3600 {
		f.clk.Add(time.Second)
		if f.attempt(t, "203.0.113.50", fmt.Sprintf("late%d@example.com", i), false).Allowed {
			guesses++
		}
	}
	if guesses != 1200 {
		t.Fatalf("%d guesses in an hour, want 1200", guesses)
	}
	// Other IPs are not affected.
	if d := f.attempt(t, "198.51.100.1", "user0@example.com", true); d != allow {
		t.Fatalf("other IP: %+v", d)
	}
}

// TestConcurrentGuessesCannotOvershoot checks that attempts are charged before their
// password is checked: a burst of concurrent guesses (all waiting on the password hasher)
// gets no more than the tier allows.
func TestConcurrentGuessesCannotOvershoot(t *testing.T) {
	f := newFixture(t, ratelimit.Policy{})
	ctx := context.Background()
	var mu sync.Mutex
	allowed := 0
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			d, err := f.lim.CheckLogin(ctx, "203.0.113.1", "u@example.com")
			if err == nil && d.Allowed {
				// All of them looked before any charged; the charge decides.
				d, err = f.lim.ChargeLogin(ctx, "203.0.113.1", "u@example.com", d.Known)
			}
			if err != nil {
				t.Error(err)
				return
			}
			if d.Allowed {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	// Only now do the "password checks" finish.
	for range allowed {
		if err := f.lim.LoginFailed(ctx, "203.0.113.1", "u@example.com"); err != nil {
			t.Fatal(err)
		}
	}
	if allowed != 5 {
		t.Fatalf("%d concurrent guesses allowed, want 5", allowed)
	}
}

func TestKnownIPExpires(t *testing.T) {
	tests := []struct {
		name     string
		knownFor time.Duration
		later    time.Duration
		want     string // the limit that refuses the owner while the account bucket is empty
	}{
		{"known within KnownFor", 7 * 24 * time.Hour, 6 * 24 * time.Hour, ""},
		{"forgotten after KnownFor", 7 * 24 * time.Hour, 8 * 24 * time.Hour, ratelimit.LimitAccount},
		{"exemption disabled", -1, time.Hour, ratelimit.LimitAccount},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ratelimit.Policy{PerAccount: ratelimit.Limit{Burst: 3, Per: 24 * time.Hour}, KnownFor: tt.knownFor}
			f := newFixture(t, p)
			f.attempt(t, "192.0.2.1", "u", true)
			f.clk.Add(tt.later)
			for i := range 3 {
				f.attempt(t, fmt.Sprintf("10.0.0.%d", i), "u", false)
			}
			if got := f.attempt(t, "192.0.2.1", "u", true); got.Limit != tt.want {
				t.Fatalf("owner got %+v, want limit %q", got, tt.want)
			}
		})
	}
}

// recordingStore wraps a Store, records keys, and can fail.
type recordingStore struct {
	ratelimit.Store
	mu   sync.Mutex
	keys []string
	fail func(op, key string) error
}

func (s *recordingStore) hook(op, key string) error {
	s.mu.Lock()
	s.keys = append(s.keys, key)
	s.mu.Unlock()
	if s.fail != nil {
		return s.fail(op, key)
	}
	return nil
}

func (s *recordingStore) Allow(ctx context.Context, key string, l ratelimit.Limit, now time.Time) (ratelimit.Result, error) {
	if err := s.hook("allow", key); err != nil {
		return ratelimit.Result{}, err
	}
	return s.Store.Allow(ctx, key, l, now)
}

func (s *recordingStore) Peek(ctx context.Context, key string, l ratelimit.Limit, now time.Time) (ratelimit.Result, error) {
	if err := s.hook("peek", key); err != nil {
		return ratelimit.Result{}, err
	}
	return s.Store.Peek(ctx, key, l, now)
}

func (s *recordingStore) Reset(ctx context.Context, key string) error {
	if err := s.hook("reset", key); err != nil {
		return err
	}
	return s.Store.Reset(ctx, key)
}

// TestStoreErrorsFailClosed checks that every store failure comes back as an error with a
// refusing Decision, except a full store refusing to remember a known IP after a success.
func TestStoreErrorsFailClosed(t *testing.T) {
	down := errors.New("redis: connection refused")
	failAll := func(string, string) error { return down }
	tests := []struct {
		name    string
		fail    func(op, key string) error
		call    func(l *ratelimit.Limiter) (ratelimit.Decision, error)
		wantErr error
	}{
		{"CheckLogin, store down", failAll, func(l *ratelimit.Limiter) (ratelimit.Decision, error) {
			return l.CheckLogin(context.Background(), "a", "u")
		}, down},
		{"CheckLogin, account bucket down", func(op, key string) error {
			if strings.HasPrefix(key, "acct:") {
				return down
			}
			return nil
		}, func(l *ratelimit.Limiter) (ratelimit.Decision, error) {
			return l.CheckLogin(context.Background(), "a", "u")
		}, down},
		{"ChargeLogin, account bucket down", func(op, key string) error {
			if op == "allow" && strings.HasPrefix(key, "aip2:") {
				return down
			}
			return nil
		}, func(l *ratelimit.Limiter) (ratelimit.Decision, error) {
			return l.ChargeLogin(context.Background(), "a", "u", false)
		}, down},
		{"CheckSignup, global bucket down", func(op, key string) error {
			if strings.HasPrefix(key, "signupall:") {
				return down
			}
			return nil
		}, func(l *ratelimit.Limiter) (ratelimit.Decision, error) {
			return l.CheckSignup(context.Background(), "a")
		}, down},
		{"CheckLogin, store full", func(string, string) error { return ratelimit.ErrFull },
			func(l *ratelimit.Limiter) (ratelimit.Decision, error) {
				return l.CheckLogin(context.Background(), "a", "u")
			}, ratelimit.ErrFull},
		{"CheckSignup, store down", failAll, func(l *ratelimit.Limiter) (ratelimit.Decision, error) {
			return l.CheckSignup(context.Background(), "a")
		}, down},
		{"LoginSucceeded, store down", failAll, func(l *ratelimit.Limiter) (ratelimit.Decision, error) {
			return ratelimit.Decision{}, l.LoginSucceeded(context.Background(), "a", "u")
		}, down},
		{"LoginSucceeded, no room for the known IP", func(op, key string) error {
			if op == "allow" && strings.HasPrefix(key, "known:") {
				return ratelimit.ErrFull
			}
			return nil
		}, func(l *ratelimit.Limiter) (ratelimit.Decision, error) {
			return ratelimit.Decision{}, l.LoginSucceeded(context.Background(), "a", "u")
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &recordingStore{Store: ratelimit.NewMemory(0), fail: tt.fail}
			l := mustLimiter(t, s, ratelimit.Policy{}, newClock().Now)
			d, err := tt.call(l)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if d.Allowed {
				t.Fatalf("Decision %+v allows despite the store error", d)
			}
		})
	}
}

// TestKeysCarryNoAccount checks that bucket keys hold a hash of the account, never the
// address itself, and one prefix per kind of bucket.
func TestKeysCarryNoAccount(t *testing.T) {
	s := &recordingStore{Store: ratelimit.NewMemory(0)}
	clk := newClock()
	l := mustLimiter(t, s, ratelimit.Policy{}, clk.Now)
	ctx := context.Background()
	const account = "alice@example.com"
	if _, err := l.CheckLogin(ctx, "2001:db8::/64", account); err != nil {
		t.Fatal(err)
	}
	if _, err := l.ChargeLogin(ctx, "2001:db8::/64", account, false); err != nil {
		t.Fatal(err)
	}
	if err := l.LoginSucceeded(ctx, "2001:db8::/64", account); err != nil {
		t.Fatal(err)
	}
	if _, err := l.CheckSignup(ctx, "2001:db8::/64"); err != nil {
		t.Fatal(err)
	}
	prefixes := map[string]bool{}
	for _, k := range s.keys {
		if strings.Contains(k, "alice") || strings.Contains(k, "@") {
			t.Errorf("key %q carries the account", k)
		}
		prefixes[k[:strings.IndexByte(k, ':')]] = true
	}
	for _, want := range []string{"ip", "aip1", "aip2", "aip3", "acct", "known", "signup", "signupall"} {
		if !prefixes[want] {
			t.Errorf("no key with prefix %q in %v", want, s.keys)
		}
	}
}

func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		name    string
		p       ratelimit.Policy
		wantErr []string // substrings, one per problem
	}{
		{"zero policy takes the defaults", ratelimit.Policy{}, nil},
		{"defaults", ratelimit.DefaultPolicy(), nil},
		{"bad IP limit", ratelimit.Policy{PerIP: ratelimit.Limit{Burst: -1, Per: time.Second}}, []string{"per_ip"}},
		{"empty tier list", ratelimit.Policy{PerAccountIP: []ratelimit.Limit{}}, []string{"at least one tier"}},
		{"every problem at once", ratelimit.Policy{
			PerAccountIP: []ratelimit.Limit{{Burst: 5, Per: time.Minute}, {Burst: 0, Per: time.Hour}},
			PerAccount:   ratelimit.Limit{Burst: 1},
			Signup:       ratelimit.Limit{Per: time.Second},
			KnownFor:     100 * 365 * 24 * time.Hour,
		}, []string{"per_account_ip[1]", "per_account:", "signup", "known_for"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate accepted an invalid policy")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if _, nerr := ratelimit.NewLimiter(ratelimit.NewMemory(0), tt.p, time.Now); nerr == nil {
				t.Error("NewLimiter accepted an invalid policy")
			}
		})
	}
	if _, err := ratelimit.NewLimiter(nil, ratelimit.Policy{}, time.Now); err == nil {
		t.Error("NewLimiter accepted a nil store")
	}
	if _, err := ratelimit.NewLimiter(ratelimit.NewMemory(0), ratelimit.Policy{}, nil); err == nil {
		t.Error("NewLimiter accepted a nil clock")
	}
}

func BenchmarkCheckLogin(b *testing.B) {
	l := mustLimiter(b, ratelimit.NewMemory(0), ratelimit.Policy{}, time.Now)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		// Distinct IPs and accounts, so that checks take the full path of an allowed attempt.
		n := i & 0xffff
		if _, err := l.CheckLogin(ctx, fmt.Sprintf("10.0.%d.%d", n>>8, n&255), fmt.Sprintf("u%d@example.com", n)); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCheckDoesNotChargeTheAccount checks that an attempt that never reaches ChargeLogin
// (its password was not checked: the hasher was saturated or the store failed) costs the
// account nothing, however often it is retried.
func TestCheckDoesNotChargeTheAccount(t *testing.T) {
	f := newFixture(t, ratelimit.Policy{PerIP: ratelimit.Limit{Burst: 1000, Per: time.Millisecond}})
	ctx := context.Background()
	for i := range 50 {
		d, err := f.lim.CheckLogin(ctx, "203.0.113.1", "u@example.com")
		if err != nil || !d.Allowed {
			t.Fatalf("check %d: %+v, %v", i, d, err)
		}
	}
	// The account is untouched: five failures still take to lock it.
	for i := range 5 {
		if got := f.attempt(t, "203.0.113.1", "u@example.com", false); got != allow {
			t.Fatalf("failure %d after 50 unchecked attempts: %+v", i+1, got)
		}
	}
	if got := f.attempt(t, "203.0.113.1", "u@example.com", true); got != lockedAIP(time.Minute) {
		t.Fatalf("sixth attempt: %+v, want locked", got)
	}
}

// TestLockoutStarts checks that ChargeLogin says when an attempt empties an account
// bucket, once per lockout, and that refusals are counted per limit.
func TestLockoutStarts(t *testing.T) {
	f := newFixture(t, ratelimit.Policy{})
	ctx := context.Background()
	var starts []int
	for i := range 12 {
		d, err := f.lim.CheckLogin(ctx, "203.0.113.1", "u@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed {
			if d, err = f.lim.ChargeLogin(ctx, "203.0.113.1", "u@example.com", d.Known); err != nil {
				t.Fatal(err)
			}
		}
		if d.LockoutStarts {
			starts = append(starts, i)
			if d.Limit != ratelimit.LimitAccountIP || !d.Allowed {
				t.Fatalf("lockout start %+v, want allowed, naming account_ip", d)
			}
		}
	}
	if fmt.Sprint(starts) != "[4]" {
		t.Fatalf("lockout started at attempts %v, want [4] (the fifth)", starts)
	}
	if got := f.lim.Refused(ratelimit.LimitAccountIP); got != 7 {
		t.Fatalf("Refused(account_ip) = %d, want 7", got)
	}
	if got := f.lim.Refused(ratelimit.LimitIP) + f.lim.Refused("nonsense"); got != 0 {
		t.Fatalf("other refusals = %d, want 0", got)
	}
}

// TestGlobalSignupCap checks that sign-ups from many addresses share one global bucket, and
// that a refused per-IP sign-up does not spend a global token.
func TestGlobalSignupCap(t *testing.T) {
	f := newFixture(t, ratelimit.Policy{SignupAll: ratelimit.Limit{Burst: 3, Per: time.Second}})
	ctx := context.Background()
	for i := range 3 {
		if d, err := f.lim.CheckSignup(ctx, fmt.Sprintf("198.51.100.%d", i)); err != nil || !d.Allowed {
			t.Fatalf("sign-up %d: %+v, %v", i, d, err)
		}
	}
	d, err := f.lim.CheckSignup(ctx, "198.51.100.200")
	if err != nil || d != (ratelimit.Decision{Limit: ratelimit.LimitSignupAll, RetryAfter: time.Second}) {
		t.Fatalf("fourth sign-up from a fourth IP: %+v, %v; want refused by signup_all for 1s", d, err)
	}

	// One IP's refused sign-ups leave the global bucket alone: of a global burst of 20, the
	// IP's own 10 and 10 from elsewhere pass, the 21st does not.
	f = newFixture(t, ratelimit.Policy{SignupAll: ratelimit.Limit{Burst: 20, Per: time.Hour}})
	allowed := 0
	for range 30 {
		if d, _ := f.lim.CheckSignup(ctx, "203.0.113.9"); d.Allowed {
			allowed++
		}
	}
	for i := range 11 {
		if d, _ := f.lim.CheckSignup(ctx, fmt.Sprintf("198.51.100.%d", i)); d.Allowed {
			allowed++
		}
	}
	if allowed != 20 || f.lim.Refused(ratelimit.LimitSignup) != 20 || f.lim.Refused(ratelimit.LimitSignupAll) != 1 {
		t.Fatalf("allowed %d, refusals signup %d signup_all %d; want 20, 20, 1", allowed,
			f.lim.Refused(ratelimit.LimitSignup), f.lim.Refused(ratelimit.LimitSignupAll))
	}
}

func TestNetworkKey(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"192.0.2.77", "192.0.2.0/24"},
		{"2001:db8:1:2::/64", "2001:db8:1:2::/64"},
		{"unknown", "unknown"},
	} {
		if got := ratelimit.NetworkKey(tt.in); got != tt.want {
			t.Errorf("NetworkKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSampler(t *testing.T) {
	clk := newClock()
	s := ratelimit.NewSampler(time.Minute, 2)
	steps := []struct {
		key  string
		move time.Duration
		want bool
	}{
		{"a", 0, true},
		{"a", 0, false},
		{"a", 59 * time.Second, false},
		{"b", 0, true},
		{"c", 0, false}, // full, nothing expired
		{"a", time.Second, true},
		{"c", 0, false},               // full: b's window (started 1 s ago) is still open
		{"c", 59 * time.Second, true}, // b's window ended: forgotten
		{"c", 0, false},
	}
	for i, st := range steps {
		clk.Add(st.move)
		if got := s.First(st.key, clk.Now()); got != st.want {
			t.Fatalf("step %d (%s): First = %v, want %v", i, st.key, got, st.want)
		}
	}
}
