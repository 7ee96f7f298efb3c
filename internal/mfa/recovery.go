package mfa

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
)

// Recovery codes (see the package doc for why they are stored as an HMAC).
const (
	// RecoveryCodes is how many codes a user gets at once.
	RecoveryCodes = 10
	// recoveryLen is the length of a code without its dash: 10 characters of a 32-letter
	// alphabet carry 50 bits.
	recoveryLen = 10
	// maxRecoveryInput bounds what ParseRecoveryCode looks at; a code as typed is 11 bytes.
	maxRecoveryInput = 40
)

// recoveryAlphabet is Crockford's base32 in lower case: digits and letters without i, l, o
// and u. On input the look-alikes are read as what they look like (o as 0, i and l as 1),
// so a code copied by hand from paper still works.
const recoveryAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// recoveryValue maps an input byte to its alphabet index, or -1. Upper case, the look-alikes
// and 'u' (which Crockford reserves) are handled here.
var recoveryValue = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(recoveryAlphabet); i++ {
		c := recoveryAlphabet[i]
		t[c] = int8(i)
		if 'a' <= c && c <= 'z' {
			t[c-'a'+'A'] = int8(i)
		}
	}
	t['o'], t['O'] = 0, 0
	t['i'], t['I'], t['l'], t['L'] = 1, 1, 1, 1
	return t
}()

// newRecoveryCode returns a code as shown to the user: "xxxxx-xxxxx".
func newRecoveryCode() string {
	var b [recoveryLen]byte
	rand.Read(b[:])
	out := make([]byte, 0, recoveryLen+1)
	for i, v := range b {
		if i == recoveryLen/2 {
			out = append(out, '-')
		}
		out = append(out, recoveryAlphabet[v&31]) // 256 is a multiple of 32: no bias
	}
	return string(out)
}

// ParseRecoveryCode normalizes a recovery code as typed (any case, spaces and dashes
// anywhere, look-alike letters) to its canonical 10 characters. It reports false for
// anything that cannot be a code, which then never reaches the store or the limiter.
func ParseRecoveryCode(s string) (string, bool) {
	if len(s) > maxRecoveryInput {
		return "", false
	}
	var out [recoveryLen]byte
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' || c == '-' || c == '\t' {
			continue
		}
		v := recoveryValue[c]
		if v < 0 || n == recoveryLen {
			return "", false
		}
		out[n] = recoveryAlphabet[v]
		n++
	}
	if n != recoveryLen {
		return "", false
	}
	return string(out[:]), true
}

// recoveryMAC is how a code is stored: HMAC-SHA-256 under a key derived from the KEK, over
// the user id and the canonical code. Binding the user means a code (or a row copied between
// users) works for its own user only.
func recoveryMAC(key []byte, userID, canonical string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("gatehouse recovery code v1\x00"))
	m.Write([]byte(userID))
	m.Write([]byte{0})
	m.Write([]byte(canonical))
	return m.Sum(nil)
}
