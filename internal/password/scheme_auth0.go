package password

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"hash"
	"io"
	"strings"
	"unicode/utf16"
)

// auth0Scheme verifies Auth0's custom_password_hash objects (Auth0's bulk user import schema),
// stored as
//
//	$auth0$v=1$<unpadded base64url of the object's compact JSON>
//
// so that the stored string needs no quoting and the Scheme name is a prefix test away.
// ImportAuth0 builds that string from an import line's object. The object is
//
//	{"algorithm": "md5|sha1|sha256|sha512|hmac|scrypt|bcrypt|argon2|ldap|pbkdf2",
//	 "hash": {"value", "encoding": "hex|base64|utf8", "digest" (hmac), "key": {"value", "encoding"} (hmac)},
//	 "salt": {"value", "encoding": "hex|base64|utf8" (default utf8), "position": "prefix|suffix"},
//	 "password": {"encoding": "utf8|utf16le|ucs2|latin1|binary|ascii" (default utf8)},
//	 "keylen", "cost", "blockSize", "parallelization" (scrypt; defaults 16384, 8, 1)}
//
// md5, sha1, sha256 and sha512 hash the salted password once; hmac computes HMAC-<digest>
// (md5, sha1, sha224, sha256, sha384, sha512) of it under hash.key; scrypt derives keylen
// bytes (N = cost, capped like scrypt) with salt as its salt. bcrypt, argon2, ldap and pbkdf2
// carry their own string in hash.value (pbkdf2 in PHC form), which is verified by that
// scheme; ImportAuth0 stores such a string as it is. Password encodings follow Node.js
// Buffer semantics, which Auth0 uses: utf16le and ucs2 are UTF-16LE, latin1, binary and ascii
// keep the low byte of each UTF-16 code unit.
//
// Gatehouse is stricter than Auth0's schema where guessing would be unsafe: hash.encoding is
// required for the digest, hmac and scrypt algorithms, salt.position is required for the
// digest and hmac algorithms, and unknown fields are refused. md4, ripemd160 and whirlpool are
// not supported.
type auth0Scheme struct{}

const auth0Prefix = "$auth0$v=1$"

type auth0Value struct {
	Value    string `json:"value"`
	Encoding string `json:"encoding,omitempty"`
}

type auth0Object struct {
	Algorithm string `json:"algorithm"`
	Hash      struct {
		Value    string      `json:"value"`
		Encoding string      `json:"encoding,omitempty"`
		Digest   string      `json:"digest,omitempty"`
		Key      *auth0Value `json:"key,omitempty"`
	} `json:"hash"`
	Salt *struct {
		Value    string `json:"value"`
		Encoding string `json:"encoding,omitempty"`
		Position string `json:"position,omitempty"`
	} `json:"salt,omitempty"`
	Password *struct {
		Encoding string `json:"encoding,omitempty"`
	} `json:"password,omitempty"`
	Keylen          *int `json:"keylen,omitempty"`
	Cost            *int `json:"cost,omitempty"`
	BlockSize       *int `json:"blockSize,omitempty"`
	Parallelization *int `json:"parallelization,omitempty"`
}

// auth0Digests are the digests of the md5/sha* algorithms and of hmac.
var auth0Digests = map[string]func() hash.Hash{
	"md5": md5.New, "sha1": sha1.New, "sha224": sha256.New224, "sha256": sha256.New,
	"sha384": sha512.New384, "sha512": sha512.New,
}

func (auth0Scheme) identify(s string) string {
	if !strings.HasPrefix(s, "$auth0$") {
		return ""
	}
	o, err := decodeAuth0Stored(s)
	switch {
	case err != nil:
		return "auth0-custom"
	case o.Algorithm == "hmac":
		return "auth0-hmac-" + o.Hash.Digest
	default:
		return "auth0-" + o.Algorithm
	}
}

func (auth0Scheme) parse(s string) (legacyHash, error) {
	o, err := decodeAuth0Stored(s)
	if err != nil {
		return nil, err
	}
	h, _, err := o.parse()
	return h, err
}

func decodeAuth0Stored(s string) (*auth0Object, error) {
	rest, ok := strings.CutPrefix(s, auth0Prefix)
	if !ok || strings.ContainsAny(rest, "\r\n") {
		return nil, malformed("auth0", "not $auth0$v=1$<base64url JSON>")
	}
	js, err := base64.RawURLEncoding.Strict().DecodeString(rest)
	if err != nil {
		return nil, malformed("auth0", "not $auth0$v=1$<base64url JSON>")
	}
	return decodeAuth0Object(js)
}

func decodeAuth0Object(js []byte) (*auth0Object, error) {
	if len(js) > maxEncodedLen {
		return nil, malformed("auth0", "custom_password_hash longer than %d bytes", maxEncodedLen)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	var o auth0Object
	if err := dec.Decode(&o); err != nil {
		return nil, malformed("auth0", "custom_password_hash: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, malformed("auth0", "custom_password_hash: data after the object")
	}
	return &o, nil
}

// ImportAuth0 converts an Auth0 custom_password_hash object (the JSON of an import line's
// field) to the string Gatehouse stores: hash.value itself for bcrypt, argon2, ldap and pbkdf2,
// whose strings are formats of their own, and $auth0$v=1$… for the others. It returns an
// error wrapping ErrMalformedHash for anything CheckImported would refuse.
func ImportAuth0(customPasswordHash []byte) (string, error) {
	o, err := decodeAuth0Object(customPasswordHash)
	if err != nil {
		return "", err
	}
	_, native, err := o.parse()
	if err != nil {
		return "", err
	}
	if native {
		return o.Hash.Value, nil
	}
	js, err := json.Marshal(o)
	if err != nil {
		return "", malformed("auth0", "%v", err)
	}
	s := auth0Prefix + base64.RawURLEncoding.EncodeToString(js)
	if err := CheckImported(s); err != nil {
		return "", err
	}
	return s, nil
}

// parse checks o and returns its verifier; native reports that hash.value is a stored hash
// of another scheme.
func (o *auth0Object) parse() (h legacyHash, native bool, err error) {
	name := "auth0-" + o.Algorithm
	pwEnc := ""
	if o.Password != nil {
		pwEnc = o.Password.Encoding
		if _, ok := encodePassword("", pwEnc); !ok {
			return nil, false, malformed(name, "unsupported password encoding %q", pwEnc)
		}
	}
	scryptFields := o.Keylen != nil || o.Cost != nil || o.BlockSize != nil || o.Parallelization != nil
	switch o.Algorithm {
	case "bcrypt", "argon2", "ldap", "pbkdf2":
		if o.Hash.Encoding != "" && o.Hash.Encoding != "utf8" || o.Hash.Digest != "" || o.Hash.Key != nil ||
			o.Salt != nil || (pwEnc != "" && pwEnc != "utf8") || scryptFields {
			return nil, false, malformed(name, "only hash.value (utf8) applies to %s", o.Algorithm)
		}
		s, scheme := lookupScheme(o.Hash.Value)
		family := map[string]string{"bcrypt": "bcrypt", "argon2": "argon2", "ldap": "ldap-", "pbkdf2": "pbkdf2-"}[o.Algorithm]
		if s == nil || !strings.HasPrefix(scheme, family) {
			return nil, false, malformed(name, "hash.value is not a %s string", o.Algorithm)
		}
		h, err := s.parse(o.Hash.Value)
		return h, true, err
	case "md5", "sha1", "sha256", "sha512", "hmac":
		if scryptFields {
			return nil, false, malformed(name, "keylen, cost, blockSize and parallelization apply to scrypt only")
		}
		d := auth0DigestHash{pwEnc: pwEnc, newHash: auth0Digests[o.Algorithm]}
		if o.Algorithm == "hmac" {
			d.newHash = auth0Digests[o.Hash.Digest]
			if d.newHash == nil {
				return nil, false, malformed(name, "unsupported hash.digest %q", o.Hash.Digest)
			}
			if o.Hash.Key == nil {
				return nil, false, malformed(name, "hash.key is required")
			}
			d.key, err = decodeAuth0Value(o.Hash.Key.Value, o.Hash.Key.Encoding, 1, 1024)
			if err != nil {
				return nil, false, malformed(name, "hash.key: %v", err)
			}
		} else if o.Hash.Digest != "" || o.Hash.Key != nil {
			return nil, false, malformed(name, "hash.digest and hash.key apply to hmac only")
		}
		if o.Salt != nil {
			switch o.Salt.Position {
			case "prefix", "suffix":
				d.suffix = o.Salt.Position == "suffix"
			default:
				return nil, false, malformed(name, "salt.position must be prefix or suffix")
			}
			if d.salt, err = decodeAuth0Value(o.Salt.Value, o.Salt.Encoding, 1, 1024); err != nil {
				return nil, false, malformed(name, "salt: %v", err)
			}
		}
		if o.Hash.Encoding != "hex" && o.Hash.Encoding != "base64" {
			return nil, false, malformed(name, "hash.encoding must be hex or base64")
		}
		size := d.newHash().Size()
		if d.want, err = decodeAuth0Value(o.Hash.Value, o.Hash.Encoding, size, size); err != nil {
			return nil, false, malformed(name, "hash: %v", err)
		}
		return d, false, nil
	case "scrypt":
		if o.Hash.Digest != "" || o.Hash.Key != nil || o.Salt == nil || o.Salt.Position != "" {
			return nil, false, malformed(name, "scrypt takes hash.value, hash.encoding and salt (no position)")
		}
		n, r, p := 16384, 8, 1
		for _, f := range []struct {
			v   *int
			dst *int
		}{{o.Cost, &n}, {o.BlockSize, &r}, {o.Parallelization, &p}} {
			if f.v != nil {
				*f.dst = *f.v
			}
		}
		if n < 2 || n&(n-1) != 0 || r < 1 || p < 1 || uint64(n)*uint64(r)*uint64(p) > MaxLegacyScryptWork {
			return nil, false, malformed(name, "cost must be a power of 2 and cost×blockSize×parallelization at most %d", MaxLegacyScryptWork)
		}
		sh := auth0ScryptHash{pwEnc: pwEnc, params: scryptParams{r: r, p: p}}
		for n > 1 {
			n >>= 1
			sh.params.logN++
		}
		if sh.salt, err = decodeAuth0Value(o.Salt.Value, o.Salt.Encoding, 1, 1024); err != nil {
			return nil, false, malformed(name, "salt: %v", err)
		}
		if o.Hash.Encoding != "hex" && o.Hash.Encoding != "base64" {
			return nil, false, malformed(name, "hash.encoding must be hex or base64")
		}
		if sh.want, err = decodeAuth0Value(o.Hash.Value, o.Hash.Encoding, minKeyLen, int(MaxParams.KeyLen)); err != nil {
			return nil, false, malformed(name, "hash: %v", err)
		}
		if o.Keylen != nil && *o.Keylen != len(sh.want) {
			return nil, false, malformed(name, "keylen %d but the hash has %d bytes", *o.Keylen, len(sh.want))
		}
		return sh, false, nil
	}
	return nil, false, malformed("auth0", "unsupported algorithm %q", o.Algorithm)
}

// decodeAuth0Value decodes a value in Auth0's encodings (default utf8): hex in either case,
// base64 in the standard or URL alphabet with or without padding, as Node.js reads them.
func decodeAuth0Value(v, enc string, lo, hi int) ([]byte, error) {
	var b []byte
	var err error
	switch enc {
	case "", "utf8":
		b = []byte(v)
	case "hex":
		b, err = hex.DecodeString(v)
	case "base64":
		if strings.ContainsAny(v, "\r\n") {
			return nil, errString("line break in base64")
		}
		v = strings.TrimRight(v, "=")
		if strings.ContainsAny(v, "-_") {
			b, err = base64.RawURLEncoding.DecodeString(v)
		} else {
			b, err = base64.RawStdEncoding.DecodeString(v)
		}
	default:
		return nil, errString("unsupported encoding " + enc)
	}
	if err != nil {
		return nil, errString("not valid " + enc)
	}
	if len(b) < lo || len(b) > hi {
		return nil, errString("wrong length")
	}
	return b, nil
}

// encodePassword encodes password as Node.js's Buffer.from(password, enc) does.
func encodePassword(password, enc string) ([]byte, bool) {
	switch enc {
	case "", "utf8", "utf-8":
		return []byte(password), true
	case "utf16le", "ucs2":
		units := utf16.Encode([]rune(password))
		b := make([]byte, 0, 2*len(units))
		for _, u := range units {
			b = append(b, byte(u), byte(u>>8))
		}
		return b, true
	case "latin1", "binary", "ascii":
		units := utf16.Encode([]rune(password))
		b := make([]byte, len(units))
		for i, u := range units {
			b[i] = byte(u)
		}
		return b, true
	}
	return nil, false
}

type auth0DigestHash struct {
	pwEnc      string
	newHash    func() hash.Hash
	key        []byte // HMAC key; nil for a plain digest
	salt, want []byte
	suffix     bool
}

func (d auth0DigestHash) verify(password string) bool {
	pw, _ := encodePassword(password, d.pwEnc)
	var h hash.Hash
	if d.key != nil {
		h = hmac.New(d.newHash, d.key)
	} else {
		h = d.newHash()
	}
	if !d.suffix {
		h.Write(d.salt)
	}
	h.Write(pw)
	if d.suffix {
		h.Write(d.salt)
	}
	return equal(h.Sum(nil), d.want)
}

type auth0ScryptHash struct {
	pwEnc      string
	params     scryptParams
	salt, want []byte
}

func (s auth0ScryptHash) verify(password string) bool {
	pw, _ := encodePassword(password, s.pwEnc)
	return equal(s.params.key(pw, s.salt, len(s.want)), s.want)
}
