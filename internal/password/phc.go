package password

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// b64 is the PHC string format's base64: standard alphabet, no padding, and (Strict) no
// non-zero trailing bits, so that each salt and key has exactly one encoding.
var b64 = base64.RawStdEncoding.Strict()

// encodePHC formats an argon2id hash as a PHC string
// (https://github.com/P-H-C/phc-string-format/blob/master/phc-sf-spec.md).
func encodePHC(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// decodePHC parses "$argon2id$v=19$m=<m>,t=<t>,p=<p>$<salt>$<key>" strictly: exactly these
// fields in this order, decimal numbers without sign or leading zeros, canonical unpadded
// base64, and every value within [minimum, MaxParams]. Whatever it accepts, encodePHC writes
// back byte for byte. Every failure wraps ErrMalformedHash.
func decodePHC(s string) (p Params, salt, key []byte, err error) {
	fail := func(why string) (Params, []byte, []byte, error) {
		return Params{}, nil, nil, fmt.Errorf("%w: %s", ErrMalformedHash, why)
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return fail("not a PHC string with 5 fields")
	}
	if parts[1] != "argon2id" {
		return fail("algorithm is not argon2id")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return fail("argon2 version is not 19")
	}
	kv := strings.Split(parts[3], ",")
	if len(kv) != 3 {
		return fail("parameters are not m,t,p")
	}
	var vals [3]uint64
	for i, name := range [3]string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(kv[i], name)
		if !ok || v == "" || (len(v) > 1 && v[0] == '0') {
			return fail("parameters are not m,t,p in canonical decimal")
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return fail("parameter is not a 32-bit number")
		}
		vals[i] = n
	}
	m, t, par := vals[0], vals[1], vals[2]
	if par < 1 || par > uint64(MaxParams.Threads) ||
		m < 8*par || m > uint64(MaxParams.Memory) ||
		t < 1 || t > uint64(MaxParams.Time) {
		return fail("parameters out of range")
	}
	// encoding/base64 skips CR and LF even in Strict mode; PHC has no line breaks.
	if strings.ContainsAny(parts[4], "\r\n") || strings.ContainsAny(parts[5], "\r\n") {
		return fail("line break in base64")
	}
	salt, err = b64.DecodeString(parts[4])
	if err != nil || len(salt) < minSaltLen || len(salt) > int(MaxParams.SaltLen) {
		return fail("salt is not 8 to 64 bytes of canonical base64")
	}
	key, err = b64.DecodeString(parts[5])
	if err != nil || len(key) < minKeyLen || len(key) > int(MaxParams.KeyLen) {
		return fail("key is not 16 to 64 bytes of canonical base64")
	}
	p = Params{Memory: uint32(m), Time: uint32(t), Threads: uint8(par), SaltLen: uint32(len(salt)), KeyLen: uint32(len(key))}
	return p, salt, key, nil
}
