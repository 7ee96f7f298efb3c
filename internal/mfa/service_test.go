package mfa_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/clock"
	"github.com/gatehouse-auth/gatehouse/internal/mfa"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
)

var kek = bytes.Repeat([]byte{7}, 32)

// env is one Service over fakes and a fake clock; instance() makes a second Service over the
// same stores (a second server).
type env struct {
	clk    *clock.Fake
	store  *memStore
	used   *memUsed
	limits *ratelimit.Memory
	svc    *mfa.Service
}

func newEnv(t testing.TB) *env {
	t.Helper()
	// 10 s into a 30-second step, so ±1 step is ±30 s away from any boundary question.
	e := &env{
		clk:    clock.NewFake(time.Date(2030, 1, 1, 0, 0, 10, 0, time.UTC)),
		store:  newMemStore(),
		used:   newMemUsed(),
		limits: ratelimit.NewMemory(0),
	}
	e.svc = e.instance(t)
	return e
}

func (e *env) instance(t testing.TB) *mfa.Service {
	t.Helper()
	att, err := mfa.NewAttempts(e.limits, nil, e.clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	s, err := mfa.New(mfa.Config{Issuer: "Gatehouse Test", KEK: kek}, e.store, e.used, att, e.clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// enrolled enrols and confirms a TOTP factor for user and returns its seed and recovery
// codes. The clock is moved past the confirming code's window.
func (e *env) enrolled(t testing.TB, user string) (seed []byte, codes []string) {
	t.Helper()
	ctx := context.Background()
	en, err := e.svc.Enrol(ctx, user, user+"@example.com")
	if err != nil {
		t.Fatal(err)
	}
	seed, err = mfa.ParseSeed(string(en.Secret))
	if err != nil {
		t.Fatal(err)
	}
	codes, err = e.svc.Confirm(ctx, user, mfa.Code(seed, e.clk.Now()))
	if err != nil {
		t.Fatal(err)
	}
	e.clk.Add(3 * mfa.Period)
	return seed, codes
}

func TestEnrolConfirm(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	en, err := e.svc.Enrol(ctx, "u1", "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	uri := string(en.URI)
	if !strings.HasPrefix(uri, "otpauth://totp/Gatehouse%20Test:alice%40example.com?secret="+string(en.Secret)+"&") {
		t.Fatalf("URI %s", uri)
	}
	if !strings.HasPrefix(string(en.QR), "data:image/png;base64,") {
		t.Fatalf("QR %.40s", en.QR)
	}
	// Secrets never print or log.
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("enrol", "e", en, "secret", en.Secret)
	if s := fmt.Sprintf("%v %+v %#v", en, en, en) + logged.String(); strings.Contains(s, string(en.Secret)) {
		t.Fatalf("secret printed: %s", s)
	}
	// The seed is stored sealed.
	f, _ := e.store.Factor(ctx, "u1")
	seed, _ := mfa.ParseSeed(string(en.Secret))
	if bytes.Contains(f.Seed, seed) || f.Confirmed() {
		t.Fatalf("stored factor %+v", f)
	}
	if st, err := e.svc.Status(ctx, "u1"); err != nil || st.TOTP || !st.TOTPPending {
		t.Fatalf("status while pending: %+v %v", st, err)
	}
	// A pending factor is no second factor yet.
	if err := e.svc.Verify(ctx, "u1", mfa.Code(seed, e.clk.Now())); !errors.Is(err, mfa.ErrNotEnrolled) {
		t.Fatalf("verify while pending: %v", err)
	}
	if _, err := e.svc.Confirm(ctx, "u1", "12x456"); !errors.Is(err, mfa.ErrMalformedCode) {
		t.Fatalf("malformed: %v", err)
	}
	wrong := fmt.Sprintf("%06d", (atoi(mfa.Code(seed, e.clk.Now()))+1)%1_000_000)
	if _, err := e.svc.Confirm(ctx, "u1", wrong); !errors.Is(err, mfa.ErrInvalidCode) {
		t.Fatalf("wrong code: %v", err)
	}
	code := mfa.Code(seed, e.clk.Now())
	codes, err := e.svc.Confirm(ctx, "u1", code)
	if err != nil || len(codes) != mfa.RecoveryCodes {
		t.Fatalf("confirm: %d codes, %v", len(codes), err)
	}
	if st, err := e.svc.Status(ctx, "u1"); err != nil || !st.TOTP || st.TOTPPending || st.RecoveryCodes != 10 || !st.TOTPSince.Equal(e.clk.Now()) {
		t.Fatalf("status: %+v %v", st, err)
	}
	// The confirming code cannot sign in afterwards.
	if err := e.svc.Verify(ctx, "u1", code); !errors.Is(err, mfa.ErrReplayedCode) {
		t.Fatalf("confirming code reused: %v", err)
	}
	if _, err := e.svc.Confirm(ctx, "u1", code); !errors.Is(err, mfa.ErrAlreadyEnrolled) {
		t.Fatalf("confirm twice: %v", err)
	}
	if _, err := e.svc.Enrol(ctx, "u1", "alice@example.com"); !errors.Is(err, mfa.ErrAlreadyEnrolled) {
		t.Fatalf("enrol over a confirmed factor: %v", err)
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func TestPendingExpires(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	en, err := e.svc.Enrol(ctx, "u1", "a@example.com")
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := mfa.ParseSeed(string(en.Secret))
	e.clk.Add(mfa.PendingFor)
	if _, err := e.svc.Confirm(ctx, "u1", mfa.Code(seed, e.clk.Now())); !errors.Is(err, mfa.ErrNotEnrolled) {
		t.Fatalf("confirm after %s: %v", mfa.PendingFor, err)
	}
	if st, _ := e.svc.Status(ctx, "u1"); st.TOTPPending {
		t.Fatal("expired enrolment shown as pending")
	}
	// A new enrolment replaces it, with a new secret.
	en2, err := e.svc.Enrol(ctx, "u1", "a@example.com")
	if err != nil || en2.Secret == en.Secret || en2.FactorID == en.FactorID {
		t.Fatalf("re-enrol: %v", err)
	}
	seed2, _ := mfa.ParseSeed(string(en2.Secret))
	if _, err := e.svc.Confirm(ctx, "u1", mfa.Code(seed, e.clk.Now())); !errors.Is(err, mfa.ErrInvalidCode) {
		t.Fatalf("the replaced secret confirmed: %v", err)
	}
	if _, err := e.svc.Confirm(ctx, "u1", mfa.Code(seed2, e.clk.Now())); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyWindow(t *testing.T) {
	for _, tt := range []struct {
		name  string
		steps int // the code's step relative to the verifier's clock
		ok    bool
	}{
		{"current", 0, true},
		{"one behind", -1, true},
		{"one ahead", 1, true},
		{"two behind", -2, false},
		{"two ahead", 2, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			seed, _ := e.enrolled(t, "u1")
			code := mfa.Code(seed, e.clk.Now().Add(time.Duration(tt.steps)*mfa.Period))
			err := e.svc.Verify(context.Background(), "u1", code)
			if tt.ok && err != nil || !tt.ok && !errors.Is(err, mfa.ErrInvalidCode) {
				t.Fatalf("Verify: %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestVerifyOnce(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	seed, _ := e.enrolled(t, "u1")
	usedAt := e.clk.Now()
	code := mfa.Code(seed, usedAt)
	if err := e.svc.Verify(ctx, "u1", code); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Verify(ctx, "u1", code); !errors.Is(err, mfa.ErrReplayedCode) || !errors.Is(err, mfa.ErrInvalidCode) {
		t.Fatalf("second use: %v, want ErrReplayedCode (an ErrInvalidCode)", err)
	}
	// On another instance sharing the stores, and while the code is still in its window.
	other := e.instance(t)
	e.clk.Add(mfa.Period)
	if err := other.Verify(ctx, "u1", code); !errors.Is(err, mfa.ErrReplayedCode) {
		t.Fatalf("use on a second instance: %v", err)
	}
	// The next code works.
	if err := other.Verify(ctx, "u1", mfa.Code(seed, e.clk.Now())); err != nil {
		t.Fatal(err)
	}
	// A code is remembered until it can no longer be valid, and not much longer.
	st := usedAt.Unix() / int64(mfa.Period/time.Second)
	lastValid := time.Unix((st+2)*int64(mfa.Period/time.Second), 0) // end of step st+1
	e.used.mu.Lock()
	defer e.used.mu.Unlock()
	var until time.Time
	for k, u := range e.used.until {
		if strings.HasSuffix(k, fmt.Sprintf(":%d", st)) {
			until = u
		}
	}
	if until.Before(lastValid) || until.After(lastValid.Add(2*mfa.Period)) {
		t.Fatalf("the code of step %d is remembered until %s; it is valid until %s", st, until, lastValid)
	}
}

func TestVerifyRace(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	seed, _ := e.enrolled(t, "u1")
	a, b := e.svc, e.instance(t)
	code := mfa.Code(seed, e.clk.Now())
	var wins, replays atomic.Int64
	var wg sync.WaitGroup
	for i := range 4 { // within the burst of 5
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := a
			if i%2 == 1 {
				s = b
			}
			switch err := s.Verify(ctx, "u1", code); {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, mfa.ErrReplayedCode):
				replays.Add(1)
			default:
				t.Errorf("verify: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 || replays.Load() != 3 {
		t.Fatalf("%d concurrent uses of one code succeeded and %d were refused as replays; want 1 and 3", wins.Load(), replays.Load())
	}
}

func TestVerifyErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.svc.Verify(ctx, "nobody", "123456"); !errors.Is(err, mfa.ErrNotEnrolled) {
		t.Fatalf("no factor: %v", err)
	}
	for _, in := range []string{"", "12345", "1234567", "abcdef", "12 34 5"} {
		if err := e.svc.Verify(ctx, "nobody", in); !errors.Is(err, mfa.ErrMalformedCode) {
			t.Errorf("Verify(%q): %v, want ErrMalformedCode", in, err)
		}
	}
}

// wrongCode returns a well-formed code that is not valid at now (nor one step either side).
func wrongCode(seed []byte, now time.Time) string {
	valid := map[string]bool{}
	for d := -1; d <= 1; d++ {
		valid[mfa.Code(seed, now.Add(time.Duration(d)*mfa.Period))] = true
	}
	for n := 0; ; n++ {
		c := fmt.Sprintf("%06d", n)
		if !valid[c] {
			return c
		}
	}
}

func TestAttemptsLimit(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	seed, recovery := e.enrolled(t, "u1")
	e.enrolled(t, "u2")
	bad := wrongCode(seed, e.clk.Now())
	for i := range 4 {
		if err := e.svc.Verify(ctx, "u1", bad); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("wrong code %d: %v", i+1, err)
		}
	}
	// The limit spans paths: the fifth wrong attempt is a recovery code.
	if _, err := e.svc.UseRecoveryCode(ctx, "u1", "00000-00000"); !errors.Is(err, mfa.ErrInvalidCode) {
		t.Fatalf("wrong recovery code: %v", err)
	}
	// Now even the right code and a right recovery code are refused, on any instance.
	var lim *mfa.LimitedError
	if err := e.svc.Verify(ctx, "u1", mfa.Code(seed, e.clk.Now())); !errors.As(err, &lim) || !errors.Is(err, mfa.ErrTooManyAttempts) {
		t.Fatalf("sixth attempt: %v, want a LimitedError", err)
	}
	if lim.RetryAfter <= 0 || lim.RetryAfter > time.Minute {
		t.Fatalf("RetryAfter %s", lim.RetryAfter)
	}
	if _, err := e.instance(t).UseRecoveryCode(ctx, "u1", recovery[0]); !errors.Is(err, mfa.ErrTooManyAttempts) {
		t.Fatalf("recovery code on another instance: %v", err)
	}
	if n, _ := e.store.RecoveryCodesLeft(ctx, "u1"); n != 10 {
		t.Fatalf("a refused attempt consumed a recovery code: %d left", n)
	}
	// Another user is not affected.
	if err := e.svc.Verify(ctx, "u2", "000000"); errors.Is(err, mfa.ErrTooManyAttempts) {
		t.Fatalf("u2 limited by u1's failures: %v", err)
	}
	// A minute later, one more attempt.
	e.clk.Add(time.Minute)
	if err := e.svc.Verify(ctx, "u1", wrongCode(seed, e.clk.Now())); !errors.Is(err, mfa.ErrInvalidCode) {
		t.Fatalf("attempt after a minute: %v", err)
	}
	if err := e.svc.Verify(ctx, "u1", mfa.Code(seed, e.clk.Now())); !errors.Is(err, mfa.ErrTooManyAttempts) {
		t.Fatalf("second attempt in that minute: %v", err)
	}
	// A success refills the buckets.
	e.clk.Add(time.Minute)
	if err := e.svc.Verify(ctx, "u1", mfa.Code(seed, e.clk.Now())); err != nil {
		t.Fatal(err)
	}
	e.clk.Add(mfa.Period)
	for i := range 4 {
		if err := e.svc.Verify(ctx, "u1", wrongCode(seed, e.clk.Now())); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("wrong code %d after success: %v", i+1, err)
		}
	}
}

func TestAttemptsSlowTiers(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	att, err := mfa.NewAttempts(e.limits, nil, e.clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	// One attempt a minute for an hour.
	allowed := 0
	for range 60 {
		if att.Check(ctx, "u1") == nil {
			allowed++
		}
		e.clk.Add(time.Minute)
	}
	// The first tier alone would allow all 60. The 10-minute tier allows its burst of 10
	// and one per 10 minutes after: attempt k (from 0) needs minute 10k-90, so 15 by minute 59.
	if allowed != 15 {
		t.Fatalf("%d attempts allowed in an hour at one a minute; want 15", allowed)
	}
	if _, err := mfa.NewAttempts(e.limits, []ratelimit.Limit{{Burst: 0, Per: time.Minute}}, e.clk.Now); err == nil {
		t.Fatal("a zero-burst tier was accepted")
	}
}

func TestRecoveryCodes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, codes := e.enrolled(t, "u1")
	_, otherCodes := e.enrolled(t, "u2")
	seen := map[string]bool{}
	for _, c := range codes {
		if len(c) != 11 || c[5] != '-' || seen[c] {
			t.Fatalf("codes %q", codes)
		}
		seen[c] = true
	}
	// Only MACs are stored.
	e.store.mu.Lock()
	for _, m := range e.store.codes["u1"] {
		for _, c := range codes {
			canon, _ := mfa.ParseRecoveryCode(c)
			if bytes.Contains(m, []byte(canon)) || len(m) != 32 {
				t.Fatalf("stored code %x", m)
			}
		}
	}
	e.store.mu.Unlock()

	// Typed carelessly: upper case, spaces, no dash.
	typed := strings.ToUpper(codes[0][:5] + " " + codes[0][6:])
	if left, err := e.svc.UseRecoveryCode(ctx, "u1", typed); err != nil || left != 9 {
		t.Fatalf("use %q: %d left, %v", typed, left, err)
	}
	if _, err := e.svc.UseRecoveryCode(ctx, "u1", codes[0]); !errors.Is(err, mfa.ErrInvalidCode) {
		t.Fatalf("second use: %v", err)
	}
	if _, err := e.svc.UseRecoveryCode(ctx, "u1", otherCodes[0]); !errors.Is(err, mfa.ErrInvalidCode) {
		t.Fatalf("another user's code: %v", err)
	}
	// Even with the stored rows of u2 copied to u1 (a database write), u2's codes do not
	// work for u1: the MAC covers the user.
	e.store.mu.Lock()
	e.store.codes["u1"] = append(e.store.codes["u1"], e.store.codes["u2"]...)
	e.store.mu.Unlock()
	if _, err := e.svc.UseRecoveryCode(ctx, "u1", otherCodes[0]); !errors.Is(err, mfa.ErrInvalidCode) {
		t.Fatalf("another user's code, rows copied: %v", err)
	}
	e.store.mu.Lock()
	e.store.codes["u1"] = e.store.codes["u1"][:9]
	e.store.mu.Unlock()
	if _, err := e.svc.UseRecoveryCode(ctx, "u1", "not a code"); !errors.Is(err, mfa.ErrMalformedCode) {
		t.Fatalf("malformed: %v", err)
	}
	if left, err := e.svc.UseRecoveryCode(ctx, "u1", codes[1]); err != nil || left != 8 {
		t.Fatalf("use: %d left, %v", left, err)
	}

	fresh, err := e.svc.RegenerateRecoveryCodes(ctx, "u1")
	if err != nil || len(fresh) != 10 {
		t.Fatalf("regenerate: %v", err)
	}
	if _, err := e.svc.UseRecoveryCode(ctx, "u1", codes[2]); !errors.Is(err, mfa.ErrInvalidCode) {
		t.Fatalf("an old code after regeneration: %v", err)
	}
	if left, err := e.svc.UseRecoveryCode(ctx, "u1", fresh[9]); err != nil || left != 9 {
		t.Fatalf("new code: %d left, %v", left, err)
	}
	// Only u1's codes changed.
	if left, err := e.svc.UseRecoveryCode(ctx, "u2", otherCodes[1]); err != nil || left != 9 {
		t.Fatalf("u2: %d left, %v", left, err)
	}
}

func TestRemove(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	seed, codes := e.enrolled(t, "u1")
	if err := e.svc.Remove(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Verify(ctx, "u1", mfa.Code(seed, e.clk.Now())); !errors.Is(err, mfa.ErrNotEnrolled) {
		t.Fatalf("verify after removal: %v", err)
	}
	if err := e.svc.Remove(ctx, "u1"); !errors.Is(err, mfa.ErrNotEnrolled) {
		t.Fatalf("remove twice: %v", err)
	}
	// Recovery codes outlive the app until removed explicitly.
	if st, _ := e.svc.Status(ctx, "u1"); st.TOTP || st.RecoveryCodes != 10 {
		t.Fatalf("status after removal: %+v", st)
	}
	if err := e.svc.RemoveRecoveryCodes(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.UseRecoveryCode(ctx, "u1", codes[0]); !errors.Is(err, mfa.ErrInvalidCode) {
		t.Fatalf("recovery code after removal: %v", err)
	}
	// Enrolling again works, with a new secret.
	seed2, _ := e.enrolled(t, "u1")
	if bytes.Equal(seed, seed2) {
		t.Fatal("same secret after re-enrolment")
	}
}

func TestImport(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const imported = "JBSWY3DPEHPK3PXP" // an 80-bit seed, as older apps hold
	if err := e.svc.Import(ctx, "u1", strings.ToLower(imported)); err != nil {
		t.Fatal(err)
	}
	seed, _ := mfa.ParseSeed(imported)
	if err := e.svc.Verify(ctx, "u1", mfa.Code(seed, e.clk.Now())); err != nil {
		t.Fatalf("imported seed: %v", err)
	}
	if st, _ := e.svc.Status(ctx, "u1"); !st.TOTP || st.RecoveryCodes != 0 {
		t.Fatalf("status: %+v", st)
	}
	if err := e.svc.Import(ctx, "u1", imported); !errors.Is(err, mfa.ErrAlreadyEnrolled) {
		t.Fatalf("import twice: %v", err)
	}
	if err := e.svc.Import(ctx, "u2", "not base32!"); err == nil {
		t.Fatal("a bad seed was imported")
	}
}

func TestFailClosed(t *testing.T) {
	ctx := context.Background()
	t.Run("used codes", func(t *testing.T) {
		e := newEnv(t)
		seed, _ := e.enrolled(t, "u1")
		e.used.fail = errDown
		if err := e.svc.Verify(ctx, "u1", mfa.Code(seed, e.clk.Now())); !errors.Is(err, errDown) {
			t.Fatalf("Verify with the used-code store down: %v", err)
		}
	})
	t.Run("factors", func(t *testing.T) {
		e := newEnv(t)
		seed, _ := e.enrolled(t, "u1")
		e.store.fail = errDown
		if err := e.svc.Verify(ctx, "u1", mfa.Code(seed, e.clk.Now())); !errors.Is(err, errDown) {
			t.Fatalf("Verify with the store down: %v", err)
		}
		if _, err := e.svc.UseRecoveryCode(ctx, "u1", "abcde-fghjk"); !errors.Is(err, errDown) {
			t.Fatalf("UseRecoveryCode with the store down: %v", err)
		}
	})
	t.Run("limits", func(t *testing.T) {
		e := newEnv(t)
		seed, codes := e.enrolled(t, "u1")
		att, err := mfa.NewAttempts(downLimits{}, nil, e.clk.Now)
		if err != nil {
			t.Fatal(err)
		}
		s, err := mfa.New(mfa.Config{Issuer: "x", KEK: kek}, e.store, e.used, att, e.clk.Now)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Verify(ctx, "u1", mfa.Code(seed, e.clk.Now())); !errors.Is(err, errDown) {
			t.Fatalf("Verify with the limiter down: %v", err)
		}
		if _, err := s.UseRecoveryCode(ctx, "u1", codes[0]); !errors.Is(err, errDown) {
			t.Fatalf("UseRecoveryCode with the limiter down: %v", err)
		}
	})
	t.Run("other KEK", func(t *testing.T) {
		e := newEnv(t)
		seed, _ := e.enrolled(t, "u1")
		att, _ := mfa.NewAttempts(e.limits, nil, e.clk.Now)
		s, err := mfa.New(mfa.Config{Issuer: "x", KEK: bytes.Repeat([]byte{8}, 32)}, e.store, e.used, att, e.clk.Now)
		if err != nil {
			t.Fatal(err)
		}
		err = s.Verify(ctx, "u1", mfa.Code(seed, e.clk.Now()))
		if err == nil || errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("Verify under another KEK: %v, want an operator error", err)
		}
	})
}

type downLimits struct{}

func (downLimits) Allow(context.Context, string, ratelimit.Limit, time.Time) (ratelimit.Result, error) {
	return ratelimit.Result{}, errDown
}
func (downLimits) Peek(context.Context, string, ratelimit.Limit, time.Time) (ratelimit.Result, error) {
	return ratelimit.Result{}, errDown
}
func (downLimits) Reset(context.Context, string) error { return errDown }

func TestNewValidates(t *testing.T) {
	att, _ := mfa.NewAttempts(ratelimit.NewMemory(0), nil, time.Now)
	for name, cfg := range map[string]mfa.Config{
		"no issuer":   {KEK: kek},
		"colon":       {Issuer: "a:b", KEK: kek},
		"short KEK":   {Issuer: "x", KEK: kek[:16]},
		"missing KEK": {Issuer: "x"},
	} {
		if _, err := mfa.New(cfg, newMemStore(), newMemUsed(), att, time.Now); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func BenchmarkVerifyService(b *testing.B) {
	// Verify end to end over the in-memory fakes: limiter check and reset, factor lookup,
	// unsealing, three HMACs, the replay mark. Each iteration moves the clock one step so
	// that a fresh code is verified.
	e := newEnv(b)
	seed, _ := e.enrolled(b, "u1")
	ctx := context.Background()
	for b.Loop() {
		e.clk.Add(mfa.Period)
		if err := e.svc.Verify(ctx, "u1", mfa.Code(seed, e.clk.Now())); err != nil {
			b.Fatal(err)
		}
	}
}
