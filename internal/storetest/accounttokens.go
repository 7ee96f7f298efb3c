package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

// AccountTokenStore is what the email-token conformance tests need.
type AccountTokenStore interface {
	accounts.TokenStore
	users.Store
}

// RunAccountTokens runs the conformance tests of accounts.TokenStore and of the profile
// fields of users; newStore must return a fresh store.
func RunAccountTokens(t *testing.T, newStore func(t *testing.T) AccountTokenStore) {
	t.Run("AccountTokens", func(t *testing.T) { testAccountTokens(t, newStore(t)) })
	t.Run("AccountTokenRaces", func(t *testing.T) { testAccountTokenRaces(t, newStore(t)) })
	t.Run("UserProfile", func(t *testing.T) { testUserProfile(t, newStore(t)) })
}

func mustTokenUser(t *testing.T, s AccountTokenStore, email string) *users.User {
	t.Helper()
	u := &users.User{ID: secret.NewID(), Email: email, CreatedAt: base, UpdatedAt: base}
	if err := s.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

func newToken(userID, purpose string, expires time.Time) *accounts.Token {
	return &accounts.Token{ID: secret.NewID(), UserID: userID, Purpose: purpose, Email: "a@example.com",
		SecretHash: secret.Hash("s"), CodeHash: secret.Hash("c"), CreatedAt: base, ExpiresAt: expires}
}

func testAccountTokens(t *testing.T, s AccountTokenStore) {
	ctx := context.Background()
	u := mustTokenUser(t, s, "tokens@example.com")
	a := newToken(u.ID, accounts.PurposeVerifyEmail, base.Add(time.Hour))
	if err := s.PutAccountToken(ctx, a); err != nil {
		t.Fatal(err)
	}
	got, err := s.AccountToken(ctx, a.ID, base)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, got); diff != "" {
		t.Fatalf("token read back (-want +got):\n%s", diff)
	}
	if _, err := s.AccountToken(ctx, a.ID, base.Add(time.Hour)); !errors.Is(err, accounts.ErrTokenNotFound) {
		t.Fatalf("expired token read: %v", err)
	}
	// One live token per user and purpose: a new one replaces the old one.
	b := newToken(u.ID, accounts.PurposeVerifyEmail, base.Add(time.Hour))
	b.CodeHash = nil
	if err := s.PutAccountToken(ctx, b); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AccountToken(ctx, a.ID, base); !errors.Is(err, accounts.ErrTokenNotFound) {
		t.Fatalf("replaced token still there: %v", err)
	}
	if got, err := s.AccountTokenFor(ctx, u.ID, accounts.PurposeVerifyEmail, base); err != nil || got.ID != b.ID || got.CodeHash != nil {
		t.Fatalf("AccountTokenFor = %+v, %v", got, err)
	}
	reset := newToken(u.ID, accounts.PurposePasswordReset, base.Add(time.Hour))
	if err := s.PutAccountToken(ctx, reset); err != nil {
		t.Fatal(err)
	}
	// Attempts are bounded.
	for i := 1; i <= 3; i++ {
		n, err := s.CountTokenAttempt(ctx, reset.ID, 3, base)
		if err != nil || n != i {
			t.Fatalf("attempt %d: %d, %v", i, n, err)
		}
	}
	if _, err := s.CountTokenAttempt(ctx, reset.ID, 3, base); !errors.Is(err, accounts.ErrTokenNotFound) {
		t.Fatalf("fourth attempt of 3: %v", err)
	}
	// Consumed once.
	if _, err := s.ConsumeAccountToken(ctx, reset.ID, base.Add(time.Hour)); !errors.Is(err, accounts.ErrTokenNotFound) {
		t.Fatalf("expired consume: %v", err)
	}
	if got, err := s.ConsumeAccountToken(ctx, reset.ID, base); err != nil || got.UserID != u.ID || got.Attempts != 3 {
		t.Fatalf("consume = %+v, %v", got, err)
	}
	if _, err := s.ConsumeAccountToken(ctx, reset.ID, base); !errors.Is(err, accounts.ErrTokenNotFound) {
		t.Fatalf("second consume: %v", err)
	}
	// Delete by purpose, then all.
	undo := newToken(u.ID, accounts.PurposeEmailUndo, base.Add(time.Hour))
	if err := s.PutAccountToken(ctx, undo); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAccountTokens(ctx, u.ID, accounts.PurposeVerifyEmail); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AccountToken(ctx, b.ID, base); !errors.Is(err, accounts.ErrTokenNotFound) {
		t.Fatalf("deleted by purpose: %v", err)
	}
	if _, err := s.AccountToken(ctx, undo.ID, base); err != nil {
		t.Fatalf("other purpose deleted too: %v", err)
	}
	if err := s.DeleteAccountTokens(ctx, u.ID, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AccountToken(ctx, undo.ID, base); !errors.Is(err, accounts.ErrTokenNotFound) {
		t.Fatalf("delete all: %v", err)
	}
	// Tokens go with their user; a token for a missing user is refused.
	gone := newToken(u.ID, accounts.PurposeLoginCode, base.Add(time.Hour))
	if err := s.PutAccountToken(ctx, gone); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AccountToken(ctx, gone.ID, base); !errors.Is(err, accounts.ErrTokenNotFound) {
		t.Fatalf("token outlived its user: %v", err)
	}
	if err := s.PutAccountToken(ctx, newToken(u.ID, accounts.PurposeLoginCode, base.Add(time.Hour))); !errors.Is(err, accounts.ErrTokenNotFound) {
		t.Fatalf("token for a deleted user: %v", err)
	}
}

func testAccountTokenRaces(t *testing.T, s AccountTokenStore) {
	ctx := context.Background()
	u := mustTokenUser(t, s, "races@example.com")
	tok := newToken(u.ID, accounts.PurposeLoginCode, base.Add(time.Hour))
	if err := s.PutAccountToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	const n = 16
	var wg sync.WaitGroup
	var mu sync.Mutex
	counted, consumed := 0, 0
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.CountTokenAttempt(ctx, tok.ID, 5, base); err == nil {
				mu.Lock()
				counted++
				mu.Unlock()
			} else if !errors.Is(err, accounts.ErrTokenNotFound) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if counted != 5 {
		t.Fatalf("%d concurrent attempts counted, want exactly 5", counted)
	}
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.ConsumeAccountToken(ctx, tok.ID, base); err == nil {
				mu.Lock()
				consumed++
				mu.Unlock()
			} else if !errors.Is(err, accounts.ErrTokenNotFound) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if consumed != 1 {
		t.Fatalf("token consumed %d times, want once", consumed)
	}
}

func testUserProfile(t *testing.T, s AccountTokenStore) {
	ctx := context.Background()
	u := &users.User{ID: secret.NewID(), Email: "profile@example.com", Name: "Ada Lovelace", Locale: "en-GB",
		Picture: "https://img.example.com/ada.png", Metadata: `{"plan":"pro"}`, CreatedAt: base, UpdatedAt: base}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	got, err := s.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(u, got); diff != "" {
		t.Fatalf("user read back (-want +got):\n%s", diff)
	}
	got.Name, got.Locale, got.Picture, got.Metadata = "Ada", "fr", "", ""
	if err := s.UpdateUser(ctx, got); err != nil {
		t.Fatal(err)
	}
	again, err := s.UserByEmail(ctx, u.Email)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, again); diff != "" {
		t.Fatalf("updated user read back (-want +got):\n%s", diff)
	}
}
