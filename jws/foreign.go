package jws

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"
)

// Algorithms accepted only in tokens of another issuer (a legacy identity provider a
// deployment migrates from, see VerifyForeign); Gatehouse never signs with them, and Parse,
// Verify and ParseJWKSet keep refusing them.
const (
	// RS384 is RSASSA-PKCS1-v1_5 with SHA-384 (RFC 7518 §3.3).
	RS384 Algorithm = "RS384"
	// RS512 is RSASSA-PKCS1-v1_5 with SHA-512 (RFC 7518 §3.3).
	RS512 Algorithm = "RS512"
	// PS256 is RSASSA-PSS with SHA-256, MGF1 with SHA-256 and a 32-byte salt (RFC 7518 §3.5).
	PS256 Algorithm = "PS256"
	// ES384 is ECDSA on P-384 with SHA-384, signatures as fixed 96-byte R||S (RFC 7518 §3.4).
	ES384 Algorithm = "ES384"
)

// ForeignAlgorithms lists every algorithm VerifyForeign and ParseForeignJWKSet can accept; a
// caller narrows it to the issuer's own allowlist.
var ForeignAlgorithms = []Algorithm{RS256, RS384, RS512, PS256, ES256, ES384, EdDSA}

func (alg Algorithm) foreignSupported() bool { return slices.Contains(ForeignAlgorithms, alg) }

// VerifyForeign verifies a JWT of another issuer with the same strictness as Verify, with two
// differences that such tokens need:
//
//   - the header alg may be any of algs (a subset of ForeignAlgorithms, the issuer's
//     allowlist); it must still equal the algorithm of the key found by "kid";
//   - the header members x5c, x5t and x5t#S256, which Auth0, Entra and others put in their
//     tokens, are tolerated and never read: the key comes only from keys (RFC 8725 §3.10).
//     "jwk", "jku", "x5u", "crit" and any other member are refused as by Parse.
//
// keys should come from ParseForeignJWKSet with the same algs. The claims are decoded only
// after the signature verified; validate them with ValidateForeign or your own checks.
func VerifyForeign(token string, keys KeySet, algs []Algorithm) (*Token, error) {
	t, err := parseJWS(token, true)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(algs, t.Header.Alg) {
		return nil, fmt.Errorf("%w: header alg is not allowed for this issuer", ErrUnsupportedAlg)
	}
	key, ok := keys.Key(t.Header.Kid)
	if !ok {
		return nil, ErrUnknownKey
	}
	if key.Algorithm != t.Header.Alg || !slices.Contains(algs, key.Algorithm) {
		return nil, fmt.Errorf("%w: header alg does not match the key's algorithm", ErrUnsupportedAlg)
	}
	if err := verifyForeignSignature(key, t.SigningInput, t.Signature); err != nil {
		return nil, err
	}
	if err := t.parseClaims(); err != nil {
		return nil, err
	}
	return t, nil
}

// ParseForeignJWKSet parses another issuer's JWK Set with the rules of ParseJWKSet, keeping
// only keys usable with one of algs (a subset of ForeignAlgorithms). Each key gets exactly
// one algorithm (RFC 8725 §3.1): its "alg" member when present, otherwise the only algorithm
// of algs that fits its type (OKP/Ed25519: EdDSA; EC P-256: ES256; EC P-384: ES384; RSA: one of
// RS256, RS384, RS512, PS256). An RSA key without "alg" is skipped when algs holds several RSA
// algorithms, as nothing says which one it is for.
func ParseForeignJWKSet(data []byte, algs []Algorithm) ([]PublicKey, error) {
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
			m, err := scanJWK(elem)
			if err != nil {
				return err
			}
			k, err := m.foreignKey(algs)
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
		return nil, fmt.Errorf("%w: JWK set has no key usable with the allowed algorithms", ErrInvalidKey)
	}
	return keys, nil
}

// foreignKey is key for another issuer's JWK: more key types, and the algorithm chosen among algs.
func (m *jwkMembers) foreignKey(algs []Algorithm) (PublicKey, error) {
	if m.kty == "oct" {
		return PublicKey{}, fmt.Errorf("%w: symmetric (oct) keys are never accepted", ErrInvalidKey)
	}
	var fits []Algorithm
	var own []string
	switch {
	case m.kty == "OKP" && m.crv == "Ed25519":
		fits, own = []Algorithm{EdDSA}, []string{"crv", "x"}
	case m.kty == "EC" && m.crv == "P-256":
		fits, own = []Algorithm{ES256}, []string{"crv", "x", "y"}
	case m.kty == "EC" && m.crv == "P-384":
		fits, own = []Algorithm{ES384}, []string{"crv", "x", "y"}
	case m.kty == "RSA":
		fits, own = []Algorithm{RS256, RS384, RS512, PS256}, []string{"n", "e"}
	case !m.has["kty"]:
		return PublicKey{}, fmt.Errorf("%w: JWK has no kty", ErrInvalidKey)
	default:
		return PublicKey{}, fmt.Errorf("%w: JWK key type or curve is not supported", ErrUnsupportedAlg)
	}
	var alg Algorithm
	if m.has["alg"] {
		a := Algorithm(m.alg)
		switch {
		case !a.foreignSupported():
			return PublicKey{}, fmt.Errorf("%w: JWK alg is not supported", ErrUnsupportedAlg)
		case !slices.Contains(fits, a):
			return PublicKey{}, fmt.Errorf("%w: JWK alg %s does not match its kty/crv", ErrInvalidKey, a)
		case !slices.Contains(algs, a):
			return PublicKey{}, fmt.Errorf("%w: JWK alg %s is not allowed", ErrUnsupportedAlg, a)
		}
		alg = a
	} else {
		var allowed []Algorithm
		for _, a := range fits {
			if slices.Contains(algs, a) {
				allowed = append(allowed, a)
			}
		}
		if len(allowed) != 1 {
			return PublicKey{}, fmt.Errorf("%w: JWK without alg and %d allowed algorithms fit it", ErrUnsupportedAlg, len(allowed))
		}
		alg = allowed[0]
	}
	if m.has["use"] && m.use != "sig" {
		return PublicKey{}, fmt.Errorf("%w: JWK use is not sig", ErrUnsupportedAlg)
	}
	if m.has["key_ops"] && !contains(m.keyOps, "verify") {
		return PublicKey{}, fmt.Errorf("%w: JWK key_ops lacks verify", ErrUnsupportedAlg)
	}
	for _, name := range []string{"crv", "x", "y", "n", "e"} {
		if m.has[name] != contains(own, name) {
			return PublicKey{}, fmt.Errorf("%w: JWK of kty %s has or lacks member %q", ErrInvalidKey, m.kty, name)
		}
	}
	pk := PublicKey{ID: m.kid, Algorithm: alg}
	switch alg {
	case EdDSA, ES256, RS256:
		// The three algorithms of Gatehouse's own keys: exactly their checks.
		m.alg, m.has["alg"] = "", false
		k, err := m.key()
		if err != nil {
			return PublicKey{}, err
		}
		pk.Key = k.Key
		if alg != k.Algorithm { // RS256 is what key() picks for RSA; keep it for the others
			return PublicKey{}, fmt.Errorf("%w: JWK algorithm", ErrInvalidKey)
		}
	case ES384:
		x, err := decodeFixed(m.x, 48, "x")
		if err != nil {
			return PublicKey{}, err
		}
		y, err := decodeFixed(m.y, 48, "y")
		if err != nil {
			return PublicKey{}, err
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P384(), append(append([]byte{4}, x...), y...))
		if err != nil {
			return PublicKey{}, fmt.Errorf("%w: EC point is not on P-384", ErrInvalidKey)
		}
		pk.Key = pub
	case RS384, RS512, PS256:
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
		pub := &rsa.PublicKey{N: n, E: int(e.Int64())}
		if err := checkRSA(pub); err != nil {
			return PublicKey{}, err
		}
		pk.Key = pub
	}
	return pk, nil
}

// NewForeignPublicKey checks that key suits alg, one of ForeignAlgorithms, as
// ParseForeignJWKSet does, and returns the PublicKey.
func NewForeignPublicKey(kid string, alg Algorithm, key crypto.PublicKey) (PublicKey, error) {
	pk := PublicKey{ID: kid, Algorithm: alg, Key: key}
	switch alg {
	case EdDSA, ES256, RS256:
		return NewPublicKey(kid, alg, key)
	case ES384:
		pub, ok := key.(*ecdsa.PublicKey)
		if !ok || pub == nil || pub.Curve != elliptic.P384() {
			return PublicKey{}, fmt.Errorf("%w: ES384 needs an *ecdsa.PublicKey on P-384", ErrInvalidKey)
		}
		b, err := pub.Bytes()
		if err != nil {
			return PublicKey{}, fmt.Errorf("%w: ES384 key is not a point on P-384", ErrInvalidKey)
		}
		if _, err := ecdsa.ParseUncompressedPublicKey(elliptic.P384(), b); err != nil {
			return PublicKey{}, fmt.Errorf("%w: ES384 key is not a point on P-384", ErrInvalidKey)
		}
	case RS384, RS512, PS256:
		pub, ok := key.(*rsa.PublicKey)
		if !ok || pub == nil || pub.N == nil {
			return PublicKey{}, fmt.Errorf("%w: %s needs an *rsa.PublicKey", ErrInvalidKey, alg)
		}
		if err := checkRSA(pub); err != nil {
			return PublicKey{}, err
		}
	default:
		return PublicKey{}, fmt.Errorf("%w: key algorithm", ErrUnsupportedAlg)
	}
	return pk, nil
}

var p384N = elliptic.P384().Params().N

// verifyForeignSignature is verifySignature for ForeignAlgorithms.
func verifyForeignSignature(key PublicKey, msg, sig []byte) error {
	switch key.Algorithm {
	case EdDSA, ES256, RS256:
		return verifySignature(key, msg, sig)
	case ES384:
		pub, ok := key.Key.(*ecdsa.PublicKey)
		if !ok || pub == nil || pub.Curve != elliptic.P384() {
			return fmt.Errorf("%w: not a P-384 key", ErrInvalidKey)
		}
		if len(sig) != 96 {
			return fmt.Errorf("%w: ES384 signature must be 96 bytes", ErrBadSignature)
		}
		r := new(big.Int).SetBytes(sig[:48])
		s := new(big.Int).SetBytes(sig[48:])
		if r.Sign() == 0 || s.Sign() == 0 || r.Cmp(p384N) >= 0 || s.Cmp(p384N) >= 0 {
			return fmt.Errorf("%w: ES384 r or s out of range", ErrBadSignature)
		}
		h := sha512.Sum384(msg)
		if !ecdsa.Verify(pub, h[:], r, s) {
			return ErrBadSignature
		}
		return nil
	case RS384, RS512, PS256:
		pub, ok := key.Key.(*rsa.PublicKey)
		if !ok || pub == nil || pub.N == nil {
			return fmt.Errorf("%w: not an RSA key", ErrInvalidKey)
		}
		if bits := pub.N.BitLen(); bits < MinRSABits || bits > MaxRSABits {
			return fmt.Errorf("%w: RSA modulus size", ErrInvalidKey)
		}
		if len(sig) != pub.Size() {
			return fmt.Errorf("%w: RSA signature length differs from the modulus", ErrBadSignature)
		}
		var err error
		switch key.Algorithm {
		case RS384:
			h := sha512.Sum384(msg)
			err = rsa.VerifyPKCS1v15(pub, crypto.SHA384, h[:], sig)
		case RS512:
			h := sha512.Sum512(msg)
			err = rsa.VerifyPKCS1v15(pub, crypto.SHA512, h[:], sig)
		default:
			h := sha256.Sum256(msg)
			err = rsa.VerifyPSS(pub, crypto.SHA256, h[:], sig, &rsa.PSSOptions{SaltLength: sha256.Size, Hash: crypto.SHA256})
		}
		if err != nil {
			return ErrBadSignature
		}
		return nil
	}
	return fmt.Errorf("%w: key algorithm", ErrUnsupportedAlg)
}

// ValidateForeign checks the claims of a token verified by VerifyForeign as Validate does,
// except for the header type, which differs between providers and token kinds and is the
// caller's to judge: iss present and equal to issuer; aud present and containing one of
// audiences; exp present with now < exp + leeway; nbf, if present, with now >= nbf - leeway;
// iat, if present, not after now + leeway.
func ValidateForeign(t *Token, issuer string, audiences []string, now time.Time, leeway time.Duration) error {
	switch {
	case issuer == "" || len(audiences) == 0 || now.IsZero():
		return fmt.Errorf("%w: issuer, audiences and now are required", errExpected)
	case leeway < 0 || leeway > MaxLeeway:
		return fmt.Errorf("%w: Leeway outside [0, %v]", errExpected, MaxLeeway)
	case t == nil:
		return fmt.Errorf("%w: nil token", ErrMalformed)
	}
	c := &t.Claims
	switch {
	case c.Issuer == "":
		return fmt.Errorf("%w: no iss claim", ErrIssuer)
	case c.Issuer != issuer:
		return ErrIssuer
	case len(c.Audience) == 0:
		return fmt.Errorf("%w: no aud claim", ErrAudience)
	case !slices.ContainsFunc(audiences, c.Audience.Contains):
		return ErrAudience
	case c.Expiry == nil:
		return fmt.Errorf("%w: no exp claim", ErrExpired)
	case !now.Before(c.Expiry.Time().Add(leeway)):
		return ErrExpired
	case c.NotBefore != nil && now.Before(c.NotBefore.Time().Add(-leeway)):
		return fmt.Errorf("%w: nbf is in the future", ErrNotYetValid)
	case c.IssuedAt != nil && c.IssuedAt.Time().After(now.Add(leeway)):
		return fmt.Errorf("%w: iat is in the future", ErrNotYetValid)
	}
	return nil
}

// ParseForeign parses another issuer's JWT with the header rules of VerifyForeign, without
// verifying it: only to read which issuer and key it names before VerifyForeign checks it.
func ParseForeign(token string) (*Token, error) {
	t, err := parseJWS(token, true)
	if err != nil {
		return nil, err
	}
	if err := t.parseClaims(); err != nil {
		return nil, err
	}
	return t, nil
}
