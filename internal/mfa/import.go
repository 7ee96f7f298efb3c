package mfa

import (
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/secret"
)

// SeedSealer makes the confirmed TOTP factor of a migrated user from the seed their
// authenticator app already holds, sealed exactly like an enrolled seed, for a bulk import to
// write in its own transaction (internal/userimport). Recovery codes are not made: the user
// has never seen them.
type SeedSealer struct {
	seal *sealer
	now  func() time.Time
}

// NewSeedSealer returns a SeedSealer sealing under kek (the KEK the Service uses).
func NewSeedSealer(kek []byte, now func() time.Time) (*SeedSealer, error) {
	seal, err := newSealer(kek)
	if err != nil {
		return nil, err
	}
	return &SeedSealer{seal: seal, now: now}, nil
}

// Factor parses seedBase32 (as ParseSeed) and returns a confirmed factor with a new id and
// the seed sealed for it; UserID is left for the caller to set.
func (s *SeedSealer) Factor(seedBase32 string) (*Factor, error) {
	seed, err := ParseSeed(seedBase32)
	if err != nil {
		return nil, err
	}
	now := s.now()
	f := &Factor{ID: secret.NewID(), CreatedAt: now, ConfirmedAt: now}
	f.Seed = s.seal.Seal(f.ID, seed)
	return f, nil
}
