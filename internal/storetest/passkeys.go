package storetest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-auth/gatehouse/internal/passkeys"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

// PasskeyStore is what the passkey conformance tests need.
type PasskeyStore interface {
	passkeys.Store
	users.Store
}

// RunPasskeys runs the passkeys.Store conformance tests; newStore must return a fresh store.
func RunPasskeys(t *testing.T, newStore func(t *testing.T) PasskeyStore) {
	t.Run("PasskeysRoundTrip", func(t *testing.T) { testPasskeysRoundTrip(t, newStore(t)) })
	t.Run("PasskeysCounter", func(t *testing.T) { testPasskeysCounter(t, newStore(t)) })
	t.Run("PasskeysCounterRace", func(t *testing.T) { testPasskeysCounterRace(t, newStore(t)) })
	t.Run("PasskeysOwnership", func(t *testing.T) { testPasskeysOwnership(t, newStore(t)) })
}

func mustPasskeyUser(t *testing.T, s PasskeyStore, email string) *users.User {
	t.Helper()
	u := &users.User{ID: secret.NewID(), Email: email, CreatedAt: base, UpdatedAt: base}
	if err := s.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

func newPasskey(userID string, credID byte, created time.Time) *passkeys.Passkey {
	return &passkeys.Passkey{
		ID: secret.NewID(), UserID: userID, CredentialID: []byte{credID, 1, 2, 3, 0xff}, PublicKey: []byte{0xa5, 1, 2, credID},
		AttestationFormat: "none", SignCount: 7, BackupEligible: true, BackupState: false, UserVerified: true,
		Transports: []string{"hybrid", "internal"}, AAGUID: []byte("0123456789abcdef"), Attachment: "platform",
		Name: "Phone ✓", CreatedAt: created,
	}
}

func mustCreatePasskey(t *testing.T, s PasskeyStore, p *passkeys.Passkey) *passkeys.Passkey {
	t.Helper()
	if err := s.CreatePasskey(context.Background(), p); err != nil {
		t.Fatalf("CreatePasskey: %v", err)
	}
	return p
}

func testPasskeysRoundTrip(t *testing.T, s PasskeyStore) {
	ctx := context.Background()
	u := mustPasskeyUser(t, s, "pk@example.com")
	if list, err := s.PasskeysByUser(ctx, u.ID); err != nil || len(list) != 0 {
		t.Fatalf("no passkeys yet: %v %v", list, err)
	}
	a := mustCreatePasskey(t, s, newPasskey(u.ID, 1, base))
	b := newPasskey(u.ID, 2, base.Add(time.Minute))
	b.Transports, b.Attachment, b.BackupEligible, b.UserVerified, b.SignCount = nil, "", false, false, 0
	b.AAGUID = make([]byte, 16)
	mustCreatePasskey(t, s, b)

	got, err := s.PasskeyByCredentialID(ctx, a.CredentialID)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(a, got); d != "" {
		t.Fatalf("round trip (-want +got):\n%s", d)
	}
	list, err := s.PasskeysByUser(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]*passkeys.Passkey{a, b}, list); d != "" {
		t.Fatalf("list, oldest first (-want +got):\n%s", d)
	}
	if _, err := s.PasskeyByCredentialID(ctx, []byte{9, 9}); !errors.Is(err, passkeys.ErrNotFound) {
		t.Fatalf("unknown credential: %v", err)
	}
	dup := newPasskey(u.ID, 1, base)
	if err := s.CreatePasskey(ctx, dup); !errors.Is(err, passkeys.ErrConflict) {
		t.Fatalf("same credential id again: %v, want ErrConflict", err)
	}
	if err := s.RenamePasskey(ctx, u.ID, a.ID, "Laptop"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.PasskeyByCredentialID(ctx, a.CredentialID); got.Name != "Laptop" {
		t.Fatalf("renamed: %q", got.Name)
	}
	if err := s.DeletePasskey(ctx, u.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePasskey(ctx, u.ID, a.ID); !errors.Is(err, passkeys.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := s.PasskeyByCredentialID(ctx, a.CredentialID); !errors.Is(err, passkeys.ErrNotFound) {
		t.Fatalf("deleted passkey still found: %v", err)
	}
	// Deleting the user deletes its passkeys.
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PasskeyByCredentialID(ctx, b.CredentialID); !errors.Is(err, passkeys.ErrNotFound) {
		t.Fatalf("passkey of a deleted user: %v", err)
	}
}

func testPasskeysCounter(t *testing.T, s PasskeyStore) {
	ctx := context.Background()
	u := mustPasskeyUser(t, s, "counter@example.com")
	p := mustCreatePasskey(t, s, newPasskey(u.ID, 3, base)) // counter 7
	zero := newPasskey(u.ID, 4, base)
	zero.SignCount = 0
	mustCreatePasskey(t, s, zero)
	at := base.Add(time.Hour)
	tests := []struct {
		name  string
		id    string
		count uint32
		want  error
	}{
		{"forward", p.ID, 8, nil},
		{"same again", p.ID, 8, passkeys.ErrConflict},
		{"back", p.ID, 5, passkeys.ErrConflict},
		{"back to zero", p.ID, 0, passkeys.ErrConflict},
		{"far forward", p.ID, 1 << 31, nil},
		{"top of uint32", p.ID, 1<<32 - 1, nil},
		{"zero stays zero", zero.ID, 0, nil},
		{"zero again", zero.ID, 0, nil},
		{"unknown", secret.NewID(), 9, passkeys.ErrNotFound},
	}
	for _, tt := range tests {
		if err := s.RecordPasskeyUse(ctx, tt.id, tt.count, true, at); !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
			t.Fatalf("%s: RecordPasskeyUse(%d) = %v, want %v", tt.name, tt.count, err, tt.want)
		}
	}
	got, err := s.PasskeyByCredentialID(ctx, p.CredentialID)
	if err != nil {
		t.Fatal(err)
	}
	if got.SignCount != 1<<32-1 || !got.BackupState || !got.LastUsedAt.Equal(at) {
		t.Fatalf("after uses: count %d, backup state %v, last used %v", got.SignCount, got.BackupState, got.LastUsedAt)
	}
}

func testPasskeysCounterRace(t *testing.T, s PasskeyStore) {
	ctx := context.Background()
	u := mustPasskeyUser(t, s, "race@example.com")
	p := mustCreatePasskey(t, s, newPasskey(u.ID, 5, base))
	var wins, conflicts atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			switch err := s.RecordPasskeyUse(ctx, p.ID, 8, false, base); {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, passkeys.ErrConflict):
				conflicts.Add(1)
			default:
				t.Errorf("RecordPasskeyUse: %v", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if wins.Load() != 1 || conflicts.Load() != 7 {
		t.Fatalf("%d uses with one counter value advanced it, %d conflicted; want exactly 1 and 7", wins.Load(), conflicts.Load())
	}
}

func testPasskeysOwnership(t *testing.T, s PasskeyStore) {
	ctx := context.Background()
	alice := mustPasskeyUser(t, s, "alice-pk@example.com")
	bob := mustPasskeyUser(t, s, "bob-pk@example.com")
	p := mustCreatePasskey(t, s, newPasskey(alice.ID, 6, base))
	if err := s.RenamePasskey(ctx, bob.ID, p.ID, "mine"); !errors.Is(err, passkeys.ErrNotFound) {
		t.Fatalf("rename by another user: %v", err)
	}
	if err := s.DeletePasskey(ctx, bob.ID, p.ID); !errors.Is(err, passkeys.ErrNotFound) {
		t.Fatalf("delete by another user: %v", err)
	}
	if list, err := s.PasskeysByUser(ctx, bob.ID); err != nil || len(list) != 0 {
		t.Fatalf("another user's list: %v %v", list, err)
	}
	if got, err := s.PasskeyByCredentialID(ctx, p.CredentialID); err != nil || got.Name != p.Name {
		t.Fatalf("untouched: %v %v", got, err)
	}
}
