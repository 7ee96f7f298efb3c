package mfa_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/mfa"
)

// memStore is the hand-written in-memory mfa.Store of the tests.
type memStore struct {
	mu      sync.Mutex
	factors map[string]mfa.Factor // by user
	codes   map[string][][]byte   // by user
	fail    error                 // when set, every method returns it
}

var _ mfa.Store = (*memStore)(nil)

func newMemStore() *memStore {
	return &memStore{factors: map[string]mfa.Factor{}, codes: map[string][][]byte{}}
}

func (m *memStore) CreatePendingFactor(_ context.Context, f *mfa.Factor) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	if old, ok := m.factors[f.UserID]; ok && old.Confirmed() {
		return mfa.ErrConflict
	}
	c := *f
	c.Seed = slices.Clone(f.Seed)
	m.factors[f.UserID] = c
	return nil
}

func (m *memStore) ConfirmFactor(_ context.Context, userID, id string, at time.Time, codes [][]byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	f, ok := m.factors[userID]
	if !ok || f.ID != id || f.Confirmed() {
		return mfa.ErrNotFound
	}
	f.ConfirmedAt = at
	m.factors[userID] = f
	m.codes[userID] = slices.Clone(codes)
	return nil
}

func (m *memStore) Factor(_ context.Context, userID string) (*mfa.Factor, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return nil, m.fail
	}
	f, ok := m.factors[userID]
	if !ok {
		return nil, mfa.ErrNotFound
	}
	f.Seed = slices.Clone(f.Seed)
	return &f, nil
}

func (m *memStore) DeleteFactor(_ context.Context, userID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	if _, ok := m.factors[userID]; !ok {
		return mfa.ErrNotFound
	}
	delete(m.factors, userID)
	return nil
}

func (m *memStore) ReplaceRecoveryCodes(_ context.Context, userID string, codes [][]byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.codes[userID] = slices.Clone(codes)
	return nil
}

func (m *memStore) ConsumeRecoveryCode(_ context.Context, userID string, mac []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return 0, m.fail
	}
	cs := m.codes[userID]
	i := slices.IndexFunc(cs, func(c []byte) bool { return bytes.Equal(c, mac) })
	if i < 0 {
		return 0, mfa.ErrNotFound
	}
	m.codes[userID] = slices.Delete(cs, i, i+1)
	return len(m.codes[userID]), nil
}

func (m *memStore) RecoveryCodesLeft(_ context.Context, userID string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return 0, m.fail
	}
	return len(m.codes[userID]), nil
}

// memUsed is the in-memory mfa.UsedCodes. Two Services sharing one stand for two instances
// sharing a database.
type memUsed struct {
	mu    sync.Mutex
	until map[string]time.Time
	fail  error
}

var _ mfa.UsedCodes = (*memUsed)(nil)

func newMemUsed() *memUsed { return &memUsed{until: map[string]time.Time{}} }

func (m *memUsed) MarkUsed(_ context.Context, key string, now, until time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return false, m.fail
	}
	if u, ok := m.until[key]; ok && u.After(now) {
		return false, nil
	}
	m.until[key] = until
	return true, nil
}

// memChallenges is the in-memory mfa.ChallengeStore.
type memChallenges struct {
	mu   sync.Mutex
	byID map[string]mfa.Challenge
	fail error
}

var _ mfa.ChallengeStore = (*memChallenges)(nil)

func newMemChallenges() *memChallenges { return &memChallenges{byID: map[string]mfa.Challenge{}} }

func (m *memChallenges) CreateChallenge(_ context.Context, c *mfa.Challenge) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	if _, ok := m.byID[c.ID]; ok {
		return mfa.ErrConflict
	}
	m.byID[c.ID] = *c
	return nil
}

func (m *memChallenges) Challenge(_ context.Context, id string, now time.Time) (*mfa.Challenge, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return nil, m.fail
	}
	c, ok := m.byID[id]
	if !ok || !now.Before(c.ExpiresAt) {
		return nil, mfa.ErrNotFound
	}
	return &c, nil
}

func (m *memChallenges) FailChallenge(_ context.Context, id string, max int) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return 0, m.fail
	}
	c, ok := m.byID[id]
	if !ok {
		return 0, mfa.ErrNotFound
	}
	// Kept at max (a store may delete it instead), so the tests see that Challenges
	// refuses a challenge out of tries by itself.
	c.Failures++
	m.byID[id] = c
	return c.Failures, nil
}

func (m *memChallenges) ConsumeChallenge(_ context.Context, id string, now time.Time, max int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	c, ok := m.byID[id]
	if !ok || !now.Before(c.ExpiresAt) || c.Failures >= max {
		return mfa.ErrNotFound
	}
	delete(m.byID, id)
	return nil
}

var errDown = errors.New("store down")
