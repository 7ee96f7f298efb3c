// Package secret generates identifiers and secrets from crypto/rand and compares secrets in
// constant time. Every random value Gatehouse hands out comes from here.
package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"log/slog"
	"strings"
)

// IDLen is the length of an identifier made by NewID.
const IDLen = 26

// NewID returns a 128-bit random identifier as 26 lower-case base32 characters. Identifiers
// are not secrets, but being unguessable they never leak how many objects exist.
func NewID() string {
	return strings.ToLower(rand.Text())
}

// ValidID reports whether s has the shape of an identifier made by NewID.
func ValidID(s string) bool {
	if len(s) != IDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '2' || c > '7') {
			return false
		}
	}
	return true
}

// TokenLen is the length of a secret made by NewToken: 32 random bytes in unpadded base64url.
const TokenLen = 43

// NewToken returns 256 random bits encoded as unpadded base64url.
func NewToken() string {
	var b [32]byte
	rand.Read(b[:]) // never returns an error (crypto/rand docs)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// ValidToken reports whether s has the exact shape of a secret made by NewToken.
func ValidToken(s string) bool {
	if len(s) != TokenLen {
		return false
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return err == nil
}

// Hash returns SHA-256 of a high-entropy secret, the form in which secrets are stored. It is
// not for passwords.
func Hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// Equal compares two byte strings in constant time.
func Equal(a, b []byte) bool {
	return subtle.ConstantTimeCompare(a, b) == 1
}

// Redacted is a string that holds a secret; it prints and logs as "[REDACTED]".
type Redacted string

// String implements fmt.Stringer without revealing the secret.
func (Redacted) String() string { return "[REDACTED]" }

// GoString implements fmt.GoStringer without revealing the secret.
func (Redacted) GoString() string { return `"[REDACTED]"` }

// MarshalText implements encoding.TextMarshaler without revealing the secret.
func (Redacted) MarshalText() ([]byte, error) { return []byte("[REDACTED]"), nil }

// LogValue implements slog.LogValuer without revealing the secret.
func (Redacted) LogValue() slog.Value { return slog.StringValue("[REDACTED]") }
