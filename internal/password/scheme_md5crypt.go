package password

import (
	"crypto/md5"
	"strings"
)

// md5CryptScheme verifies Poul-Henning Kamp's MD5-crypt, $1$<salt>$<hash> (FreeBSD, glibc),
// and Apache's variant $apr1$<salt>$<hash> (htpasswd), which differs only in its magic string.
// The salt is up to 8 crypt characters. Its cost is fixed (1,000 MD5 rounds, microseconds):
// it is accepted only so that users can sign in once and be rehashed.
type md5CryptScheme struct{}

type md5CryptHash struct {
	magic, salt []byte
	hash        string
}

func (md5CryptScheme) identify(s string) string {
	switch {
	case strings.HasPrefix(s, "$1$"):
		return "md5-crypt"
	case strings.HasPrefix(s, "$apr1$"):
		return "apr1-md5-crypt"
	}
	return ""
}

func (m md5CryptScheme) parse(s string) (legacyHash, error) {
	name := m.identify(s)
	parts := strings.Split(s, "$")
	if len(parts) != 4 || parts[0] != "" {
		return nil, malformed(name, "not $1$salt$hash")
	}
	if len(parts[2]) > 8 || !inAlphabet(parts[2], cryptAlphabet) {
		return nil, malformed(name, "salt is not up to 8 crypt characters")
	}
	if len(parts[3]) != 22 || !inAlphabet(parts[3], cryptAlphabet) || !cryptCanonical(parts[3], 8) {
		return nil, malformed(name, "hash is not 22 canonical crypt characters")
	}
	return md5CryptHash{magic: []byte("$" + parts[1] + "$"), salt: []byte(parts[2]), hash: parts[3]}, nil
}

func (h md5CryptHash) verify(password string) bool {
	got := cryptB64(md5Crypt([]byte(password), h.salt, h.magic), md5Order)
	return equal([]byte(got), []byte(h.hash))
}

// md5Crypt computes the MD5-crypt digest as FreeBSD's crypt-md5.c does.
func md5Crypt(pw, salt, magic []byte) []byte {
	h := md5.New()
	h.Write(pw)
	h.Write(salt)
	h.Write(pw)
	alt := h.Sum(nil)
	h.Reset()
	h.Write(pw)
	h.Write(magic)
	h.Write(salt)
	for n := len(pw); n > 0; n -= md5.Size {
		h.Write(alt[:min(n, md5.Size)])
	}
	for n := len(pw); n > 0; n >>= 1 {
		if n&1 != 0 {
			h.Write([]byte{0})
		} else {
			h.Write(pw[:1])
		}
	}
	final := h.Sum(nil)
	for i := range 1000 {
		h.Reset()
		if i&1 != 0 {
			h.Write(pw)
		} else {
			h.Write(final)
		}
		if i%3 != 0 {
			h.Write(salt)
		}
		if i%7 != 0 {
			h.Write(pw)
		}
		if i&1 != 0 {
			h.Write(final)
		} else {
			h.Write(pw)
		}
		final = h.Sum(final[:0])
	}
	return final
}
