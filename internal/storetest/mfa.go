package storetest

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/mfa"
	"github.com/gatehouse-auth/gatehouse/internal/mfa/mfatest"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

// MFAStore is what the second-factor conformance tests need: the stores of package mfa on a
// backend whose rows reference users.
type MFAStore interface {
	users.Store
	sessions.Store
	mfa.Store
	mfa.UsedCodes
	mfa.ChallengeStore
	// DeleteExpiredChallenges removes challenges that expired at or before now.
	DeleteExpiredChallenges(ctx context.Context, now time.Time) (int, error)
}

// RunMFA runs the conformance suites of package mfa (mfatest) on a backend. The suites name
// users that do not exist; the backend's tables reference users (a user's factors go with
// it), so the store is wrapped to create each user before the first write that names it.
func RunMFA(t *testing.T, newStore func(t *testing.T) MFAStore) {
	wrap := func(t *testing.T) *withUsers { return &withUsers{MFAStore: newStore(t), t: t} }
	t.Run("Store", func(t *testing.T) {
		mfatest.RunStore(t, func(t *testing.T) mfa.Store { return wrap(t) })
	})
	t.Run("UsedCodes", func(t *testing.T) {
		mfatest.RunUsedCodes(t, func(t *testing.T) mfa.UsedCodes { return wrap(t) }, true)
	})
	t.Run("ChallengeStore", func(t *testing.T) {
		mfatest.RunChallengeStore(t, func(t *testing.T) mfa.ChallengeStore { return wrap(t) })
	})
	t.Run("UserDeleteCascades", func(t *testing.T) { testMFACascade(t, wrap(t)) })
	t.Run("SessionPurpose", func(t *testing.T) { testSessionPurpose(t, wrap(t)) })
	t.Run("SweepChallenges", func(t *testing.T) { testSweepChallenges(t, wrap(t)) })
}

func testSweepChallenges(t *testing.T, s *withUsers) {
	ctx := context.Background()
	uid := secret.NewID()
	s.ensure(ctx, uid)
	at := base.Add(1000 * time.Hour) // later than any challenge the other subtests left
	for i, exp := range []time.Time{at.Add(-time.Second), at, at.Add(time.Second)} {
		c := &mfa.Challenge{ID: secret.NewID(), UserID: uid, Delivery: "cookie", SecretHash: []byte{byte(i)}, BindingHash: []byte{1},
			CreatedAt: base, ExpiresAt: exp}
		if err := s.CreateChallenge(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.DeleteExpiredChallenges(ctx, at)
	if err != nil || n < 2 {
		t.Fatalf("swept %d, %v; want the 2 expired at or before now", n, err)
	}
	if n, err := s.DeleteExpiredChallenges(ctx, at); err != nil || n != 0 {
		t.Fatalf("second sweep removed %d, %v", n, err)
	}
	if n, err := s.DeleteExpiredChallenges(ctx, at.Add(time.Second)); err != nil || n != 1 {
		t.Fatalf("the live challenge: swept %d at its expiry, %v", n, err)
	}
}

// testSessionPurpose checks that a session limited to enrolment reads back as limited, and
// a full one as full.
func testSessionPurpose(t *testing.T, s *withUsers) {
	ctx := context.Background()
	uid := secret.NewID()
	s.ensure(ctx, uid)
	for _, purpose := range []string{sessions.PurposeMFAEnrolment, ""} {
		ss := &sessions.Session{ID: secret.NewID(), UserID: uid, SecretHash: make([]byte, 32), CreatedAt: base, LastSeenAt: base,
			ExpiresAt: base.Add(time.Hour), AuthTime: base, AMR: []string{"pwd"}, Purpose: purpose}
		if err := s.CreateSession(ctx, ss); err != nil {
			t.Fatal(err)
		}
		got, err := s.SessionByID(ctx, ss.ID)
		if err != nil || got.Purpose != purpose {
			t.Fatalf("purpose %q read back as %+v, %v", purpose, got, err)
		}
	}
}

type withUsers struct {
	MFAStore
	t    *testing.T
	mu   sync.Mutex
	made map[string]bool
}

func (s *withUsers) ensure(ctx context.Context, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.made[id] {
		return
	}
	if s.made == nil {
		s.made = map[string]bool{}
	}
	u := &users.User{ID: id, Email: "mfa-" + strings.ToLower(secret.NewID()) + "@example.com", CreatedAt: base, UpdatedAt: base}
	if err := s.CreateUser(ctx, u); err != nil {
		s.t.Errorf("create user %q: %v", id, err)
	}
	s.made[id] = true
}

func (s *withUsers) CreatePendingFactor(ctx context.Context, f *mfa.Factor) error {
	s.ensure(ctx, f.UserID)
	return s.MFAStore.CreatePendingFactor(ctx, f)
}

func (s *withUsers) ReplaceRecoveryCodes(ctx context.Context, userID string, codes [][]byte) error {
	s.ensure(ctx, userID)
	return s.MFAStore.ReplaceRecoveryCodes(ctx, userID, codes)
}

func (s *withUsers) CreateChallenge(ctx context.Context, c *mfa.Challenge) error {
	s.ensure(ctx, c.UserID)
	return s.MFAStore.CreateChallenge(ctx, c)
}

func testMFACascade(t *testing.T, s *withUsers) {
	ctx := context.Background()
	u := &users.User{ID: secret.NewID()}
	s.ensure(ctx, u.ID)
	if err := s.CreatePendingFactor(ctx, &mfa.Factor{ID: "fc-" + u.ID, UserID: u.ID, Seed: []byte("s"), CreatedAt: base}); err != nil {
		t.Fatal(err)
	}
	if err := s.ConfirmFactor(ctx, u.ID, "fc-"+u.ID, base, [][]byte{make([]byte, 32)}); err != nil {
		t.Fatal(err)
	}
	c := &mfa.Challenge{ID: "ch-" + u.ID, UserID: u.ID, Delivery: "cookie", SecretHash: make([]byte, 32), BindingHash: make([]byte, 32),
		CreatedAt: base, ExpiresAt: base.Add(time.Minute)}
	if err := s.CreateChallenge(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Factor(ctx, u.ID); !errors.Is(err, mfa.ErrNotFound) {
		t.Errorf("factor of a deleted user: %v, want ErrNotFound", err)
	}
	if n, err := s.RecoveryCodesLeft(ctx, u.ID); err != nil || n != 0 {
		t.Errorf("recovery codes of a deleted user: %d %v", n, err)
	}
	if _, err := s.Challenge(ctx, c.ID, base); !errors.Is(err, mfa.ErrNotFound) {
		t.Errorf("challenge of a deleted user: %v, want ErrNotFound", err)
	}
}
