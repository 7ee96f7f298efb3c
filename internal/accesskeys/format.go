package accesskeys

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"hash/crc32"
	"strings"

	"github.com/gatehouse-auth/gatehouse/internal/secret"
)

// Prefix starts every access key Gatehouse makes. Together with the fixed length and the
// checksum it lets secret scanners recognise a leaked key offline, with almost no false
// positives, and lets the server refuse a mistyped key before any lookup.
const Prefix = "gh_ak_"

// KeyLen is the length of a key made by Generate:
// "gh_ak_" + id (26) + "_" + secret (52) + checksum (7).
const KeyLen = len(Prefix) + secret.IDLen + 1 + secretLen + checksumLen

const (
	secretLen   = 52 // 256 random bits, lower-case base32
	checksumLen = 7  // CRC-32 of everything before it, lower-case base32
)

var b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Generate returns a new key with the given id (from secret.NewID): the secret holds 256 bits
// from crypto/rand.
func Generate(id string) string {
	var raw [32]byte
	rand.Read(raw[:]) // never returns an error (crypto/rand docs)
	body := Prefix + id + "_" + b32.EncodeToString(raw[:])
	return body + checksum(body)
}

func checksum(body string) string {
	var c [4]byte
	binary.BigEndian.PutUint32(c[:], crc32.ChecksumIEEE([]byte(body)))
	return b32.EncodeToString(c[:])
}

// LooksGenerated reports whether key claims to be one Gatehouse made (it has the prefix).
// Such a key must then pass Parse; a key without the prefix may be an imported legacy key of
// any format.
func LooksGenerated(key string) bool { return strings.HasPrefix(key, Prefix) }

// Parse checks the shape and checksum of a key made by Generate and returns its id. It reads
// nothing but the string: a key that fails here is refused without touching the store.
func Parse(key string) (id string, ok bool) {
	if len(key) != KeyLen || !strings.HasPrefix(key, Prefix) {
		return "", false
	}
	id = key[len(Prefix) : len(Prefix)+secret.IDLen]
	if !secret.ValidID(id) || key[len(Prefix)+secret.IDLen] != '_' {
		return "", false
	}
	rest := key[len(Prefix)+secret.IDLen+1:]
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; (c < 'a' || c > 'z') && (c < '2' || c > '7') {
			return "", false
		}
	}
	body := key[:KeyLen-checksumLen]
	if checksum(body) != key[KeyLen-checksumLen:] {
		return "", false
	}
	return id, true
}
