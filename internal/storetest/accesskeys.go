package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-auth/gatehouse/internal/accesskeys"
	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

// AccessKeyStore is what the access-key conformance tests need.
type AccessKeyStore interface {
	accesskeys.Store
	users.Store
	sessions.Store
	audit.Store
}

// RunAccessKeys runs the access-key conformance tests; newStore must return a fresh store.
func RunAccessKeys(t *testing.T, newStore func(t *testing.T) AccessKeyStore) {
	t.Run("AccessKeys", func(t *testing.T) { testAccessKeys(t, newStore(t)) })
	t.Run("AccessKeysOwnerCascade", func(t *testing.T) { testAccessKeysCascade(t, newStore(t)) })
	t.Run("ClientRevocations", func(t *testing.T) { testClientRevocations(t, newStore(t)) })
	t.Run("EventClientID", func(t *testing.T) { testEventClientID(t, newStore(t)) })
	t.Run("OwnerDisabledIsRead", func(t *testing.T) { testOwnerDisabledIsRead(t, newStore(t)) })
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

	last, err := s.LastRevocation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rev := sessions.Revocation{ClientID: full.ID, UserID: owner.ID, Until: base.Add(time.Hour)}
	if err := s.DeleteAccessKey(ctx, full.ID, rev); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AccessKeyByHash(ctx, full.Hash); !errors.Is(err, accesskeys.ErrNotFound) {
		t.Fatalf("deleted key still found: %v", err)
	}
	// The delete wrote exactly one entry naming the key, in the same step.
	entries, err := s.RevocationsAfter(ctx, last, base, 10)
	if err != nil || len(entries) != 1 {
		t.Fatalf("entries after delete: %v %v", entries, err)
	}
	want := rev
	want.Cursor = entries[0].Cursor
	if diff := cmp.Diff(want, entries[0]); diff != "" {
		t.Fatalf("entry (-want +got):\n%s", diff)
	}
	if r, err := s.ClientRevoked(ctx, full.ID, base.Add(30*time.Minute), base); err != nil || !r {
		t.Fatalf("ClientRevoked after delete = %v, %v", r, err)
	}
	if err := s.DeleteAccessKey(ctx, full.ID, rev); !errors.Is(err, accesskeys.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if entries, _ := s.RevocationsAfter(ctx, last, base, 10); len(entries) != 1 {
		t.Fatalf("a failed delete wrote an entry: %v", entries)
	}
}

// testClientRevocations: entries naming a client, with and without an issued-before bound.
func testClientRevocations(t *testing.T, s AccessKeyStore) {
	ctx := context.Background()
	before := base.Add(10 * time.Second)
	err := s.RevokeClients(ctx, []sessions.Revocation{
		{ClientID: "key-a", IssuedBefore: before, UserID: "u1", Until: base.Add(time.Hour)},
		{ClientID: "key-b", UserID: "u1", Until: base.Add(time.Minute)},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		client    string
		iat, now  time.Time
		wantFound bool
	}{
		{"issued before the bound", "key-a", base, base, true},
		{"issued at the bound", "key-a", before, base, false},
		{"issued after the bound", "key-a", before.Add(time.Second), base, false},
		{"no bound", "key-b", base.Add(time.Hour), base, true},
		{"entry expired", "key-b", base, base.Add(2 * time.Minute), false},
		{"other client", "key-c", base, base, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ClientRevoked(ctx, tc.client, tc.iat, tc.now)
			if err != nil || got != tc.wantFound {
				t.Fatalf("ClientRevoked = %v, %v; want %v", got, err, tc.wantFound)
			}
		})
	}
	list, err := s.RevocationsAfter(ctx, 0, base, 10)
	if err != nil || len(list) != 2 {
		t.Fatalf("RevocationsAfter = %v, %v", list, err)
	}
	if list[0].ClientID != "key-a" || !list[0].IssuedBefore.Equal(before) || list[1].ClientID != "key-b" || !list[1].IssuedBefore.IsZero() ||
		list[0].SessionID != "" || list[0].TokenID != "" {
		t.Fatalf("entries read back: %+v", list)
	}
}

// testOwnerDisabledIsRead: reading a key by hash or id reports whether its owner is disabled
// (in the same statement), which is how Authenticate refuses a disabled owner's key.
func testOwnerDisabledIsRead(t *testing.T, s AccessKeyStore) {
	ctx := context.Background()
	owner := &users.User{ID: secret.NewID(), Email: "flag@example.com", CreatedAt: base, UpdatedAt: base}
	if err := s.CreateUser(ctx, owner); err != nil {
		t.Fatal(err)
	}
	owned := mustKey(t, s, &accesskeys.Key{ID: secret.NewID(), Name: "o", Hash: accesskeys.HashKey("owned-flag"), UserID: owner.ID, CreatedAt: base, UpdatedAt: base, CreatedBy: "admin"})
	solo := mustKey(t, s, &accesskeys.Key{ID: secret.NewID(), Name: "s", Hash: accesskeys.HashKey("solo-flag"), CreatedAt: base, UpdatedAt: base, CreatedBy: "admin"})
	read := func(k *accesskeys.Key) (byHash, byID bool) {
		t.Helper()
		a, err := s.AccessKeyByHash(ctx, k.Hash)
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.AccessKeyByID(ctx, k.ID)
		if err != nil {
			t.Fatal(err)
		}
		return a.OwnerDisabled, b.OwnerDisabled
	}
	if h, i := read(owned); h || i {
		t.Fatal("an enabled owner reads as disabled")
	}
	owner.Disabled = true
	if err := s.UpdateUser(ctx, owner); err != nil {
		t.Fatal(err)
	}
	if h, i := read(owned); !h || !i {
		t.Fatalf("a disabled owner reads as enabled (by hash %v, by id %v)", h, i)
	}
	if h, i := read(solo); h || i {
		t.Fatal("a key without owner reads as owner-disabled")
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

// testEventClientID: an audit event keeps the id of the access key it is about.
func testEventClientID(t *testing.T, s AccessKeyStore) {
	ctx := context.Background()
	e := &audit.Event{Type: "access_key.created", Time: base, UserID: "u1", ClientID: "key-1", Actor: "admin", Outcome: audit.Success}
	if err := s.AppendEvent(ctx, e); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendEvent(ctx, &audit.Event{Type: audit.LoginSucceeded, Time: base, UserID: "u1"}); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListEvents(ctx, audit.Filter{Limit: 10})
	if err != nil || len(list) != 2 || list[0].ClientID != "key-1" || list[1].ClientID != "" {
		t.Fatalf("events read back: %+v, %v", list, err)
	}
}
