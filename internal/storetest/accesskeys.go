package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-auth/gatehouse/internal/accesskeys"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

// AccessKeyStore is what the access-key conformance tests need.
type AccessKeyStore interface {
	accesskeys.Store
	users.Store
}

// RunAccessKeys runs the access-key conformance tests; newStore must return a fresh store.
func RunAccessKeys(t *testing.T, newStore func(t *testing.T) AccessKeyStore) {
	t.Run("AccessKeys", func(t *testing.T) { testAccessKeys(t, newStore(t)) })
	t.Run("AccessKeysOwnerCascade", func(t *testing.T) { testAccessKeysCascade(t, newStore(t)) })
}

func mustKey(t *testing.T, s AccessKeyStore, k *accesskeys.Key) *accesskeys.Key {
	t.Helper()
	if err := s.CreateAccessKey(context.Background(), k); err != nil {
		t.Fatalf("CreateAccessKey: %v", err)
	}
	return k
}

func testAccessKeys(t *testing.T, s AccessKeyStore) {
	ctx := context.Background()
	owner := &users.User{ID: secret.NewID(), Email: "svc-owner@example.com", CreatedAt: base, UpdatedAt: base}
	if err := s.CreateUser(ctx, owner); err != nil {
		t.Fatal(err)
	}
	full := mustKey(t, s, &accesskeys.Key{ID: secret.NewID(), Name: "billing", Hash: accesskeys.HashKey("k1"), Scopes: []string{"a", "b:read"},
		UserID: owner.ID, ExpiresAt: base.Add(time.Hour), CreatedAt: base, UpdatedAt: base, CreatedBy: "admin"})
	bare := mustKey(t, s, &accesskeys.Key{ID: secret.NewID(), Name: "imported", Hash: accesskeys.HashKey("k2"),
		CreatedAt: base, UpdatedAt: base, CreatedBy: "admin", Imported: true})

	for _, want := range []*accesskeys.Key{full, bare} {
		got, err := s.AccessKeyByHash(ctx, want.Hash)
		if err != nil {
			t.Fatalf("AccessKeyByHash: %v", err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("round trip (-want +got):\n%s", d)
		}
		if got, err = s.AccessKeyByID(ctx, want.ID); err != nil || got.Name != want.Name {
			t.Fatalf("AccessKeyByID: %v %v", got, err)
		}
	}
	if _, err := s.AccessKeyByHash(ctx, accesskeys.HashKey("nope")); !errors.Is(err, accesskeys.ErrNotFound) {
		t.Fatalf("unknown hash: %v", err)
	}
	if _, err := s.AccessKeyByID(ctx, secret.NewID()); !errors.Is(err, accesskeys.ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
	dupHash := &accesskeys.Key{ID: secret.NewID(), Name: "dup", Hash: accesskeys.HashKey("k1"), CreatedAt: base, UpdatedAt: base, CreatedBy: "admin"}
	if err := s.CreateAccessKey(ctx, dupHash); !errors.Is(err, accesskeys.ErrConflict) {
		t.Fatalf("duplicate hash: %v, want ErrConflict", err)
	}

	// Update writes name, scopes, expiry and updated_at only.
	full.Name, full.Scopes, full.ExpiresAt, full.UpdatedAt = "renamed", []string{"c"}, time.Time{}, base.Add(time.Minute)
	if err := s.UpdateAccessKey(ctx, full); err != nil {
		t.Fatal(err)
	}
	got, _ := s.AccessKeyByID(ctx, full.ID)
	if d := cmp.Diff(full, got); d != "" {
		t.Fatalf("after update (-want +got):\n%s", d)
	}
	if err := s.UpdateAccessKey(ctx, &accesskeys.Key{ID: secret.NewID(), Name: "x"}); !errors.Is(err, accesskeys.ErrNotFound) {
		t.Fatalf("update unknown: %v", err)
	}

	// Touch only moves last_used_at forward.
	if err := s.TouchAccessKey(ctx, bare.ID, base.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchAccessKey(ctx, bare.ID, base.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.AccessKeyByID(ctx, bare.ID); !got.LastUsedAt.Equal(base.Add(2 * time.Minute)) {
		t.Fatalf("last used = %v", got.LastUsedAt)
	}
	if err := s.TouchAccessKey(ctx, secret.NewID(), base); !errors.Is(err, accesskeys.ErrNotFound) {
		t.Fatalf("touch unknown: %v", err)
	}

	// List pages in id order and filters by owner.
	var all []string
	for after := ""; ; {
		page, err := s.ListAccessKeys(ctx, accesskeys.Filter{After: after, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		all = append(all, page[0].ID)
		after = page[0].ID
	}
	if len(all) != 2 || all[0] >= all[1] {
		t.Fatalf("paged ids %v", all)
	}
	mine, err := s.ListAccessKeys(ctx, accesskeys.Filter{UserID: owner.ID, Limit: 10})
	if err != nil || len(mine) != 1 || mine[0].ID != full.ID {
		t.Fatalf("owner filter: %v %v", mine, err)
	}

	if err := s.DeleteAccessKey(ctx, full.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AccessKeyByHash(ctx, full.Hash); !errors.Is(err, accesskeys.ErrNotFound) {
		t.Fatalf("deleted key still found: %v", err)
	}
	if err := s.DeleteAccessKey(ctx, full.ID); !errors.Is(err, accesskeys.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

// testAccessKeysCascade: deleting the owner deletes their keys.
func testAccessKeysCascade(t *testing.T, s AccessKeyStore) {
	ctx := context.Background()
	owner := &users.User{ID: secret.NewID(), Email: "gone@example.com", CreatedAt: base, UpdatedAt: base}
	if err := s.CreateUser(ctx, owner); err != nil {
		t.Fatal(err)
	}
	k := mustKey(t, s, &accesskeys.Key{ID: secret.NewID(), Name: "x", Hash: accesskeys.HashKey("owned"), UserID: owner.ID, CreatedAt: base, UpdatedAt: base, CreatedBy: owner.ID})
	if err := s.DeleteUser(ctx, owner.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AccessKeyByID(ctx, k.ID); !errors.Is(err, accesskeys.ErrNotFound) {
		t.Fatalf("key of a deleted owner: %v", err)
	}
}
