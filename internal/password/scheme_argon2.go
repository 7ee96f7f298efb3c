package password

import (
	"strings"

	"golang.org/x/crypto/argon2"
)

// argon2Scheme verifies imported argon2id and argon2i hashes in PHC form. Both share
// decodePHC's strict parser and MaxParams; imports are further capped at MaxLegacyArgon2Memory
// and MaxLegacyArgon2Work.
type argon2Scheme struct{}

type argon2Hash struct {
	variant   string // "argon2id" or "argon2i"
	p         Params
	salt, key []byte
}

func (argon2Scheme) identify(s string) string {
	switch {
	case strings.HasPrefix(s, "$argon2id$"):
		return "argon2id"
	case strings.HasPrefix(s, "$argon2i$"):
		return "argon2i"
	}
	return ""
}

func (a argon2Scheme) parse(s string) (legacyHash, error) {
	variant := a.identify(s)
	phc := s
	if variant == "argon2i" {
		// argon2i strings differ from argon2id ones only in the identifier: parse them with the
		// one strict PHC parser by swapping it.
		phc = "$argon2id$" + strings.TrimPrefix(s, "$argon2i$")
	}
	p, salt, key, err := decodePHC(phc)
	if err != nil {
		return nil, err // already ErrMalformedHash with the reason
	}
	if p.Memory > MaxLegacyArgon2Memory {
		return nil, malformed(variant, "m = %d KiB above %d", p.Memory, MaxLegacyArgon2Memory)
	}
	if uint64(p.Memory)*uint64(p.Time) > MaxLegacyArgon2Work {
		return nil, malformed(variant, "m×t = %d KiB·passes above %d", uint64(p.Memory)*uint64(p.Time), MaxLegacyArgon2Work)
	}
	return argon2Hash{variant: variant, p: p, salt: salt, key: key}, nil
}

func (h argon2Hash) verify(password string) bool {
	var got []byte
	if h.variant == "argon2i" {
		got = argon2.Key([]byte(password), h.salt, h.p.Time, h.p.Memory, h.p.Threads, h.p.KeyLen)
	} else {
		got = argon2idKey([]byte(password), h.salt, h.p)
	}
	return equal(got, h.key)
}
