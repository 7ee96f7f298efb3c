package password

import (
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// bcryptScheme verifies imported bcrypt hashes: $2a$, $2b$ and $2y$ (the same algorithm; the
// letters record fixes to other implementations' bugs), with cost 4 to MaxLegacyBcryptCost.
// $2$ and $2x$ (crypt_blowfish's buggy 8-bit handling) are refused.
type bcryptScheme struct{}

type bcryptHash struct{ encoded []byte }

// bcryptAlphabet is bcrypt's base64 alphabet.
const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func (bcryptScheme) identify(s string) string {
	if isBcrypt(s) {
		return "bcrypt"
	}
	return ""
}

func (bcryptScheme) parse(s string) (legacyHash, error) {
	// $2b$NN$ + 22 salt characters + 31 hash characters.
	if len(s) != 60 || s[6] != '$' {
		return nil, malformed("bcrypt", "not 60 characters of $2b$<cost>$<salt><hash>")
	}
	cost, ok := parseCost(s[4:6])
	if !ok || cost < bcrypt.MinCost || cost > MaxLegacyBcryptCost {
		return nil, malformed("bcrypt", "cost %q not in %d..%d", s[4:6], bcrypt.MinCost, MaxLegacyBcryptCost)
	}
	for i := 7; i < len(s); i++ {
		if !strings.ContainsRune(bcryptAlphabet, rune(s[i])) {
			return nil, malformed("bcrypt", "character %q outside bcrypt's base64", s[i])
		}
	}
	if _, err := bcrypt.Cost([]byte(s)); err != nil {
		return nil, malformed("bcrypt", "%v", err)
	}
	return bcryptHash{encoded: []byte(s)}, nil
}

// parseCost parses bcrypt's two-digit cost.
func parseCost(s string) (int, bool) {
	if len(s) != 2 || s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' {
		return 0, false
	}
	return int(s[0]-'0')*10 + int(s[1]-'0'), true
}

// verify compares the first 72 bytes of password, all that bcrypt ever hashed: the legacy
// system accepted the rest as anything, and the argon2id rehash that follows a match ends
// that weakness. bcrypt compares the encoded results in constant time.
func (h bcryptHash) verify(password string) bool {
	pw := []byte(password)
	if len(pw) > 72 {
		pw = pw[:72]
	}
	return bcrypt.CompareHashAndPassword(h.encoded, pw) == nil
}
