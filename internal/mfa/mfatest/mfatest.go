// Package mfatest is the conformance suite of the stores that package mfa declares (Store,
// UsedCodes, ChallengeStore). Every backend runs it, so that they stay interchangeable; the
// in-memory fakes of mfa's own tests run it too.
package mfatest

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/mfa"
)

// t0 is a fixed instant the suites start from; stores must not read the clock themselves
// except where a method has no now (and then only to expire records that are long past).
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func mac(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

// race runs f n times concurrently and returns how many returned nil.
func race(n int, f func() error) (wins int64, errs []error) {
	var w atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if err := f(); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				return
			}
			w.Add(1)
		}()
	}
	close(start)
	wg.Wait()
	return w.Load(), errs
}

// RunStore is the conformance suite of mfa.Store. User ids are made unique per subtest, so
// one database may serve them all; newStore may still return a fresh one each time.
func RunStore(t *testing.T, newStore func(t *testing.T) mfa.Store) {
	ctx := context.Background()
	t.Run("FactorLifecycle", func(t *testing.T) {
		s := newStore(t)
		u := "user-factor-" + t.Name()
		if _, err := s.Factor(ctx, u); !errors.Is(err, mfa.ErrNotFound) {
			t.Fatalf("Factor of a user without one: %v, want ErrNotFound", err)
		}
		f1 := &mfa.Factor{ID: "f1" + u, UserID: u, Seed: []byte("sealed-1"), CreatedAt: t0}
		if err := s.CreatePendingFactor(ctx, f1); err != nil {
			t.Fatal(err)
		}
		// A second pending factor replaces the first.
		f2 := &mfa.Factor{ID: "f2" + u, UserID: u, Seed: []byte("sealed-2"), CreatedAt: t0.Add(time.Minute)}
		if err := s.CreatePendingFactor(ctx, f2); err != nil {
			t.Fatalf("replace pending: %v", err)
		}
		got, err := s.Factor(ctx, u)
		if err != nil || got.ID != f2.ID || string(got.Seed) != "sealed-2" || got.Confirmed() || !got.CreatedAt.Equal(f2.CreatedAt) {
			t.Fatalf("Factor after replace: %+v %v", got, err)
		}
		if err := s.ConfirmFactor(ctx, u, f1.ID, t0, nil); !errors.Is(err, mfa.ErrNotFound) {
			t.Fatalf("confirm a replaced factor: %v, want ErrNotFound", err)
		}
		if err := s.ConfirmFactor(ctx, u, f2.ID, t0.Add(2*time.Minute), [][]byte{mac(1), mac(2)}); err != nil {
			t.Fatal(err)
		}
		got, err = s.Factor(ctx, u)
		if err != nil || !got.ConfirmedAt.Equal(t0.Add(2*time.Minute)) {
			t.Fatalf("Factor after confirm: %+v %v", got, err)
		}
		if n, err := s.RecoveryCodesLeft(ctx, u); err != nil || n != 2 {
			t.Fatalf("codes after confirm: %d %v, want 2", n, err)
		}
		if err := s.ConfirmFactor(ctx, u, f2.ID, t0, nil); !errors.Is(err, mfa.ErrNotFound) {
			t.Fatalf("confirm twice: %v, want ErrNotFound", err)
		}
		f3 := &mfa.Factor{ID: "f3" + u, UserID: u, Seed: []byte("x"), CreatedAt: t0}
		if err := s.CreatePendingFactor(ctx, f3); !errors.Is(err, mfa.ErrConflict) {
			t.Fatalf("pending over a confirmed factor: %v, want ErrConflict", err)
		}
		if got, _ := s.Factor(ctx, u); got == nil || got.ID != f2.ID {
			t.Fatalf("the confirmed factor was replaced: %+v", got)
		}
		if err := s.DeleteFactor(ctx, u); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteFactor(ctx, u); !errors.Is(err, mfa.ErrNotFound) {
			t.Fatalf("delete twice: %v, want ErrNotFound", err)
		}
		if _, err := s.Factor(ctx, u); !errors.Is(err, mfa.ErrNotFound) {
			t.Fatalf("Factor after delete: %v", err)
		}
	})
	t.Run("RecoveryCodes", func(t *testing.T) {
		s := newStore(t)
		u, other := "user-rc-"+t.Name(), "other-rc-"+t.Name()
		if n, err := s.RecoveryCodesLeft(ctx, u); err != nil || n != 0 {
			t.Fatalf("no codes: %d %v", n, err)
		}
		if err := s.ReplaceRecoveryCodes(ctx, u, [][]byte{mac(1), mac(2), mac(3)}); err != nil {
			t.Fatal(err)
		}
		if err := s.ReplaceRecoveryCodes(ctx, other, [][]byte{mac(4)}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ConsumeRecoveryCode(ctx, u, mac(4)); !errors.Is(err, mfa.ErrNotFound) {
			t.Fatalf("another user's code: %v, want ErrNotFound", err)
		}
		if n, err := s.ConsumeRecoveryCode(ctx, u, mac(2)); err != nil || n != 2 {
			t.Fatalf("consume: %d %v, want 2 left", n, err)
		}
		if _, err := s.ConsumeRecoveryCode(ctx, u, mac(2)); !errors.Is(err, mfa.ErrNotFound) {
			t.Fatalf("consume twice: %v, want ErrNotFound", err)
		}
		if err := s.ReplaceRecoveryCodes(ctx, u, [][]byte{mac(5)}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ConsumeRecoveryCode(ctx, u, mac(1)); !errors.Is(err, mfa.ErrNotFound) {
			t.Fatalf("replaced code still works: %v", err)
		}
		if n, err := s.RecoveryCodesLeft(ctx, u); err != nil || n != 1 {
			t.Fatalf("after replace: %d %v, want 1", n, err)
		}
		if err := s.ReplaceRecoveryCodes(ctx, u, nil); err != nil {
			t.Fatal(err)
		}
		if n, err := s.RecoveryCodesLeft(ctx, u); err != nil || n != 0 {
			t.Fatalf("after delete: %d %v, want 0", n, err)
		}
		if n, err := s.RecoveryCodesLeft(ctx, other); err != nil || n != 1 {
			t.Fatalf("other user's codes touched: %d %v", n, err)
		}
	})
	t.Run("RecoveryCodeRace", func(t *testing.T) {
		s := newStore(t)
		u := "user-race-" + t.Name()
		if err := s.ReplaceRecoveryCodes(ctx, u, [][]byte{mac(7), mac(8)}); err != nil {
			t.Fatal(err)
		}
		wins, errs := race(10, func() error { _, err := s.ConsumeRecoveryCode(ctx, u, mac(7)); return err })
		for _, err := range errs {
			if !errors.Is(err, mfa.ErrNotFound) {
				t.Errorf("consume: %v", err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d concurrent uses of one code succeeded, want 1", wins)
		}
	})
}

// RunUsedCodes is the conformance suite of mfa.UsedCodes. honoursNow says whether the store
// honours the now argument (false for stores that expire records on their own clock, like
// Redis; the expiry subtest is then skipped).
func RunUsedCodes(t *testing.T, newStore func(t *testing.T) mfa.UsedCodes, honoursNow bool) {
	ctx := context.Background()
	now := time.Now().Truncate(time.Second) // real clock: stores with their own TTLs
	t.Run("MarkOnce", func(t *testing.T) {
		s := newStore(t)
		k := "totp:" + t.Name() + ":1"
		first, err := s.MarkUsed(ctx, k, now, now.Add(time.Minute))
		if err != nil || !first {
			t.Fatalf("first mark: %v %v", first, err)
		}
		first, err = s.MarkUsed(ctx, k, now, now.Add(time.Minute))
		if err != nil || first {
			t.Fatalf("second mark: first=%v %v, want false", first, err)
		}
		first, err = s.MarkUsed(ctx, k+"0", now, now.Add(time.Minute))
		if err != nil || !first {
			t.Fatalf("another key: %v %v", first, err)
		}
	})
	t.Run("Expiry", func(t *testing.T) {
		if !honoursNow {
			t.Skip("the store expires records on its own clock")
		}
		s := newStore(t)
		k := "totp:" + t.Name() + ":2"
		if first, err := s.MarkUsed(ctx, k, now, now.Add(time.Minute)); err != nil || !first {
			t.Fatalf("mark: %v %v", first, err)
		}
		later := now.Add(time.Minute)
		first, err := s.MarkUsed(ctx, k, later, later.Add(time.Minute))
		if err != nil || !first {
			t.Fatalf("mark after expiry: first=%v %v, want true", first, err)
		}
		if first, err := s.MarkUsed(ctx, k, later, later.Add(time.Minute)); err != nil || first {
			t.Fatalf("the renewed mark did not hold: first=%v %v", first, err)
		}
	})
	t.Run("Race", func(t *testing.T) {
		s := newStore(t)
		k := "totp:" + t.Name() + ":3"
		wins, errs := race(10, func() error {
			first, err := s.MarkUsed(ctx, k, now, now.Add(time.Minute))
			if err == nil && !first {
				return mfa.ErrReplayedCode
			}
			return err
		})
		for _, err := range errs {
			if !errors.Is(err, mfa.ErrReplayedCode) {
				t.Errorf("mark: %v", err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d concurrent marks of one key were first, want 1", wins)
		}
	})
}

// RunChallengeStore is the conformance suite of mfa.ChallengeStore.
func RunChallengeStore(t *testing.T, newStore func(t *testing.T) mfa.ChallengeStore) {
	ctx := context.Background()
	newChallenge := func(id string) *mfa.Challenge {
		return &mfa.Challenge{
			ID: id, UserID: "u-" + id, Delivery: "token", Data: []byte(`{"client_id":"c"}`),
			SecretHash: mac(1), BindingHash: mac(2), CreatedAt: t0, ExpiresAt: t0.Add(mfa.ChallengeTTL),
		}
	}
	t.Run("RoundTrip", func(t *testing.T) {
		s := newStore(t)
		c := newChallenge("rt-" + t.Name())
		if err := s.CreateChallenge(ctx, c); err != nil {
			t.Fatal(err)
		}
		got, err := s.Challenge(ctx, c.ID, t0)
		if err != nil {
			t.Fatal(err)
		}
		if got.UserID != c.UserID || got.Delivery != c.Delivery || !bytes.Equal(got.Data, c.Data) ||
			!bytes.Equal(got.SecretHash, c.SecretHash) || !bytes.Equal(got.BindingHash, c.BindingHash) ||
			got.Failures != 0 || !got.ExpiresAt.Equal(c.ExpiresAt) || !got.CreatedAt.Equal(c.CreatedAt) {
			t.Fatalf("stored %+v, read %+v", c, got)
		}
		if _, err := s.Challenge(ctx, c.ID, c.ExpiresAt); !errors.Is(err, mfa.ErrNotFound) {
			t.Fatalf("expired challenge read: %v", err)
		}
		if _, err := s.Challenge(ctx, "missing"+c.ID, t0); !errors.Is(err, mfa.ErrNotFound) {
			t.Fatalf("missing: %v", err)
		}
	})
	t.Run("Failures", func(t *testing.T) {
		s := newStore(t)
		c := newChallenge("fail-" + t.Name())
		if err := s.CreateChallenge(ctx, c); err != nil {
			t.Fatal(err)
		}
		for want := 1; want <= 2; want++ {
			n, err := s.FailChallenge(ctx, c.ID, 3)
			if err != nil || n != want {
				t.Fatalf("fail %d: %d %v", want, n, err)
			}
		}
		if got, err := s.Challenge(ctx, c.ID, t0); err != nil || got.Failures != 2 {
			t.Fatalf("failures read back: %+v %v", got, err)
		}
		if n, err := s.FailChallenge(ctx, c.ID, 3); err != nil && !errors.Is(err, mfa.ErrNotFound) || err == nil && n != 3 {
			t.Fatalf("last failure: %d %v", n, err)
		}
		if err := s.ConsumeChallenge(ctx, c.ID, t0, 3); !errors.Is(err, mfa.ErrNotFound) {
			t.Fatalf("consumed a challenge out of tries: %v", err)
		}
		if _, err := s.FailChallenge(ctx, "missing"+c.ID, 3); !errors.Is(err, mfa.ErrNotFound) {
			t.Fatalf("fail a missing challenge: %v", err)
		}
	})
	t.Run("ConsumeOnce", func(t *testing.T) {
		s := newStore(t)
		c := newChallenge("once-" + t.Name())
		if err := s.CreateChallenge(ctx, c); err != nil {
			t.Fatal(err)
		}
		if err := s.ConsumeChallenge(ctx, c.ID, c.ExpiresAt, 5); !errors.Is(err, mfa.ErrNotFound) {
			t.Fatalf("consumed when expired: %v", err)
		}
		wins, errs := race(10, func() error { return s.ConsumeChallenge(ctx, c.ID, t0, 5) })
		for _, err := range errs {
			if !errors.Is(err, mfa.ErrNotFound) {
				t.Errorf("consume: %v", err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d concurrent consumes succeeded, want 1", wins)
		}
		if _, err := s.Challenge(ctx, c.ID, t0); !errors.Is(err, mfa.ErrNotFound) {
			t.Fatalf("consumed challenge still readable: %v", err)
		}
	})
}
