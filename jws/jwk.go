package jws

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
)

// JWK is the public JSON Web Key form of a PublicKey (RFC 7517 §4, RFC 7518 §6, RFC 8037 §2).
// It has no private members, so marshalling one can never leak a private key.
type JWK struct {
	Kty string `json:"kty"`
	Use string `json:"use,omitempty"`
	Kid string `json:"kid,omitempty"`
	Alg string `json:"alg,omitempty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
}

// JWKSet is a JWK Set document (RFC 7517 §5).
type JWKSet struct {
	Keys []JWK `json:"keys"`
}

// MaxJWKSetSize bounds the input of ParsePublicJWK and ParseJWKSet.
const MaxJWKSetSize = 256 << 10

// NewJWK returns the public JWK of k with "use":"sig" and k's "kid" and "alg".
func NewJWK(k PublicKey) (JWK, error) {
	if err := k.check(); err != nil {
		return JWK{}, err
	}
	j := JWK{Use: "sig", Kid: k.ID, Alg: string(k.Algorithm)}
	switch pub := k.Key.(type) {
	case ed25519.PublicKey:
		j.Kty, j.Crv, j.X = "OKP", "Ed25519", enc.EncodeToString(pub)
	case *ecdsa.PublicKey:
		b, err := pub.Bytes() // 0x04 || X || Y, each coordinate 32 bytes (RFC 7518 §6.2.1.2)
		if err != nil {
			return JWK{}, fmt.Errorf("%w: %v", ErrInvalidKey, err)
		}
		j.Kty, j.Crv, j.X, j.Y = "EC", "P-256", enc.EncodeToString(b[1:33]), enc.EncodeToString(b[33:])
	case *rsa.PublicKey:
		j.Kty = "RSA"
		j.N = enc.EncodeToString(pub.N.Bytes())
		j.E = enc.EncodeToString(big.NewInt(int64(pub.E)).Bytes())
	}
	return j, nil
}

// MarshalPublicJWK returns the JSON of NewJWK(k).
func MarshalPublicJWK(k PublicKey) ([]byte, error) {
	j, err := NewJWK(k)
	if err != nil {
		return nil, err
	}
	return json.Marshal(j)
}

// MarshalJWKSet returns the JWK Set {"keys":[...]} of keys, for the jwks_uri document.
func MarshalJWKSet(keys []PublicKey) ([]byte, error) {
	set := JWKSet{Keys: make([]JWK, 0, len(keys))}
	for _, k := range keys {
		j, err := NewJWK(k)
		if err != nil {
			return nil, err
		}
		set.Keys = append(set.Keys, j)
	}
	return json.Marshal(set)
}

// Thumbprint returns the RFC 7638 JWK thumbprint of k (SHA-256, base64url), usable as a kid.
func Thumbprint(k PublicKey) (string, error) {
	j, err := NewJWK(k)
	if err != nil {
		return "", err
	}
	// The required members in lexicographic order, no whitespace (RFC 7638 §3.2, RFC 8037 §2).
	var members any
	switch j.Kty {
	case "OKP":
		members = struct {
			Crv string `json:"crv"`
			Kty string `json:"kty"`
			X   string `json:"x"`
		}{j.Crv, j.Kty, j.X}
	case "EC":
		members = struct {
			Crv string `json:"crv"`
			Kty string `json:"kty"`
			X   string `json:"x"`
			Y   string `json:"y"`
		}{j.Crv, j.Kty, j.X, j.Y}
	default:
		members = struct {
			E   string `json:"e"`
			Kty string `json:"kty"`
			N   string `json:"n"`
		}{j.E, j.Kty, j.N}
	}
	b, err := json.Marshal(members)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return enc.EncodeToString(sum[:]), nil
}

// ParsePublicJWK parses one public JWK strictly. It returns ErrInvalidKey for a key that must
// never be used: private members (d, p, q, dp, dq, qi, oth, k), kty "oct", an "alg" that
// contradicts kty or crv, members of another key type, a coordinate or modulus that is not
// canonical unpadded base64url of the right length, an EC point off the curve, an RSA modulus
// outside 2048–8192 bits, a bad exponent or a ROCA key. It returns ErrUnsupportedAlg for a key
// this package does not use: another kty, crv or alg, a "use" other than "sig", or "key_ops"
// without "verify". Without "alg", the algorithm follows from the key type (OKP/Ed25519 is EdDSA,
// EC/P-256 is ES256, RSA is RS256), as each type has only one algorithm here. Unknown members
// (x5c, ext, ...) are ignored; duplicate or case-variant member names are rejected.
func ParsePublicJWK(data []byte) (PublicKey, error) {
	if len(data) > MaxJWKSetSize {
		return PublicKey{}, fmt.Errorf("%w: JWK over %d bytes", ErrTooLarge, MaxJWKSetSize)
	}
	return parseJWK(string(data))
}

// ParseJWKSet parses a JWK Set {"keys":[...]} (RFC 7517 §5) with the rules of ParsePublicJWK.
//
// Entries that are merely unsupported (ErrUnsupportedAlg: an encryption key, an Ed448 or P-384
// key, an HS or PS algorithm) are skipped, as RFC 7517 §5 asks, so that a provider publishing
// several kinds of key still works. Any entry that is invalid (ErrInvalidKey: private or
// symmetric key material, a contradiction, a bad point or modulus) fails the whole set: such a
// document is broken or tampered with, and verifying against the rest of it would hide that.
// Two usable keys with the same "kid" (or two without one) also fail the set, as a kid must pick
// one key. A set with no usable key is an error.
func ParseJWKSet(data []byte) ([]PublicKey, error) {
	if len(data) > MaxJWKSetSize {
		return nil, fmt.Errorf("%w: JWK set over %d bytes", ErrTooLarge, MaxJWKSetSize)
	}
	var keys []PublicKey
	var hasKeys bool
	err := scanObject(string(data), func(name, raw string) error {
		if name != "keys" {
			return nil
		}
		hasKeys = true
		return scanArray(raw, func(elem string) error {
			k, err := parseJWK(elem)
			if errors.Is(err, ErrUnsupportedAlg) {
				return nil
			}
			if err != nil {
				return err
			}
			for _, prev := range keys {
				if prev.ID == k.ID {
					return fmt.Errorf("%w: two keys with the same kid", ErrInvalidKey)
				}
			}
			keys = append(keys, k)
			return nil
		})
	})
	switch {
	case errors.Is(err, errJSONType):
		return nil, fmt.Errorf("%w: keys is not an array of objects", ErrInvalidKey)
	case err != nil:
		return nil, wrapJSONKey(err)
	case !hasKeys:
		return nil, fmt.Errorf("%w: JWK set has no keys member", ErrInvalidKey)
	case len(keys) == 0:
		return nil, fmt.Errorf("%w: JWK set has no usable signing key", ErrInvalidKey)
	}
	return keys, nil
}

func wrapJSONKey(err error) error {
	if isSentinel(err) {
		return err
	}
	return fmt.Errorf("%w: %v", ErrInvalidKey, err)
}

// jwkMembers holds the members of a JWK that matter here.
type jwkMembers struct {
	kty, crv, x, y, n, e, kid, alg, use string
	has                                 map[string]bool
	keyOps                              []string
}

func parseJWK(s string) (PublicKey, error) {
	m, err := scanJWK(s)
	if err != nil {
		return PublicKey{}, err
	}
	return m.key()
}

// scanJWK reads the members of a JWK that matter here, refusing private key material.
func scanJWK(s string) (*jwkMembers, error) {
	m := &jwkMembers{has: make(map[string]bool, 8)}
	err := scanObject(s, func(name, raw string) error {
		var dst *string
		switch name {
		case "d", "p", "q", "dp", "dq", "qi", "oth", "k":
			return fmt.Errorf("%w: JWK has private member %q", ErrInvalidKey, name)
		case "kty":
			dst = &m.kty
		case "crv":
			dst = &m.crv
		case "x":
			dst = &m.x
		case "y":
			dst = &m.y
		case "n":
			dst = &m.n
		case "e":
			dst = &m.e
		case "kid":
			dst = &m.kid
		case "alg":
			dst = &m.alg
		case "use":
			dst = &m.use
		case "key_ops":
			m.has[name] = true
			m.keyOps = []string{}
			return scanArray(raw, func(elem string) error {
				op, err := jsonString(elem)
				m.keyOps = append(m.keyOps, op)
				return err
			})
		default:
			return nil // unknown members are ignored (RFC 7517 §4)
		}
		v, err := jsonString(raw)
		if err != nil {
			return fmt.Errorf("%w: JWK member %q is not a string", ErrInvalidKey, name)
		}
		m.has[name] = true
		*dst = v
		return nil
	})
	if err != nil {
		if errors.Is(err, errJSONNotObject) || errors.Is(err, errJSONType) {
			return nil, fmt.Errorf("%w: JWK is not an object of strings", ErrInvalidKey)
		}
		return nil, wrapJSONKey(err)
	}
	return m, nil
}

func (m *jwkMembers) key() (PublicKey, error) {
	// Order matters: dangerous material is refused before anything is merely skipped.
	if m.kty == "oct" {
		return PublicKey{}, fmt.Errorf("%w: symmetric (oct) keys are never accepted", ErrInvalidKey)
	}
	var alg Algorithm
	var own []string // members that belong to the key type
	switch {
	case m.kty == "OKP" && m.crv == "Ed25519":
		alg, own = EdDSA, []string{"crv", "x"}
	case m.kty == "EC" && m.crv == "P-256":
		alg, own = ES256, []string{"crv", "x", "y"}
	case m.kty == "RSA":
		alg, own = RS256, []string{"n", "e"}
	case !m.has["kty"]:
		return PublicKey{}, fmt.Errorf("%w: JWK has no kty", ErrInvalidKey)
	}
	if m.has["alg"] {
		a := Algorithm(m.alg)
		if !a.Supported() {
			return PublicKey{}, fmt.Errorf("%w: JWK alg is not EdDSA, ES256 or RS256", ErrUnsupportedAlg)
		}
		if a != alg {
			return PublicKey{}, fmt.Errorf("%w: JWK alg %s does not match its kty/crv", ErrInvalidKey, a)
		}
	}
	if alg == "" {
		return PublicKey{}, fmt.Errorf("%w: JWK key type or curve is not supported", ErrUnsupportedAlg)
	}
	if m.has["use"] && m.use != "sig" {
		return PublicKey{}, fmt.Errorf("%w: JWK use is not sig", ErrUnsupportedAlg)
	}
	if m.has["key_ops"] && !contains(m.keyOps, "verify") {
		return PublicKey{}, fmt.Errorf("%w: JWK key_ops lacks verify", ErrUnsupportedAlg)
	}
	for _, name := range []string{"crv", "x", "y", "n", "e"} {
		if m.has[name] && !contains(own, name) {
			return PublicKey{}, fmt.Errorf("%w: JWK of kty %s has member %q", ErrInvalidKey, m.kty, name)
		}
		if !m.has[name] && contains(own, name) {
			return PublicKey{}, fmt.Errorf("%w: JWK of kty %s lacks member %q", ErrInvalidKey, m.kty, name)
		}
	}

	var key any
	switch alg {
	case EdDSA:
		x, err := decodeFixed(m.x, ed25519.PublicKeySize, "x")
		if err != nil {
			return PublicKey{}, err
		}
		key = ed25519.PublicKey(x)
	case ES256:
		x, err := decodeFixed(m.x, 32, "x")
		if err != nil {
			return PublicKey{}, err
		}
		y, err := decodeFixed(m.y, 32, "y")
		if err != nil {
			return PublicKey{}, err
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			return PublicKey{}, fmt.Errorf("%w: EC point is not on P-256", ErrInvalidKey)
		}
		key = pub
	case RS256:
		n, err := decodeUint(m.n, "n")
		if err != nil {
			return PublicKey{}, err
		}
		e, err := decodeUint(m.e, "e")
		if err != nil {
			return PublicKey{}, err
		}
		if e.BitLen() > 31 {
			return PublicKey{}, fmt.Errorf("%w: RSA exponent too large", ErrInvalidKey)
		}
		key = &rsa.PublicKey{N: n, E: int(e.Int64())}
	}
	return NewPublicKey(m.kid, alg, key)
}

// decodeFixed decodes a base64url member that must be exactly size bytes (RFC 7518 §6.2.1.2,
// RFC 8037 §2).
func decodeFixed(s string, size int, name string) ([]byte, error) {
	b, err := enc.DecodeString(s)
	if err != nil || len(b) != size || !canonicalB64(s) {
		return nil, fmt.Errorf("%w: JWK member %q is not %d bytes of base64url", ErrInvalidKey, name, size)
	}
	return b, nil
}

// decodeUint decodes a Base64urlUInt (RFC 7518 §2): non-empty, no leading zero octet.
func decodeUint(s, name string) (*big.Int, error) {
	b, err := enc.DecodeString(s)
	if err != nil || len(b) == 0 || b[0] == 0 || !canonicalB64(s) {
		return nil, fmt.Errorf("%w: JWK member %q is not a minimal base64url integer", ErrInvalidKey, name)
	}
	return new(big.Int).SetBytes(b), nil
}

// canonicalB64 reports whether s has only base64url alphabet characters; the strict decoder
// would otherwise skip line breaks.
func canonicalB64(s string) bool {
	for i := 0; i < len(s); i++ {
		if !b64Alphabet[s[i]] {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
