package password

import (
	"strings"

	"golang.org/x/crypto/scrypt"
)

// scryptScheme verifies imported scrypt (RFC 7914) hashes in the PHC form passlib and others
// write: $scrypt$ln=<log2 N>,r=<block size>,p=<parallelism>$<salt>$<key>, PHC B64, with
// N×r×p at most MaxLegacyScryptWork.
type scryptScheme struct{}

type scryptParams struct{ logN, r, p int }

type scryptHash struct {
	params    scryptParams
	salt, key []byte
}

func (scryptScheme) identify(s string) string {
	if strings.HasPrefix(s, "$scrypt$") {
		return "scrypt"
	}
	return ""
}

func (scryptScheme) parse(s string) (legacyHash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 5 || parts[0] != "" {
		return nil, malformed("scrypt", "not $scrypt$ln=,r=,p=$salt$key")
	}
	vals, err := parseKV(parts[2], "ln", "r", "p")
	if err != nil {
		return nil, malformed("scrypt", "%v", err)
	}
	sp, err := scryptCheck(vals[0], vals[1], vals[2])
	if err != nil {
		return nil, malformed("scrypt", "%v", err)
	}
	salt, ok := decodeB64(parts[3], minSaltLen, int(MaxParams.SaltLen))
	if !ok {
		return nil, malformed("scrypt", "salt is not 8 to 64 bytes of canonical base64")
	}
	key, ok := decodeB64(parts[4], minKeyLen, int(MaxParams.KeyLen))
	if !ok {
		return nil, malformed("scrypt", "key is not 16 to 64 bytes of canonical base64")
	}
	return scryptHash{params: sp, salt: salt, key: key}, nil
}

// scryptCheck parses log2 N, r and p in canonical decimal and applies MaxLegacyScryptWork.
func scryptCheck(ln, r, p string) (scryptParams, error) {
	l, ok1 := parseCanonical(ln, 1, 30)
	rr, ok2 := parseCanonical(r, 1, MaxLegacyScryptWork)
	pp, ok3 := parseCanonical(p, 1, MaxLegacyScryptWork)
	if !ok1 || !ok2 || !ok3 {
		return scryptParams{}, errString("parameters are not canonical numbers in range")
	}
	if work := (uint64(1) << l) * rr * pp; work > MaxLegacyScryptWork {
		return scryptParams{}, errString("N×r×p above the cap")
	}
	return scryptParams{logN: int(l), r: int(rr), p: int(pp)}, nil
}

// key derives n bytes. scryptCheck's bounds are within what scrypt.Key accepts, so it does
// not fail; if it ever did, the nil key would match nothing.
func (sp scryptParams) key(password, salt []byte, n int) []byte {
	k, err := scrypt.Key(password, salt, 1<<sp.logN, sp.r, sp.p, n)
	if err != nil {
		return nil
	}
	return k
}

func (h scryptHash) verify(password string) bool {
	return equal(h.params.key([]byte(password), h.salt, len(h.key)), h.key)
}

// errString is a constant error message.
type errString string

func (e errString) Error() string { return string(e) }
