package password

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// fbScryptScheme verifies hashes exported from Firebase Authentication, which uses a modified
// scrypt (github.com/firebase/scrypt): the key is scrypt(password, salt || salt separator,
// N=2^mem_cost, r=rounds, p=1), and the stored hash is the project's signer key encrypted with
// AES-256-CTR under the first 32 bytes of that key and an all-zero counter block. The
// project-wide parameters travel in each stored string:
//
//	$fbscrypt$v=1,n=<mem_cost = log2 N>,r=<rounds>,p=<parallelism>,ss=<salt separator>,sk=<signer key>$<salt>$<hash>
//
// Values are standard base64, with or without padding (the Firebase console and exports show
// them padded; FormatFirebaseScrypt writes them unpadded). N×r×p is capped like scrypt.
type fbScryptScheme struct{}

type fbScryptHash struct {
	params                scryptParams
	sep, signer, salt, hh []byte
}

const fbScryptPrefix = "$fbscrypt$"

func (fbScryptScheme) identify(s string) string {
	if strings.HasPrefix(s, fbScryptPrefix) {
		return "firebase-scrypt"
	}
	return ""
}

func (fbScryptScheme) parse(s string) (legacyHash, error) {
	const name = "firebase-scrypt"
	parts := strings.Split(s, "$")
	if len(parts) != 5 || parts[0] != "" {
		return nil, malformed(name, "not $fbscrypt$v=1,n=,r=,p=,ss=,sk=$salt$hash")
	}
	vals, err := parseKV(parts[2], "v", "n", "r", "p", "ss", "sk")
	if err != nil {
		return nil, malformed(name, "%v", err)
	}
	if vals[0] != "1" {
		return nil, malformed(name, "version is not 1")
	}
	sp, err := scryptCheck(vals[1], vals[2], vals[3])
	if err != nil {
		return nil, malformed(name, "%v", err)
	}
	var h fbScryptHash
	h.params = sp
	for _, f := range []struct {
		what     string
		s        string
		dst      *[]byte
		min, max int
	}{
		{"salt separator", vals[4], &h.sep, 0, 64},
		{"signer key", vals[5], &h.signer, 1, 256},
		{"salt", parts[3], &h.salt, 1, 64},
		{"hash", parts[4], &h.hh, 1, 256},
	} {
		b, err := decodeStdBase64(f.s)
		if err != nil || len(b) < f.min || len(b) > f.max {
			return nil, malformed(name, "%s is not %d to %d bytes of base64", f.what, f.min, f.max)
		}
		*f.dst = b
	}
	if len(h.hh) != len(h.signer) {
		return nil, malformed(name, "hash is %d bytes, the signer key %d", len(h.hh), len(h.signer))
	}
	return h, nil
}

// decodeStdBase64 decodes standard base64 with or without padding, refusing line breaks and
// non-zero trailing bits.
func decodeStdBase64(s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("line break in base64")
	}
	if strings.HasSuffix(s, "=") {
		return base64.StdEncoding.Strict().DecodeString(s)
	}
	return b64.DecodeString(s)
}

func (h fbScryptHash) verify(password string) bool {
	salt := make([]byte, 0, len(h.salt)+len(h.sep))
	salt = append(append(salt, h.salt...), h.sep...)
	key := h.params.key([]byte(password), salt, 32)
	block, err := aes.NewCipher(key)
	if err != nil {
		return false // only for a nil key, which scryptCheck rules out
	}
	got := make([]byte, len(h.signer))
	cipher.NewCTR(block, make([]byte, aes.BlockSize)).XORKeyStream(got, h.signer)
	return equal(got, h.hh)
}

// FirebaseScryptParams are a Firebase project's password hash parameters, as the Firebase
// console shows them (Authentication → Users → Password hash parameters) and `firebase
// auth:export` needs them: hash_config's base64_signer_key, base64_salt_separator, rounds and
// mem_cost. Firebase uses parallelism 1.
type FirebaseScryptParams struct {
	SignerKey     []byte
	SaltSeparator []byte
	Rounds        int // scrypt's r
	MemCost       int // log2 of scrypt's N
}

// FormatFirebaseScrypt returns the stored form of one exported Firebase user's password:
// salt and hash are the user's salt and passwordHash from the export, decoded from base64. It
// returns an error wrapping ErrMalformedHash when the result would not pass CheckImported.
func FormatFirebaseScrypt(p FirebaseScryptParams, salt, hash []byte) (string, error) {
	s := fmt.Sprintf("%sv=1,n=%d,r=%d,p=1,ss=%s,sk=%s$%s$%s", fbScryptPrefix, p.MemCost, p.Rounds,
		b64.EncodeToString(p.SaltSeparator), b64.EncodeToString(p.SignerKey),
		b64.EncodeToString(salt), b64.EncodeToString(hash))
	if err := CheckImported(s); err != nil {
		return "", err
	}
	return s, nil
}
