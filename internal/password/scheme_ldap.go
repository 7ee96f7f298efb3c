package password

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"hash"
	"strings"
)

// ldapScheme verifies the salted SHA schemes of LDAP directories (OpenLDAP slappasswd, 389
// Directory Server; RFC 2307's {scheme} prefix): {SSHA}, {SSHA256} and {SSHA512} followed by
// the padded base64 of digest(password || salt) || salt, with a salt of 4 to 64 bytes. The
// scheme name is case-insensitive as RFC 2307 has it. Its cost is one digest: it is accepted
// only so that users can sign in once and be rehashed.
type ldapScheme struct{}

type ldapHash struct {
	new          func() hash.Hash
	digest, salt []byte
}

var ldapSchemes = []struct {
	prefix, name string
	new          func() hash.Hash
	size         int
}{
	{"{SSHA}", "ldap-ssha", sha1.New, sha1.Size},
	{"{SSHA256}", "ldap-ssha256", sha256.New, sha256.Size},
	{"{SSHA512}", "ldap-ssha512", sha512.New, sha512.Size},
}

func (ldapScheme) identify(s string) string {
	for _, l := range ldapSchemes {
		if len(s) >= len(l.prefix) && strings.EqualFold(s[:len(l.prefix)], l.prefix) {
			return l.name
		}
	}
	return ""
}

func (ldapScheme) parse(s string) (legacyHash, error) {
	for _, l := range ldapSchemes {
		if len(s) < len(l.prefix) || !strings.EqualFold(s[:len(l.prefix)], l.prefix) {
			continue
		}
		rest := s[len(l.prefix):]
		if strings.ContainsAny(rest, "\r\n") {
			return nil, malformed(l.name, "line break in base64")
		}
		b, err := base64.StdEncoding.Strict().DecodeString(rest)
		if err != nil || len(b) < l.size+4 || len(b) > l.size+64 {
			return nil, malformed(l.name, "not base64 of a %d-byte digest and a 4 to 64-byte salt", l.size)
		}
		return ldapHash{new: l.new, digest: b[:l.size], salt: b[l.size:]}, nil
	}
	return nil, ErrUnsupportedScheme
}

func (h ldapHash) verify(password string) bool {
	d := h.new()
	d.Write([]byte(password))
	d.Write(h.salt)
	return equal(d.Sum(nil), h.digest)
}
