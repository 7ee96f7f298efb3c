package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-auth/gatehouse/internal/legacy"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/users"
	"github.com/gatehouse-auth/gatehouse/jws"
)

// LegacyStore is what the legacy-issuer conformance tests need.
type LegacyStore interface {
	legacy.Store
	legacy.Identities
	users.Store
}

// RunLegacy runs the conformance tests of legacy issuers, legacy-token marks and linked
// identities; newStore must return a fresh store.
func RunLegacy(t *testing.T, newStore func(t *testing.T) LegacyStore) {
	t.Run("LegacyIssuers", func(t *testing.T) { testLegacyIssuers(t, newStore(t)) })
	t.Run("LegacyTokenMarks", func(t *testing.T) { testLegacyMarks(t, newStore(t)) })
	t.Run("LegacyTokenMarkRace", func(t *testing.T) { testLegacyMarkRace(t, newStore(t)) })
	t.Run("LegacyTokenMarkSweep", func(t *testing.T) { testLegacyMarkSweep(t, newStore(t)) })
}

func testLegacyIssuers(t *testing.T, s LegacyStore) {
	ctx := context.Background()
	full := &legacy.Issuer{ID: secret.NewID(), Issuer: "https://tenant.auth0.example/", JWKSURI: "https://tenant.auth0.example/.well-known/jwks.json",
		Audiences: []string{"https://api.example", "client-1"}, TokenTypes: []string{legacy.TypeAccessToken},
		Algorithms: []jws.Algorithm{jws.RS256, jws.PS256}, Match: []string{legacy.MatchIdentity, legacy.MatchEmail}, CreateUsers: true,
		Claims:      legacy.ClaimNames{Email: "https://example/email", EmailVerified: "email_verified", Name: "name"},
		AcceptUntil: base.Add(30 * 24 * time.Hour), CreatedAt: base, UpdatedAt: base}
	bare := &legacy.Issuer{ID: secret.NewID(), Issuer: "https://okta.example", Audiences: []string{"api://default"},
		TokenTypes: []string{legacy.TypeAccessToken, legacy.TypeIDToken}, Algorithms: []jws.Algorithm{jws.RS256},
		Match: []string{legacy.MatchIdentity}, Claims: legacy.ClaimNames{Email: "email", EmailVerified: "email_verified", Name: "name"},
		CreatedAt: base, UpdatedAt: base}
	for _, is := range []*legacy.Issuer{full, bare} {
		if err := s.CreateLegacyIssuer(ctx, is); err != nil {
			t.Fatalf("CreateLegacyIssuer: %v", err)
		}
		got, err := s.LegacyIssuerByID(ctx, is.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(is, got); d != "" {
			t.Fatalf("round trip (-want +got):\n%s", d)
		}
		if got, err = s.LegacyIssuerByIssuer(ctx, is.Issuer); err != nil || got.ID != is.ID {
			t.Fatalf("LegacyIssuerByIssuer: %v %v", got, err)
		}
	}
	if _, err := s.LegacyIssuerByIssuer(ctx, "https://okta.example/"); !errors.Is(err, legacy.ErrNotFound) {
		t.Fatalf("issuer compared loosely: %v", err)
	}
	if _, err := s.LegacyIssuerByID(ctx, secret.NewID()); !errors.Is(err, legacy.ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
	dup := *bare
	dup.ID = secret.NewID()
	if err := s.CreateLegacyIssuer(ctx, &dup); !errors.Is(err, legacy.ErrConflict) {
		t.Fatalf("duplicate issuer: %v, want ErrConflict", err)
	}
	list, err := s.ListLegacyIssuers(ctx)
	if err != nil || len(list) != 2 || list[0].ID != bare.ID || list[1].ID != full.ID {
		t.Fatalf("ListLegacyIssuers (by issuer): %v %v", list, err)
	}

	full.AcceptUntil, full.Audiences, full.CreateUsers, full.UpdatedAt = time.Time{}, []string{"x"}, false, base.Add(time.Hour)
	if err := s.UpdateLegacyIssuer(ctx, full); err != nil {
		t.Fatal(err)
	}
	got, _ := s.LegacyIssuerByID(ctx, full.ID)
	if d := cmp.Diff(full, got); d != "" {
		t.Fatalf("after update (-want +got):\n%s", d)
	}
	clash := *full
	clash.Issuer = bare.Issuer
	if err := s.UpdateLegacyIssuer(ctx, &clash); !errors.Is(err, legacy.ErrConflict) {
		t.Fatalf("update to another issuer's URL: %v", err)
	}
	if err := s.UpdateLegacyIssuer(ctx, &legacy.Issuer{ID: secret.NewID(), Issuer: "https://n.example"}); !errors.Is(err, legacy.ErrNotFound) {
		t.Fatalf("update unknown: %v", err)
	}
	if err := s.DeleteLegacyIssuer(ctx, full.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteLegacyIssuer(ctx, full.ID); !errors.Is(err, legacy.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

func testLegacyMarks(t *testing.T, s LegacyStore) {
	ctx := context.Background()
	exp := base.Add(time.Hour)
	for i, c := range []struct {
		key  string
		now  time.Time
		want bool
	}{
		{"a", base, true},
		{"a", base.Add(time.Minute), false},
		{"b", base, true},
		{"a", exp.Add(-time.Microsecond), false},
		{"a", exp, true}, // the first mark expired: the key is free again
		{"a", exp.Add(time.Second), false},
	} {
		got, err := s.MarkLegacyToken(ctx, c.key, exp.Add(time.Duration(boolInt(c.now.Equal(exp)))*time.Hour), c.now)
		if err != nil || got != c.want {
			t.Fatalf("step %d: MarkLegacyToken(%s) = %v, %v; want %v", i, c.key, got, err, c.want)
		}
	}
}

// testLegacyMarkSweep: expired marks are deleted, a batch at a time, and live ones stay (and
// still refuse their token).
func testLegacyMarkSweep(t *testing.T, s LegacyStore) {
	ctx := context.Background()
	for i := range 5 {
		if ok, err := s.MarkLegacyToken(ctx, fmt.Sprintf("old%d", i), base.Add(time.Duration(i)*time.Minute), base); !ok || err != nil {
			t.Fatal(ok, err)
		}
	}
	if ok, err := s.MarkLegacyToken(ctx, "live", base.Add(time.Hour), base); !ok || err != nil {
		t.Fatal(ok, err)
	}
	now := base.Add(10 * time.Minute)
	if n, err := s.DeleteExpiredLegacyMarks(ctx, now, 3); n != 3 || err != nil {
		t.Fatalf("first batch: %d %v; want 3", n, err)
	}
	if n, err := s.DeleteExpiredLegacyMarks(ctx, now, 3); n != 2 || err != nil {
		t.Fatalf("second batch: %d %v; want the 2 left", n, err)
	}
	if n, err := s.DeleteExpiredLegacyMarks(ctx, now, 3); n != 0 || err != nil {
		t.Fatalf("third batch: %d %v; want none", n, err)
	}
	if ok, err := s.MarkLegacyToken(ctx, "live", base.Add(time.Hour), now); ok || err != nil {
		t.Fatalf("the live mark was swept: %v %v", ok, err)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func testLegacyMarkRace(t *testing.T, s LegacyStore) {
	ctx := context.Background()
	var wins atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ok, err := s.MarkLegacyToken(ctx, "race", base.Add(time.Hour), base)
			if err != nil {
				t.Errorf("MarkLegacyToken: %v", err)
			}
			if ok {
				wins.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d concurrent marks were first; want exactly 1", wins.Load())
	}
}
