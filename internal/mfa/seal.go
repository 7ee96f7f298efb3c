package mfa

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
)

// sealer encrypts TOTP seeds under the key-encryption key, the way internal/keys seals signing
// keys: AES-256-GCM with a random 96-bit nonce stored in front of the ciphertext, and the
// factor id as associated data, so a sealed seed copied onto another factor row (or another
// user's) does not open.
type sealer struct{ aead cipher.AEAD }

func newSealer(kek []byte) (*sealer, error) {
	if len(kek) != 32 {
		return nil, errors.New("mfa: the key-encryption key must be 32 bytes")
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

func seedAAD(factorID string) []byte { return []byte("gatehouse totp seed v1\x00" + factorID) }

// Seal encrypts seed for the factor factorID.
func (s *sealer) Seal(factorID string, seed []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(seed)+s.aead.Overhead())
	rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, seed, seedAAD(factorID))
}

// errSealed is returned for a seed that does not open: another KEK, another factor, or
// tampering. It is an operator problem, never the user's.
var errSealed = errors.New("mfa: a TOTP seed cannot be decrypted with this key-encryption key")

// Open decrypts a seed sealed for factorID.
func (s *sealer) Open(factorID string, sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, errSealed
	}
	seed, err := s.aead.Open(nil, sealed[:n], sealed[n:], seedAAD(factorID))
	if err != nil {
		return nil, errSealed
	}
	return seed, nil
}

// macKey derives the recovery-code MAC key from the KEK with HKDF-SHA-256 (RFC 5869), so the
// KEK itself is used for one algorithm only and the MAC key lives where the KEK lives: never
// in the database.
func macKey(kek []byte) ([]byte, error) {
	return hkdf.Key(sha256.New, kek, nil, "gatehouse recovery code mac v1", 32)
}
