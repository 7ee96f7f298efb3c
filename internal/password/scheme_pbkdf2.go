package password

import (
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"hash"
	"strings"
)

// pbkdf2Scheme verifies imported PBKDF2 (RFC 8018 §5.2) hashes in two forms:
//
//	$pbkdf2-<digest>$i=<iterations>,l=<key length>$<salt>$<key>   PHC B64 (Auth0, docs/migration.md)
//	$pbkdf2$<iterations>$<salt>$<key>                              passlib (SHA-1), and
//	$pbkdf2-sha256$<iterations>$…, $pbkdf2-sha512$<iterations>$…  passlib's "adapted base64"
//
// with digest sha1, sha256 or sha512. Iterations × output blocks is capped per digest
// (MaxLegacyPBKDF2SHA1Work and the others), since SHA-512 costs about twice SHA-256 per
// iteration and a key longer than the digest repeats the whole computation per block.
type pbkdf2Scheme struct{}

type pbkdf2Digest struct {
	name    string // "sha1", "sha256", "sha512"
	new     func() hash.Hash
	size    int
	maxWork uint64
}

var pbkdf2Digests = map[string]pbkdf2Digest{
	"sha1":   {"sha1", sha1.New, sha1.Size, MaxLegacyPBKDF2SHA1Work},
	"sha256": {"sha256", sha256.New, sha256.Size, MaxLegacyPBKDF2SHA256Work},
	"sha512": {"sha512", sha512.New, sha512.Size, MaxLegacyPBKDF2SHA512Work},
}

type pbkdf2Hash struct {
	d          pbkdf2Digest
	iterations int
	salt, key  []byte
}

// ab64 is passlib's "adapted base64": the standard alphabet with '.' for '+', no padding.
var ab64 = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789./").
	WithPadding(base64.NoPadding).Strict()

func (pbkdf2Scheme) identify(s string) string {
	switch {
	case strings.HasPrefix(s, "$pbkdf2$"), strings.HasPrefix(s, "$pbkdf2-sha1$"):
		return "pbkdf2-sha1"
	case strings.HasPrefix(s, "$pbkdf2-sha256$"):
		return "pbkdf2-sha256"
	case strings.HasPrefix(s, "$pbkdf2-sha512$"):
		return "pbkdf2-sha512"
	}
	return ""
}

func (p pbkdf2Scheme) parse(s string) (legacyHash, error) {
	name := p.identify(s)
	d := pbkdf2Digests[strings.TrimPrefix(name, "pbkdf2-")]
	parts := strings.Split(s, "$")
	if len(parts) != 5 || parts[0] != "" {
		return nil, malformed(name, "not $pbkdf2-<digest>$i=,l=$salt$key")
	}
	h := pbkdf2Hash{d: d}
	var keyLen uint64
	if strings.HasPrefix(parts[2], "i=") {
		if parts[1] == "pbkdf2" {
			return nil, malformed(name, "PHC form needs the digest in its identifier")
		}
		vals, err := parseKV(parts[2], "i", "l")
		if err != nil {
			return nil, malformed(name, "%v", err)
		}
		it, ok1 := parseCanonical(vals[0], 1, d.maxWork)
		l, ok2 := parseCanonical(vals[1], uint64(minKeyLen), uint64(MaxParams.KeyLen))
		if !ok1 || !ok2 {
			return nil, malformed(name, "i or l not a canonical number in range")
		}
		var ok bool
		h.salt, ok = decodeB64(parts[3], minSaltLen, int(MaxParams.SaltLen))
		if !ok {
			return nil, malformed(name, "salt is not 8 to 64 bytes of canonical base64")
		}
		h.key, ok = decodeB64(parts[4], int(l), int(l))
		if !ok {
			return nil, malformed(name, "key is not %d bytes of canonical base64", l)
		}
		h.iterations, keyLen = int(it), l
	} else {
		if parts[1] == "pbkdf2-sha1" {
			return nil, malformed(name, "passlib writes SHA-1 as $pbkdf2$")
		}
		// passlib's form: the key is the digest's size.
		it, ok := parseCanonical(parts[2], 1, d.maxWork)
		if !ok {
			return nil, malformed(name, "iterations not a canonical number in range")
		}
		salt, err1 := decodeAB64(parts[3])
		key, err2 := decodeAB64(parts[4])
		if err1 != nil || err2 != nil || len(salt) < 1 || len(salt) > int(MaxParams.SaltLen) || len(key) != d.size {
			return nil, malformed(name, "salt or key is not passlib's adapted base64 of the right length")
		}
		h.iterations, h.salt, h.key, keyLen = int(it), salt, key, uint64(d.size)
	}
	blocks := (keyLen + uint64(d.size) - 1) / uint64(d.size)
	if uint64(h.iterations)*blocks > d.maxWork {
		return nil, malformed(name, "iterations × blocks = %d above %d", uint64(h.iterations)*blocks, d.maxWork)
	}
	return h, nil
}

func decodeAB64(s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, errString("line break in base64")
	}
	return ab64.DecodeString(s)
}

func (h pbkdf2Hash) verify(password string) bool {
	got, err := pbkdf2.Key(h.d.new, password, h.salt, h.iterations, len(h.key))
	return err == nil && equal(got, h.key)
}
