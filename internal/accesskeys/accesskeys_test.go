package accesskeys

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/clock"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
)

// memStore is a hand-written in-memory Store for the domain rules; the SQL stores run the
// shared conformance suite.
type memStore struct {
	mu      sync.Mutex
	byID    map[string]*Key
	lookups int
	touches int
	revoked []sessions.Revocation // entries DeleteAccessKey recorded
	// disabled marks owners as disabled: reads fill Key.OwnerDisabled from it, as the SQL
	// stores do from the users table.
	disabled map[string]bool
	err      error // every read fails with it when set
}

func newMemStore() *memStore { return &memStore{byID: map[string]*Key{}} }

func (m *memStore) CreateAccessKey(_ context.Context, k *Key) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, o := range m.byID {
		if string(o.Hash) == string(k.Hash) || o.ID == k.ID {
			return ErrConflict
		}
	}
	c := *k
	m.byID[k.ID] = &c
	return nil
}
func (m *memStore) AccessKeyByHash(_ context.Context, h []byte) (*Key, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lookups++
	if m.err != nil {
		return nil, m.err
	}
	for _, o := range m.byID {
		if string(o.Hash) == string(h) {
			c := *o
			c.OwnerDisabled = m.disabled[c.UserID]
			return &c, nil
		}
	}
	return nil, ErrNotFound
}
func (m *memStore) AccessKeyByID(_ context.Context, id string) (*Key, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return nil, m.err
	}
	if o, ok := m.byID[id]; ok {
		c := *o
		c.OwnerDisabled = m.disabled[c.UserID]
		return &c, nil
	}
	return nil, ErrNotFound
}
func (m *memStore) ListAccessKeys(_ context.Context, f Filter) ([]*Key, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*Key
	for _, o := range m.byID {
		if (f.UserID == "" || o.UserID == f.UserID) && o.ID > f.After {
			c := *o
			out = append(out, &c)
		}
	}
	slices.SortFunc(out, func(a, b *Key) int { return strings.Compare(a.ID, b.ID) })
	return out[:min(len(out), f.Limit)], nil
}
func (m *memStore) UpdateAccessKey(_ context.Context, k *Key) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.byID[k.ID]
	if !ok {
		return ErrNotFound
	}
	o.Name, o.Scopes, o.ExpiresAt, o.UpdatedAt = k.Name, k.Scopes, k.ExpiresAt, k.UpdatedAt
	return nil
}
func (m *memStore) TouchAccessKey(_ context.Context, id string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.touches++
	if o, ok := m.byID[id]; ok && at.After(o.LastUsedAt) {
		o.LastUsedAt = at
	}
	return nil
}
func (m *memStore) DeleteAccessKey(_ context.Context, id string, rev sessions.Revocation) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.byID[id]; !ok {
		return ErrNotFound
	}
	delete(m.byID, id)
	m.revoked = append(m.revoked, rev)
	return nil
}

func TestGenerateAndParse(t *testing.T) {
	id := secret.NewID()
	key := Generate(id)
	if len(key) != KeyLen || !strings.HasPrefix(key, "gh_ak_"+id+"_") {
		t.Fatalf("key %q: length %d, want %d with prefix and id", key, len(key), KeyLen)
	}
	if got, ok := Parse(key); !ok || got != id {
		t.Fatalf("Parse(own key) = %q %v", got, ok)
	}
	if Generate(id) == key {
		t.Fatal("two keys for one id are equal: the secret is not random")
	}
	// Every single-character change is caught by the shape check or the checksum.
	for i := len(Prefix); i < len(key); i++ {
		for _, c := range []byte{'a', 'z', '2', '7', '_', 'A'} {
			if key[i] == c {
				continue
			}
			bad := key[:i] + string(c) + key[i+1:]
			if _, ok := Parse(bad); ok {
				t.Fatalf("changed byte %d to %q and Parse accepted it", i, c)
			}
		}
	}
	for _, bad := range []string{"", Prefix, key[:len(key)-1], key + "a", "gh_mk_" + key[6:], strings.ToUpper(key)} {
		if _, ok := Parse(bad); ok {
			t.Fatalf("Parse(%q) accepted", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(Generate(secret.NewID()))
	f.Add("gh_ak_")
	f.Add("legacy-key-0123456789")
	f.Fuzz(func(t *testing.T, s string) {
		id, ok := Parse(s)
		if !ok {
			return
		}
		if len(s) != KeyLen || !secret.ValidID(id) || checksum(s[:KeyLen-checksumLen]) != s[KeyLen-checksumLen:] {
			t.Fatalf("Parse accepted %q", s)
		}
	})
}

func newService(t *testing.T) (*Service, *memStore, *clock.Fake) {
	t.Helper()
	st := newMemStore()
	clk := clock.NewFake(time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC))
	return New(st, clk.Now), st, clk
}

// TestOwnerGate: a key with an owner authenticates only while the owner is enabled (the
// store reads the owner's flag with the key); a failing read is a store failure, not
// ErrInvalid, so callers fail closed.
func TestOwnerGate(t *testing.T) {
	ctx := context.Background()
	s, st, _ := newService(t)
	st.disabled = map[string]bool{}
	k, key, err := s.Create(ctx, Spec{Name: "svc", Scopes: []string{"a"}, UserID: "u1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, key, k.ID); err != nil {
		t.Fatalf("enabled owner: %v", err)
	}
	if _, err := s.LiveByID(ctx, k.ID); err != nil {
		t.Fatalf("LiveByID, enabled owner: %v", err)
	}
	st.disabled["u1"] = true
	if _, err := s.Authenticate(ctx, key, k.ID); !errors.Is(err, ErrInvalid) {
		t.Fatalf("disabled owner: %v, want ErrInvalid", err)
	}
	if _, err := s.LiveByID(ctx, k.ID); !errors.Is(err, ErrInvalid) {
		t.Fatalf("LiveByID, disabled owner: %v", err)
	}
	if sub, live, err := s.ClientLookup(ctx, k.ID); live || err != nil || sub != "" {
		t.Fatalf("ClientLookup, disabled owner = %q %v %v", sub, live, err)
	}
	st.disabled["u1"] = false
	if sub, live, err := s.ClientLookup(ctx, k.ID); !live || err != nil || sub != "u1" {
		t.Fatalf("ClientLookup, enabled owner = %q %v %v", sub, live, err)
	}
	st.err = errors.New("store unreachable")
	if _, err := s.Authenticate(ctx, key, k.ID); err == nil || errors.Is(err, ErrInvalid) {
		t.Fatalf("store failure: %v, want the store error", err)
	}
	if _, _, err := s.ClientLookup(ctx, k.ID); err == nil {
		t.Fatal("ClientLookup hid a store failure")
	}
	st.err = nil
	ids, err := s.OwnedIDs(ctx, "u1")
	if err != nil || !slices.Equal(ids, []string{k.ID}) {
		t.Fatalf("OwnedIDs = %v, %v", ids, err)
	}
}

func TestCreateAndAuthenticate(t *testing.T) {
	ctx := context.Background()
	s, st, clk := newService(t)
	k, key, err := s.Create(ctx, Spec{Name: " billing ", Scopes: []string{"orders:read", "billing", "orders:read"}, ExpiresAt: clk.Now().Add(time.Hour), CreatedBy: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	if k.Name != "billing" || !slices.Equal(k.Scopes, []string{"billing", "orders:read"}) {
		t.Fatalf("stored %q %v", k.Name, k.Scopes)
	}
	if h := st.byID[k.ID].Hash; string(h) != string(HashKey(key)) || len(h) != sha256.Size {
		t.Fatal("the store holds something other than SHA-256 of the key")
	}
	got, err := s.Authenticate(ctx, key, "")
	if err != nil || got.ID != k.ID {
		t.Fatalf("Authenticate = %v, %v", got, err)
	}
	if _, err := s.Authenticate(ctx, key, k.ID); err != nil {
		t.Fatalf("with the matching client id: %v", err)
	}
	// Refusals, all ErrInvalid.
	other := Generate(secret.NewID())
	badSum := key[:len(key)-1] + map[bool]string{true: "b", false: "a"}[key[len(key)-1] == 'a']
	before := st.lookups
	if _, err := s.Authenticate(ctx, badSum, ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad checksum: %v", err)
	}
	if st.lookups != before {
		t.Fatal("a key with a bad checksum reached the store")
	}
	for name, tc := range map[string]struct{ key, client string }{
		"unknown":         {other, ""},
		"wrong client id": {key, secret.NewID()},
		"empty":           {"", ""},
		"too long":        {strings.Repeat("x", MaxKeyLen+1), ""},
	} {
		if _, err := s.Authenticate(ctx, tc.key, tc.client); !errors.Is(err, ErrInvalid) {
			t.Fatalf("%s: %v, want ErrInvalid", name, err)
		}
	}
	clk.Add(time.Hour)
	if _, err := s.Authenticate(ctx, key, ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("expired: %v", err)
	}
}

func TestLastUsedIsCoalesced(t *testing.T) {
	ctx := context.Background()
	s, st, clk := newService(t)
	_, key, _ := s.Create(ctx, Spec{Name: "ci", Scopes: []string{"a"}})
	for range 10 {
		if _, err := s.Authenticate(ctx, key, ""); err != nil {
			t.Fatal(err)
		}
	}
	if st.touches != 1 {
		t.Fatalf("%d last-used writes for 10 uses within a minute, want 1", st.touches)
	}
	clk.Add(time.Minute)
	s.Authenticate(ctx, key, "")
	if st.touches != 2 {
		t.Fatalf("%d writes after a minute, want 2", st.touches)
	}
}

func TestCreateRefusesBadInput(t *testing.T) {
	s, _, clk := newService(t)
	for name, sp := range map[string]Spec{
		"no name":       {Scopes: []string{"a"}},
		"long name":     {Name: strings.Repeat("n", MaxNameLen+1)},
		"NUL in name":   {Name: "a\x00b"},
		"space scope":   {Name: "x", Scopes: []string{"a b"}},
		"quote scope":   {Name: "x", Scopes: []string{`a"`}},
		"empty scope":   {Name: "x", Scopes: []string{""}},
		"past expiry":   {Name: "x", ExpiresAt: clk.Now().Add(-time.Second)},
		"too many":      {Name: "x", Scopes: strings.Split(strings.Repeat("s,", MaxScopes+1), ",")},
		"non-ASCII":     {Name: "x", Scopes: []string{"é"}},
		"control scope": {Name: "x", Scopes: []string{"a\tb"}},
	} {
		var ie *InputError
		if _, _, err := s.Create(context.Background(), sp); !errors.As(err, &ie) {
			t.Errorf("%s: %v, want an InputError", name, err)
		}
	}
}

func TestImport(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newService(t)
	legacy := "sk_live_4eC39HqLyjWDarjtT1zdp7dc"
	sum := sha256.Sum256([]byte("only-the-hash-is-known-0001"))
	cases := []struct {
		name string
		in   Import
		want string
	}{
		{"cleartext legacy key", Import{Key: legacy, Spec: Spec{Name: "stripe-like", Scopes: []string{"a"}}}, StatusCreated},
		{"same key again", Import{Key: legacy, Spec: Spec{Name: "again", Scopes: []string{"a"}}}, StatusExists},
		{"hash only", Import{KeySHA256: hex.EncodeToString(sum[:]), Spec: Spec{Name: "hashed"}}, StatusCreated},
		{"hash only, upper-case hex", Import{KeySHA256: strings.ToUpper(hex.EncodeToString(sum[:])), Spec: Spec{Name: "hashed"}}, StatusExists},
		{"a generated key", Import{Key: Generate(secret.NewID()), Spec: Spec{Name: "moved"}}, StatusCreated},
		{"both", Import{Key: legacy, KeySHA256: hex.EncodeToString(sum[:]), Spec: Spec{Name: "x"}}, StatusInvalid},
		{"neither", Import{Spec: Spec{Name: "x"}}, StatusInvalid},
		{"short", Import{Key: "short", Spec: Spec{Name: "x"}}, StatusInvalid},
		{"bad hex", Import{KeySHA256: "zz", Spec: Spec{Name: "x"}}, StatusInvalid},
		{"prefix with a bad checksum", Import{Key: Generate(secret.NewID())[:KeyLen-1] + "x", Spec: Spec{Name: "x"}}, StatusInvalid},
		{"no name", Import{Key: "another-legacy-key-123"}, StatusInvalid},
	}
	for _, tc := range cases {
		_, status, err := s.Import(ctx, tc.in)
		if status != tc.want {
			t.Errorf("%s: status %q (%v), want %q", tc.name, status, err, tc.want)
		}
		var ie *InputError
		if (status == StatusInvalid) != errors.As(err, &ie) {
			t.Errorf("%s: status %q with error %v", tc.name, status, err)
		}
	}
	// The imported keys authenticate as they are.
	if _, err := s.Authenticate(ctx, legacy, ""); err != nil {
		t.Fatalf("imported cleartext key: %v", err)
	}
	if _, err := s.Authenticate(ctx, "only-the-hash-is-known-0001", ""); err != nil {
		t.Fatalf("imported hash-only key: %v", err)
	}
}

func TestNarrow(t *testing.T) {
	k := &Key{Scopes: []string{"a", "b"}}
	if got, err := Narrow(k, nil); err != nil || !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("no request: %v %v", got, err)
	}
	if got, err := Narrow(k, []string{"b"}); err != nil || !slices.Equal(got, []string{"b"}) {
		t.Fatalf("subset: %v %v", got, err)
	}
	for _, req := range [][]string{{"c"}, {"a", "c"}, {"a b"}} {
		if _, err := Narrow(k, req); !errors.Is(err, ErrInvalidScope) {
			t.Fatalf("Narrow(%v) = %v, want ErrInvalidScope", req, err)
		}
	}
}

func TestUpdateAndDelete(t *testing.T) {
	ctx := context.Background()
	s, st, clk := newService(t)
	k, key, _ := s.Create(ctx, Spec{Name: "a", Scopes: []string{"x"}, ExpiresAt: clk.Now().Add(time.Minute)})
	clk.Add(2 * time.Minute) // the old expiry is now past; a rename must not trip over it
	name := "renamed"
	got, err := s.Update(ctx, k.ID, Update{Name: &name})
	if err != nil || got.Name != "renamed" || !got.ExpiresAt.Equal(k.ExpiresAt) {
		t.Fatalf("rename: %+v %v", got, err)
	}
	past := clk.Now().Add(-time.Hour)
	if _, err := s.Update(ctx, k.ID, Update{ExpiresAt: &past}); err == nil {
		t.Fatal("an expiry in the past was accepted")
	}
	got, err = s.Update(ctx, k.ID, Update{ClearExpiry: true})
	if err != nil || !got.ExpiresAt.IsZero() {
		t.Fatalf("clear expiry: %+v %v", got, err)
	}
	if _, err := s.Authenticate(ctx, key, ""); err != nil {
		t.Fatalf("after clearing the expiry: %v", err)
	}
	until := clk.Now().Add(15 * time.Minute)
	if _, err := s.Delete(ctx, k.ID, until); err != nil {
		t.Fatal(err)
	}
	want := []sessions.Revocation{{ClientID: k.ID, Until: until}}
	if !slices.EqualFunc(st.revoked, want, func(a, b sessions.Revocation) bool { return a == b }) {
		t.Fatalf("revocations written with the delete: %+v, want %+v", st.revoked, want)
	}
	if _, err := s.Authenticate(ctx, key, ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("deleted key: %v", err)
	}
	if _, err := s.Get(ctx, "not-an-id"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("bad id: %v", err)
	}
}
