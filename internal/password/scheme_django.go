package password

import (
	"encoding/base64"
	"strings"
)

// djangoScheme verifies Django's PBKDF2 hashes, pbkdf2_sha256$<iterations>$<salt>$<key> and
// pbkdf2_sha1$…: the salt is used as its UTF-8 text, the key is the digest's size in padded
// standard base64. Iterations share the PBKDF2 caps (Django 6 writes 1,200,000).
type djangoScheme struct{}

func (djangoScheme) identify(s string) string {
	switch {
	case strings.HasPrefix(s, "pbkdf2_sha256$"):
		return "django-pbkdf2-sha256"
	case strings.HasPrefix(s, "pbkdf2_sha1$"):
		return "django-pbkdf2-sha1"
	}
	return ""
}

func (dj djangoScheme) parse(s string) (legacyHash, error) {
	name := dj.identify(s)
	d := pbkdf2Digests[strings.TrimPrefix(name, "django-pbkdf2-")]
	parts := strings.Split(s, "$")
	if len(parts) != 4 {
		return nil, malformed(name, "not pbkdf2_<digest>$iterations$salt$key")
	}
	it, ok := parseCanonical(parts[1], 1, d.maxWork)
	if !ok {
		return nil, malformed(name, "iterations not a canonical number in 1..%d", d.maxWork)
	}
	if parts[2] == "" || len(parts[2]) > int(MaxParams.SaltLen) {
		return nil, malformed(name, "salt is not 1 to %d characters", MaxParams.SaltLen)
	}
	if strings.ContainsAny(parts[3], "\r\n") {
		return nil, malformed(name, "line break in base64")
	}
	key, err := base64.StdEncoding.Strict().DecodeString(parts[3])
	if err != nil || len(key) != d.size {
		return nil, malformed(name, "key is not %d bytes of base64", d.size)
	}
	return pbkdf2Hash{d: d, iterations: int(it), salt: []byte(parts[2]), key: key}, nil
}
