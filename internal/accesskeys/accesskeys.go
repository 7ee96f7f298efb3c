// Package accesskeys is the machine credential: a long-lived key that a service, script or CI
// job exchanges for a short access token (the OAuth 2.0 client_credentials grant, RFC 6749
// §4.4). Keys Gatehouse makes have the form "gh_ak_<id>_<secret><checksum>" (see Generate);
// keys imported from another system may have any form and keep working unchanged.
//
// Only SHA-256 of a key is stored. A slow password hash would add nothing: a generated key
// carries 256 random bits, so there is nothing to guess from its hash, and an imported key is
// only ever known to us by the SHA-256 its previous home gave us. Keys are found by that hash
// through an index, so a wrong key costs what a right one costs (one SHA-256, one lookup), and
// no comparison of secret bytes happens in Go at all.
package accesskeys

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
)

// Errors of the package. ErrInvalid covers every key that does not authenticate (malformed,
// bad checksum, unknown, expired, owner gone): callers answer all of them the same way.
var (
	ErrInvalid      = errors.New("accesskeys: invalid access key")
	ErrNotFound     = errors.New("accesskeys: no such access key")
	ErrConflict     = errors.New("accesskeys: key already exists")
	ErrInvalidScope = errors.New("accesskeys: scope not granted to this key")
)

// InputError is a request that cannot be carried out as given; its text is safe to show.
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

func inputf(format string, args ...any) error { return &InputError{Msg: fmt.Sprintf(format, args...)} }

// Key is an access key as stored: never the key itself, only its SHA-256.
type Key struct {
	ID         string
	Name       string
	Hash       []byte // SHA-256 of the whole key string
	Scopes     []string
	UserID     string    // owner; empty for a key that acts as itself
	ExpiresAt  time.Time // zero: never
	CreatedAt  time.Time
	UpdatedAt  time.Time
	LastUsedAt time.Time // zero: never used; written at most once a minute
	CreatedBy  string    // "admin", or the id of the user who made it
	Imported   bool
	// OwnerDisabled is read with the key (AccessKeyByHash, AccessKeyByID), in the same
	// statement: the owner is disabled. A deleted owner's keys are deleted with it.
	OwnerDisabled bool
}

// Expired reports whether k has expired at now.
func (k *Key) Expired(now time.Time) bool { return !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt) }

// Filter selects a page of keys ordered by id.
type Filter struct {
	UserID string // only this owner's keys
	After  string // id of the last key of the previous page
	Limit  int
}

// Store keeps access keys. Implementations return ErrNotFound for a missing key and
// ErrConflict when a key with the same hash (or id) exists.
type Store interface {
	CreateAccessKey(ctx context.Context, k *Key) error
	AccessKeyByHash(ctx context.Context, hash []byte) (*Key, error)
	AccessKeyByID(ctx context.Context, id string) (*Key, error)
	ListAccessKeys(ctx context.Context, f Filter) ([]*Key, error)
	// UpdateAccessKey writes Name, Scopes, ExpiresAt and UpdatedAt.
	UpdateAccessKey(ctx context.Context, k *Key) error
	// TouchAccessKey sets LastUsedAt if at is later than the stored value.
	TouchAccessKey(ctx context.Context, id string, at time.Time) error
	// DeleteAccessKey removes the key and, in the same transaction, records rev (naming the
	// key as ClientID) on the revocation log, so that no token minted from it outlives it.
	DeleteAccessKey(ctx context.Context, id string, rev sessions.Revocation) error
}

// A Store's AccessKeyByHash and AccessKeyByID fill Key.OwnerDisabled from the owner's row in
// the statement that reads the key, so that checking the owner costs no second read.

// Service creates, imports, authenticates and manages access keys.
type Service struct {
	store Store
	now   func() time.Time
	// touchEvery is how stale LastUsedAt may get before a use writes it.
	touchEvery time.Duration
}

// New returns a Service over store.
func New(store Store, now func() time.Time) *Service {
	return &Service{store: store, now: now, touchEvery: time.Minute}
}

// Live checks that a key as read from the store is usable now: not expired, and its owner
// (if any) enabled — a key dies with its owner's account (a deleted owner's keys are deleted
// with it). Every refusal wraps ErrInvalid.
func (s *Service) Live(k *Key) error {
	if k.Expired(s.now()) {
		return fmt.Errorf("%w: expired", ErrInvalid)
	}
	if k.UserID != "" && k.OwnerDisabled {
		return fmt.Errorf("%w: owner disabled", ErrInvalid)
	}
	return nil
}

// LiveByID returns the key id if it exists and is Live: what the server checks before it
// accepts an access token minted from the key.
func (s *Service) LiveByID(ctx context.Context, id string) (*Key, error) {
	k, err := s.Get(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: key deleted", ErrInvalid)
	}
	if err != nil {
		return nil, err
	}
	if err := s.Live(k); err != nil {
		return nil, err
	}
	return k, nil
}

// HashKey is the form in which a key is stored and looked up.
func HashKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// Limits on what a key may carry.
const (
	MaxNameLen   = 200
	MaxScopes    = 50
	MaxScopeLen  = 200
	MaxKeyLen    = 512 // an imported key longer than this is refused
	minImportLen = 16  // an imported key shorter than this is too guessable to accept
)

// Spec is what an admin (or a user, for their own keys) asks for.
type Spec struct {
	Name      string
	Scopes    []string
	ExpiresAt time.Time
	UserID    string
	CreatedBy string
}

func (s *Service) check(sp *Spec) error {
	var errs []string
	sp.Name = strings.TrimSpace(sp.Name)
	if sp.Name == "" || utf8.RuneCountInString(sp.Name) > MaxNameLen || !validText(sp.Name) {
		errs = append(errs, fmt.Sprintf("name must be 1 to %d characters of text", MaxNameLen))
	}
	scopes, err := CleanScopes(sp.Scopes)
	if err != nil {
		errs = append(errs, err.Error())
	}
	sp.Scopes = scopes
	if !sp.ExpiresAt.IsZero() && !sp.ExpiresAt.After(s.now()) {
		errs = append(errs, "expires_at must be in the future")
	}
	if len(errs) > 0 {
		return inputf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// CleanScopes checks scope names (RFC 6749 §3.3: printable ASCII without space, '"' or '\')
// and returns them sorted without duplicates.
func CleanScopes(scopes []string) ([]string, error) {
	if len(scopes) > MaxScopes {
		return nil, inputf("at most %d scopes", MaxScopes)
	}
	out := make([]string, 0, len(scopes))
	for _, sc := range scopes {
		if sc == "" || len(sc) > MaxScopeLen {
			return nil, inputf("scope names must have 1 to %d characters", MaxScopeLen)
		}
		for i := 0; i < len(sc); i++ {
			if c := sc[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
				return nil, inputf("scope %q: only printable ASCII without spaces, quotes or backslashes (RFC 6749 §3.3)", sc)
			}
		}
		out = append(out, sc)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func validText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// Create makes a new key and returns it with the key string, which exists nowhere else: the
// caller shows it once.
func (s *Service) Create(ctx context.Context, sp Spec) (*Key, string, error) {
	if err := s.check(&sp); err != nil {
		return nil, "", err
	}
	now := s.now()
	id := secret.NewID()
	key := Generate(id)
	k := &Key{ID: id, Name: sp.Name, Hash: HashKey(key), Scopes: sp.Scopes, UserID: sp.UserID, ExpiresAt: sp.ExpiresAt,
		CreatedAt: now, UpdatedAt: now, CreatedBy: sp.CreatedBy}
	if err := s.store.CreateAccessKey(ctx, k); err != nil {
		return nil, "", err
	}
	return k, key, nil
}

// Import is one key brought from another system: its cleartext Key, or only KeySHA256 (hex).
type Import struct {
	Key       string
	KeySHA256 string
	Spec
}

// Import status values (API: the import answer's "status").
const (
	StatusCreated = "created"
	StatusExists  = "exists"
	StatusInvalid = "invalid"
)

// Import stores one existing key so that the service sending it keeps working. It is
// idempotent: importing a key whose hash is already stored answers StatusExists and changes
// nothing. An input problem answers StatusInvalid with an *InputError; other errors are store
// failures.
func (s *Service) Import(ctx context.Context, in Import) (*Key, string, error) {
	var hash []byte
	switch {
	case in.Key != "" && in.KeySHA256 != "":
		return nil, StatusInvalid, inputf("give key or key_sha256, not both")
	case in.Key != "":
		if len(in.Key) < minImportLen || len(in.Key) > MaxKeyLen || !validText(in.Key) || strings.TrimSpace(in.Key) != in.Key {
			return nil, StatusInvalid, inputf("key must be %d to %d characters of text without surrounding spaces", minImportLen, MaxKeyLen)
		}
		if LooksGenerated(in.Key) {
			if _, ok := Parse(in.Key); !ok {
				return nil, StatusInvalid, inputf("key has the gh_ak_ prefix but not a valid checksum")
			}
		}
		hash = HashKey(in.Key)
	case in.KeySHA256 != "":
		h, err := hex.DecodeString(in.KeySHA256)
		if err != nil || len(h) != sha256.Size {
			return nil, StatusInvalid, inputf("key_sha256 must be 64 hexadecimal characters")
		}
		hash = h
	default:
		return nil, StatusInvalid, inputf("key or key_sha256 is required")
	}
	if err := s.check(&in.Spec); err != nil {
		return nil, StatusInvalid, err
	}
	if k, err := s.store.AccessKeyByHash(ctx, hash); err == nil {
		return k, StatusExists, nil
	} else if !errors.Is(err, ErrNotFound) {
		return nil, "", err
	}
	now := s.now()
	k := &Key{ID: secret.NewID(), Name: in.Name, Hash: hash, Scopes: in.Scopes, UserID: in.UserID, ExpiresAt: in.ExpiresAt,
		CreatedAt: now, UpdatedAt: now, CreatedBy: in.CreatedBy, Imported: true}
	switch err := s.store.CreateAccessKey(ctx, k); {
	case errors.Is(err, ErrConflict): // a concurrent import of the same key won
		existing, err := s.store.AccessKeyByHash(ctx, hash)
		if err != nil {
			return nil, "", err
		}
		return existing, StatusExists, nil
	case err != nil:
		return nil, "", err
	}
	return k, StatusCreated, nil
}

// Authenticate returns the live key that key names. clientID, when not empty, is the key id
// the caller claimed (HTTP Basic user name) and must match. Every refusal is ErrInvalid
// (wrapped with the reason for logs); a store failure is returned as is, so callers fail closed.
// A key with the gh_ak_ prefix whose checksum is wrong is refused before any lookup.
func (s *Service) Authenticate(ctx context.Context, key, clientID string) (*Key, error) {
	if len(key) == 0 || len(key) > MaxKeyLen {
		return nil, fmt.Errorf("%w: bad length", ErrInvalid)
	}
	if LooksGenerated(key) {
		if _, ok := Parse(key); !ok {
			return nil, fmt.Errorf("%w: malformed or bad checksum", ErrInvalid)
		}
	}
	k, err := s.store.AccessKeyByHash(ctx, HashKey(key))
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: unknown key", ErrInvalid)
	}
	if err != nil {
		return nil, err
	}
	if clientID != "" && clientID != k.ID {
		return nil, fmt.Errorf("%w: key does not belong to the client id given", ErrInvalid)
	}
	if err := s.Live(k); err != nil {
		return nil, err
	}
	now := s.now()
	if now.Sub(k.LastUsedAt) >= s.touchEvery {
		if err := s.store.TouchAccessKey(ctx, k.ID, now); err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		k.LastUsedAt = now
	}
	return k, nil
}

// Narrow returns the scopes a token for k may carry when requested are asked for (RFC 6749
// §3.3): all of k's scopes when none are requested, else requested, which must be a subset.
func Narrow(k *Key, requested []string) ([]string, error) {
	if len(requested) == 0 {
		return slices.Clone(k.Scopes), nil
	}
	req, err := CleanScopes(requested)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidScope, err)
	}
	for _, sc := range req {
		if !slices.Contains(k.Scopes, sc) {
			return nil, fmt.Errorf("%w: %q", ErrInvalidScope, sc)
		}
	}
	return req, nil
}

// Get returns a key by id.
func (s *Service) Get(ctx context.Context, id string) (*Key, error) {
	if !secret.ValidID(id) {
		return nil, ErrNotFound
	}
	return s.store.AccessKeyByID(ctx, id)
}

// List returns a page of keys.
func (s *Service) List(ctx context.Context, f Filter) ([]*Key, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	return s.store.ListAccessKeys(ctx, f)
}

// Update is a change to a key; nil fields stay as they are. ClearExpiry removes the expiry.
type Update struct {
	Name        *string
	Scopes      *[]string
	ExpiresAt   *time.Time
	ClearExpiry bool
}

// Update changes a key's name, scopes or expiry and returns it. Narrowing scopes or moving the
// expiry earlier does not shorten tokens already minted: revoke the key for that.
func (s *Service) Update(ctx context.Context, id string, u Update) (*Key, error) {
	k, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	sp := Spec{Name: k.Name, Scopes: k.Scopes, ExpiresAt: k.ExpiresAt}
	if u.Name != nil {
		sp.Name = *u.Name
	}
	if u.Scopes != nil {
		sp.Scopes = *u.Scopes
	}
	if u.ExpiresAt != nil {
		sp.ExpiresAt = *u.ExpiresAt
	}
	if u.ClearExpiry {
		sp.ExpiresAt = time.Time{}
	}
	if u.ExpiresAt == nil && !u.ClearExpiry {
		sp.ExpiresAt = time.Time{} // an existing expiry is not re-validated against now
	}
	if err := s.check(&sp); err != nil {
		return nil, err
	}
	if u.ExpiresAt == nil && !u.ClearExpiry {
		sp.ExpiresAt = k.ExpiresAt
	}
	k.Name, k.Scopes, k.ExpiresAt, k.UpdatedAt = sp.Name, sp.Scopes, sp.ExpiresAt, s.now()
	if err := s.store.UpdateAccessKey(ctx, k); err != nil {
		return nil, err
	}
	return k, nil
}

// Delete removes a key: it no longer authenticates, and in the same step an entry on the
// revocation log, lasting until `until` (the longest access token's expiry), revokes every
// token minted from it. The caller then announces the entry (sessions.Manager.Announce).
func (s *Service) Delete(ctx context.Context, id string, until time.Time) (*Key, error) {
	k, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.store.DeleteAccessKey(ctx, id, sessions.Revocation{ClientID: id, UserID: k.UserID, Until: until}); err != nil {
		return nil, err
	}
	return k, nil
}

// ClientLookup reports whether the key id may still stand behind access tokens, and the
// subject of its tokens (its owner, or the key id): the check tokens.Service.WithClients needs.
func (s *Service) ClientLookup(ctx context.Context, id string) (subject string, live bool, err error) {
	k, err := s.LiveByID(ctx, id)
	if errors.Is(err, ErrInvalid) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return k.Subject(), true, nil
}

// Subject is the "sub" of the access tokens minted from k: its owner, or the key itself.
func (k *Key) Subject() string {
	if k.UserID != "" {
		return k.UserID
	}
	return k.ID
}

// OwnedIDs returns the ids of every key userID owns.
func (s *Service) OwnedIDs(ctx context.Context, userID string) ([]string, error) {
	var ids []string
	f := Filter{UserID: userID, Limit: 200}
	for {
		page, err := s.store.ListAccessKeys(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, k := range page {
			ids = append(ids, k.ID)
		}
		if len(page) < f.Limit {
			return ids, nil
		}
		f.After = page[len(page)-1].ID
	}
}
