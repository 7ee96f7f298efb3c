package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/userimport"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

// UserImportStore is what the import and identity tests need.
type UserImportStore interface {
	users.Store
	users.IdentityStore
	userimport.Store
}

// RunUserImport runs the identity and bulk-import conformance tests.
func RunUserImport(t *testing.T, newStore func(t *testing.T) UserImportStore) {
	t.Run("Identities", func(t *testing.T) { testIdentities(t, newStore(t)) })
	t.Run("ImportCreate", func(t *testing.T) { testImportCreate(t, newStore(t), false) })
	t.Run("ImportCreateDryRun", func(t *testing.T) { testImportCreate(t, newStore(t), true) })
	t.Run("ImportUpsert", func(t *testing.T) { testImportUpsert(t, newStore(t)) })
}

func mustImportUser(t *testing.T, s UserImportStore, email string) *users.User {
	t.Helper()
	u := &users.User{ID: secret.NewID(), Email: email, PasswordHash: "$argon2id$x", CreatedAt: base, UpdatedAt: base}
	if err := s.CreateUser(context.Background(), u); err != nil {
		t.Fatalf("CreateUser(%s): %v", email, err)
	}
	return u
}

func testIdentities(t *testing.T, s UserImportStore) {
	ctx := context.Background()
	a, b := mustImportUser(t, s, "a@example.com"), mustImportUser(t, s, "b@example.com")
	id := users.Identity{Issuer: "https://legacy.example/", Subject: "auth0|1", UserID: a.ID, CreatedAt: base}
	if err := s.LinkIdentity(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := s.LinkIdentity(ctx, id); err != nil {
		t.Fatalf("linking again to the same user: %v", err)
	}
	other := id
	other.UserID = b.ID
	if err := s.LinkIdentity(ctx, other); !errors.Is(err, users.ErrIdentityTaken) {
		t.Fatalf("linking to another user: %v, want ErrIdentityTaken", err)
	}
	ghost := id
	ghost.Subject, ghost.UserID = "auth0|2", secret.NewID()
	if err := s.LinkIdentity(ctx, ghost); !errors.Is(err, users.ErrNotFound) {
		t.Fatalf("linking to no user: %v, want ErrNotFound", err)
	}
	got, err := s.UserByIdentity(ctx, id.Issuer, id.Subject)
	if err != nil || got.ID != a.ID || got.Email != a.Email {
		t.Fatalf("UserByIdentity = %+v, %v", got, err)
	}
	for _, q := range [][2]string{{id.Issuer, "auth0|2"}, {"https://legacy.example", id.Subject}, {id.Issuer, "AUTH0|1"}} {
		if _, err := s.UserByIdentity(ctx, q[0], q[1]); !errors.Is(err, users.ErrNotFound) {
			t.Fatalf("UserByIdentity(%q, %q): %v, want ErrNotFound (exact match)", q[0], q[1], err)
		}
	}
	if err := s.DeleteUser(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserByIdentity(ctx, id.Issuer, id.Subject); !errors.Is(err, users.ErrNotFound) {
		t.Fatalf("identity outlived its user: %v", err)
	}
	if err := s.LinkIdentity(ctx, other); err != nil {
		t.Fatalf("linking a freed identity: %v", err)
	}
}

func importRow(email string, ids ...string) *userimport.Row {
	r := &userimport.Row{User: users.User{ID: secret.NewID(), Email: email, EmailVerified: true, PasswordHash: "$2b$10$imported",
		CreatedAt: base, UpdatedAt: base}, SetVerified: true, SetPassword: true}
	for _, sub := range ids {
		r.Identities = append(r.Identities, users.Identity{Issuer: "https://legacy.example/", Subject: sub})
	}
	return r
}

func testImportCreate(t *testing.T, s UserImportStore, dryRun bool) {
	ctx := context.Background()
	old := mustImportUser(t, s, "old@example.com")
	if err := s.LinkIdentity(ctx, users.Identity{Issuer: "https://legacy.example/", Subject: "taken", UserID: old.ID, CreatedAt: base}); err != nil {
		t.Fatal(err)
	}
	rows := []*userimport.Row{
		importRow("new@example.com", "n1", "n2"),
		importRow("old@example.com", "o1"),
		importRow("new@example.com"),         // twice in one batch
		importRow("paypal@example.com"),      //
		importRow("p\u0430ypal@example.com"), // Cyrillic а: looks like the row above
		importRow("steal@example.com", "s1", "taken"),
	}
	if err := s.ImportUsers(ctx, rows, false, dryRun); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		status userimport.Status
		id     string
		err    error
	}{
		{userimport.Created, rows[0].User.ID, nil},
		{userimport.Exists, old.ID, nil},
		{userimport.Exists, rows[0].User.ID, nil},
		{userimport.Created, rows[3].User.ID, nil},
		{userimport.Invalid, "", users.ErrEmailConfusable},
		{userimport.Invalid, "", users.ErrIdentityTaken},
	}
	for i, w := range want {
		r := rows[i]
		if r.Status != w.status || (w.id != "" && r.ID != w.id) || !errors.Is(r.Err, w.err) || (w.err == nil) != (r.Err == nil) {
			t.Errorf("row %d (%s): %s %s %v, want %s %s %v", i, r.User.Email, r.Status, r.ID, r.Err, w.status, w.id, w.err)
		}
	}
	n, err := s.UserByEmail(ctx, "new@example.com")
	if dryRun {
		if !errors.Is(err, users.ErrNotFound) {
			t.Fatalf("dry run wrote a user: %v", err)
		}
		if _, err := s.UserByIdentity(ctx, "https://legacy.example/", "n1"); !errors.Is(err, users.ErrNotFound) {
			t.Fatalf("dry run linked an identity: %v", err)
		}
		return
	}
	if err != nil || n.PasswordHash != "$2b$10$imported" || !n.EmailVerified || n.CredentialEpoch != 0 {
		t.Fatalf("imported user %+v, %v", n, err)
	}
	for _, sub := range []string{"n1", "n2"} {
		if u, err := s.UserByIdentity(ctx, "https://legacy.example/", sub); err != nil || u.ID != n.ID {
			t.Fatalf("identity %s: %+v %v", sub, u, err)
		}
	}
	if got, _ := s.UserByEmail(ctx, "old@example.com"); got.PasswordHash != old.PasswordHash {
		t.Fatal("create mode changed an existing user")
	}
	if _, err := s.UserByIdentity(ctx, "https://legacy.example/", "o1"); !errors.Is(err, users.ErrNotFound) {
		t.Fatalf("create mode linked an identity to an existing user: %v", err)
	}
	for _, e := range []string{"steal@example.com", "p\u0430ypal@example.com"} {
		if _, err := s.UserByEmail(ctx, e); !errors.Is(err, users.ErrNotFound) {
			t.Fatalf("invalid row %s was written: %v", e, err)
		}
	}
	if _, err := s.UserByIdentity(ctx, "https://legacy.example/", "s1"); !errors.Is(err, users.ErrNotFound) {
		t.Fatalf("an invalid row's identity was linked: %v", err)
	}
}

func testImportUpsert(t *testing.T, s UserImportStore) {
	ctx := context.Background()
	a, b := mustImportUser(t, s, "a@example.com"), mustImportUser(t, s, "b@example.com")
	if err := s.LinkIdentity(ctx, users.Identity{Issuer: "https://legacy.example/", Subject: "b", UserID: b.ID, CreatedAt: base}); err != nil {
		t.Fatal(err)
	}
	same := importRow("b@example.com", "b", "b2")
	same.User.PasswordHash, same.SetVerified = b.PasswordHash, false
	off := importRow("b@example.com")
	off.SetPassword, off.SetVerified, off.SetDisabled, off.User.Disabled = false, false, true, true
	rows := []*userimport.Row{
		importRow("a@example.com", "a"), // new hash: credentials change
		same,                            // same hash, verified left alone, identities linked
		importRow("a@example.com", "b"), // b's identity: invalid
		importRow("c@example.com", "c"), // new
		off,                             // disables b: credentials change
	}
	if err := s.ImportUsers(ctx, rows, true, false); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		status  userimport.Status
		id      string
		changed bool
	}{
		{userimport.Updated, a.ID, true},
		{userimport.Updated, b.ID, false},
		{userimport.Invalid, "", false},
		{userimport.Created, rows[3].User.ID, false},
		{userimport.Updated, b.ID, true},
	}
	for i, w := range want {
		r := rows[i]
		if r.Status != w.status || (w.id != "" && r.ID != w.id) || r.CredentialsChanged != w.changed {
			t.Errorf("row %d: %s %s changed=%v err=%v, want %s %s %v", i, r.Status, r.ID, r.CredentialsChanged, r.Err, w.status, w.id, w.changed)
		}
	}
	ga, _ := s.UserByID(ctx, a.ID)
	if ga.PasswordHash != "$2b$10$imported" || !ga.EmailVerified || ga.CredentialEpoch != 1 || !ga.CreatedAt.Equal(a.CreatedAt) {
		t.Fatalf("a after upsert: %+v", ga)
	}
	gb, _ := s.UserByID(ctx, b.ID)
	if gb.PasswordHash != b.PasswordHash || gb.EmailVerified || !gb.Disabled || gb.CredentialEpoch != 1 {
		t.Fatalf("b after upsert: %+v", gb)
	}
	if u, err := s.UserByIdentity(ctx, "https://legacy.example/", "b2"); err != nil || u.ID != b.ID {
		t.Fatalf("upsert did not link b2: %v", err)
	}
	if u, err := s.UserByIdentity(ctx, "https://legacy.example/", "b"); err != nil || u.ID != b.ID {
		t.Fatalf("identity b moved: %v", err)
	}
}
