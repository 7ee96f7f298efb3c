package oidc_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/clock"
	"github.com/gatehouse-auth/gatehouse/internal/oidc"
	"github.com/gatehouse-auth/gatehouse/internal/onetime"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlite"
)

func mustCodes(t *testing.T) (*oidc.Codes, *clock.Fake, onetime.Store) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clk := clock.NewFake(time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC))
	return oidc.NewCodes(db, clk.Now), clk, db
}

// TestCodeRedeemedOnce: of many concurrent redemptions exactly one wins; the next use is a
// replay naming the session the first one created, and only once.
func TestCodeRedeemedOnce(t *testing.T) {
	codes, _, _ := mustCodes(t)
	ctx := context.Background()
	code, err := codes.Issue(ctx, &oidc.Grant{Request: oidc.Request{ClientID: "c1", Nonce: "n"}, UserID: "u1"})
	if err != nil {
		t.Fatal(err)
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if g, err := codes.Redeem(ctx, string(code)); err == nil && g.Nonce == "n" {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d redemptions succeeded", wins.Load())
	}
	if err := codes.MarkRedeemed(ctx, string(code), "sess-1"); err != nil {
		t.Fatal(err)
	}
	var replay *oidc.ReplayError
	if _, err := codes.Redeem(ctx, string(code)); !errors.As(err, &replay) || replay.SessionID != "sess-1" {
		t.Fatalf("replay = %v", err)
	}
	if _, err := codes.Redeem(ctx, string(code)); !errors.Is(err, oidc.ErrCodeInvalid) {
		t.Fatalf("third use = %v", err)
	}
}

func TestCodeExpiresAndKinds(t *testing.T) {
	codes, clk, _ := mustCodes(t)
	ctx := context.Background()
	code, _ := codes.Issue(ctx, &oidc.Grant{UserID: "u1"})
	clk.Add(oidc.CodeTTL + time.Second)
	if _, err := codes.Redeem(ctx, string(code)); !errors.Is(err, oidc.ErrCodeInvalid) {
		t.Fatalf("expired code = %v", err)
	}
	// A parked request's handle is not an authorization code, and the other way round.
	h, _ := codes.Park(ctx, &oidc.Pending{Query: "a=b"})
	if _, err := codes.Redeem(ctx, string(h)); !errors.Is(err, oidc.ErrCodeInvalid) {
		t.Fatalf("handle redeemed as a code: %v", err)
	}
	code, _ = codes.Issue(ctx, &oidc.Grant{UserID: "u1"})
	if _, err := codes.Resume(ctx, string(code)); !errors.Is(err, oidc.ErrCodeInvalid) {
		t.Fatalf("code resumed as a handle: %v", err)
	}
	if _, err := codes.Redeem(ctx, "not-a-code"); !errors.Is(err, oidc.ErrCodeInvalid) {
		t.Fatalf("garbage = %v", err)
	}
}
