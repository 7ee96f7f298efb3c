// Package keys manages the token-signing keys (docs/architecture.md "Keys"): generated here, stored
// encrypted with the key-encryption key (which is never in the database), published in the
// JWKS before they sign anything, and retired only after every token they signed has expired.
//
// A key's life is read off its times:
//
//	created_at ≤ now < active_at   published: in the JWKS, not yet signing
//	active_at ≤ now (newest such)   active: signs new tokens
//	retire_at ≤ now (retire_at > 0) retired: gone from the JWKS, never used again
//
// Rotation is staged so that no resource server ever sees a token signed by a key it has not
// fetched yet: a new key becomes active only after a JWKS cache lifetime (max-age) has passed.
package keys

import (
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/jws"
)

// ErrNoKey is returned when no key can sign (which Maintain prevents).
var ErrNoKey = errors.New("no active signing key")

// SigningKey is a stored key. PrivateKey is sealed (see package doc).
type SigningKey struct {
	ID         string
	Algorithm  jws.Algorithm
	PrivateKey []byte
	CreatedAt  time.Time
	ActiveAt   time.Time
	RetireAt   time.Time // zero: not scheduled
}

// Store keeps signing keys.
type Store interface {
	CreateSigningKey(ctx context.Context, k *SigningKey) error
	SigningKeys(ctx context.Context) ([]*SigningKey, error)
	// RetireSigningKeys sets retire_at = at on every key other than keep that became (or
	// becomes) active before activeBefore and whose retire_at is unset or later than at.
	RetireSigningKeys(ctx context.Context, keep string, activeBefore, at time.Time) error
}

// Config is the rotation policy.
type Config struct {
	Algorithm jws.Algorithm // default EdDSA
	// RotateEvery is how old the active key gets before a successor is published (default
	// 30 days).
	RotateEvery time.Duration
	// JWKSMaxAge is the Cache-Control max-age of the JWKS: a published key waits this long
	// (plus a minute of margin) before it signs (default 15 minutes).
	JWKSMaxAge time.Duration
	// MaxTokenLifetime is the longest lifetime of any token a key signs, plus the clock-skew
	// leeway verifiers allow: a replaced key retires this long after its successor activates.
	MaxTokenLifetime time.Duration
}

func (c Config) withDefaults() Config {
	if c.Algorithm == "" {
		c.Algorithm = jws.EdDSA
	}
	if c.RotateEvery <= 0 {
		c.RotateEvery = 30 * 24 * time.Hour
	}
	if c.JWKSMaxAge <= 0 {
		c.JWKSMaxAge = 15 * time.Minute
	}
	if c.MaxTokenLifetime <= 0 {
		c.MaxTokenLifetime = 15 * time.Minute
	}
	return c
}

// Manager signs with the active key and publishes the JWKS.
type Manager struct {
	store Store
	aead  cipher.AEAD
	cfg   Config
	now   func() time.Time

	mu       sync.Mutex
	loadedAt time.Time
	signers  map[string]*jws.Signer // unretired keys by id
	keys     []*SigningKey          // unretired keys, oldest first
}

// refreshEvery is how often the key list is re-read from the store, so that several
// instances converge on rotations made by one of them.
const refreshEvery = 30 * time.Second

// NewManager returns a Manager. kek is the 32-byte key-encryption key.
func NewManager(store Store, kek []byte, cfg Config, now func() time.Time) (*Manager, error) {
	if len(kek) != 32 {
		return nil, errors.New("keys: the key-encryption key must be 32 bytes")
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	switch cfg.Algorithm {
	case jws.EdDSA, jws.ES256, jws.RS256:
	default:
		return nil, fmt.Errorf("keys: unsupported algorithm %q", cfg.Algorithm)
	}
	return &Manager{store: store, aead: aead, cfg: cfg, now: now}, nil
}

// Config returns the effective configuration.
func (m *Manager) Config() Config { return m.cfg }

func aad(id string, alg jws.Algorithm) []byte {
	return []byte("gatehouse signing key v1\x00" + id + "\x00" + string(alg))
}

func (m *Manager) seal(id string, alg jws.Algorithm, priv crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, m.aead.NonceSize())
	rand.Read(nonce)
	return m.aead.Seal(nonce, nonce, der, aad(id, alg)), nil
}

func (m *Manager) open(k *SigningKey) (*jws.Signer, error) {
	n := m.aead.NonceSize()
	if len(k.PrivateKey) < n {
		return nil, fmt.Errorf("keys: key %s: sealed key too short", k.ID)
	}
	der, err := m.aead.Open(nil, k.PrivateKey[:n], k.PrivateKey[n:], aad(k.ID, k.Algorithm))
	if err != nil {
		return nil, fmt.Errorf("keys: key %s cannot be decrypted with this key-encryption key", k.ID)
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("keys: key %s: %w", k.ID, err)
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("keys: key %s is not a signing key", k.ID)
	}
	return jws.NewSigner(k.ID, k.Algorithm, signer)
}

// create generates and stores a key that becomes active at activeAt.
func (m *Manager) create(ctx context.Context, now, activeAt time.Time) (*SigningKey, error) {
	priv, err := jws.GenerateKey(m.cfg.Algorithm)
	if err != nil {
		return nil, err
	}
	id := secret.NewID()
	sealed, err := m.seal(id, m.cfg.Algorithm, priv)
	if err != nil {
		return nil, err
	}
	k := &SigningKey{ID: id, Algorithm: m.cfg.Algorithm, PrivateKey: sealed, CreatedAt: now, ActiveAt: activeAt}
	if err := m.store.CreateSigningKey(ctx, k); err != nil {
		return nil, err
	}
	return k, nil
}

// load re-reads the keys (at most every refreshEvery unless forced).
func (m *Manager) load(ctx context.Context, force bool) error {
	now := m.now()
	if !force && m.signers != nil && now.Sub(m.loadedAt) < refreshEvery && !now.Before(m.loadedAt) {
		return nil
	}
	all, err := m.store.SigningKeys(ctx)
	if err != nil {
		return err
	}
	signers := make(map[string]*jws.Signer, len(all))
	var live []*SigningKey
	for _, k := range all {
		if !k.RetireAt.IsZero() && !now.Before(k.RetireAt) {
			continue
		}
		s, ok := m.signers[k.ID]
		if !ok {
			if s, err = m.open(k); err != nil {
				return err
			}
		}
		signers[k.ID] = s
		live = append(live, k)
	}
	m.signers, m.keys, m.loadedAt = signers, live, now
	return nil
}

// active is the newest unretired key whose activation time has come.
func (m *Manager) active(now time.Time) *SigningKey {
	var best *SigningKey
	for _, k := range m.keys {
		if !now.Before(k.ActiveAt) && (k.RetireAt.IsZero() || k.RetireAt.After(now)) {
			if best == nil || k.ActiveAt.After(best.ActiveAt) {
				best = k
			}
		}
	}
	return best
}

// Signer returns the signer of the active key.
func (m *Manager) Signer(ctx context.Context) (*jws.Signer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.load(ctx, false); err != nil {
		return nil, err
	}
	k := m.active(m.now())
	if k == nil {
		return nil, ErrNoKey
	}
	return m.signers[k.ID], nil
}

// PublicKeys returns every published (unretired) key, oldest first.
func (m *Manager) PublicKeys(ctx context.Context) ([]jws.PublicKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.load(ctx, false); err != nil {
		return nil, err
	}
	out := make([]jws.PublicKey, 0, len(m.keys))
	for _, k := range m.keys {
		out = append(out, m.signers[k.ID].PublicKey())
	}
	return out, nil
}

// Key implements jws.KeySet over the published keys, for verifying tokens we issued.
func (m *Manager) Key(kid string) (jws.PublicKey, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.load(context.Background(), false); err != nil {
		return jws.PublicKey{}, false
	}
	s, ok := m.signers[kid]
	if !ok {
		return jws.PublicKey{}, false
	}
	return s.PublicKey(), true
}

// Maintain performs the scheduled steps of rotation; the server calls it at start and then
// every minute or so. It creates the first key (active at once: nobody can have cached a
// JWKS yet), publishes a successor when the active key is RotateEvery old, and schedules the
// retirement of keys that a newer active key has replaced.
func (m *Manager) Maintain(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.load(ctx, true); err != nil {
		return err
	}
	now := m.now()
	act := m.active(now)
	changed := false
	switch {
	case act == nil && len(m.keys) == 0:
		if _, err := m.create(ctx, now, now); err != nil {
			return err
		}
		changed = true
	case act == nil:
		// Only published keys (e.g. after an outage longer than a rotation): nothing else to do
		// but wait for activation; a first-start race cannot get here.
	default:
		pending := false
		for _, k := range m.keys {
			if k.ActiveAt.After(now) {
				pending = true
			}
		}
		if !pending && now.Sub(act.ActiveAt) >= m.cfg.RotateEvery {
			if _, err := m.create(ctx, now, now.Add(m.cfg.JWKSMaxAge+time.Minute)); err != nil {
				return err
			}
			changed = true
		}
		// Keys older than the active one stop signing now; retire them once their tokens expire.
		for _, k := range m.keys {
			if k.ID != act.ID && k.ActiveAt.Before(act.ActiveAt) && k.RetireAt.IsZero() {
				if err := m.store.RetireSigningKeys(ctx, act.ID, act.ActiveAt, act.ActiveAt.Add(m.cfg.MaxTokenLifetime)); err != nil {
					return err
				}
				changed = true
				break
			}
		}
	}
	if changed {
		return m.load(ctx, true)
	}
	return nil
}

// RotateNow is the emergency rotation: a new key signs from now on and every other key is
// retired at once, so tokens they signed stop verifying (users sign in again or refresh).
func (m *Manager) RotateNow(ctx context.Context) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	k, err := m.create(ctx, now, now)
	if err != nil {
		return "", err
	}
	if err := m.store.RetireSigningKeys(ctx, k.ID, time.Unix(1<<40, 0), now); err != nil {
		return "", err
	}
	return k.ID, m.load(ctx, true)
}

// Info describes a key for the management API (never the private key).
type Info struct {
	ID        string        `json:"kid"`
	Algorithm jws.Algorithm `json:"alg"`
	State     string        `json:"state"` // "published", "active", "retiring"
	CreatedAt time.Time     `json:"created_at"`
	ActiveAt  time.Time     `json:"active_at"`
	RetireAt  *time.Time    `json:"retire_at,omitempty"`
}

// List describes the unretired keys.
func (m *Manager) List(ctx context.Context) ([]Info, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.load(ctx, true); err != nil {
		return nil, err
	}
	now := m.now()
	act := m.active(now)
	var out []Info
	for _, k := range m.keys {
		i := Info{ID: k.ID, Algorithm: k.Algorithm, CreatedAt: k.CreatedAt, ActiveAt: k.ActiveAt, State: "published"}
		switch {
		case act != nil && k.ID == act.ID:
			i.State = "active"
		case !k.ActiveAt.After(now):
			i.State = "retiring"
		}
		if !k.RetireAt.IsZero() {
			r := k.RetireAt
			i.RetireAt = &r
		}
		out = append(out, i)
	}
	return out, nil
}
