package jws

import (
	"errors"
	"fmt"
	"strings"
)

// MaxTokenSize is the largest token Parse accepts, checked before any decoding. Gatehouse's
// tokens are well under 2 KiB; 8 KiB leaves room for RS256 with large keys and rich claims
// while bounding the work an unauthenticated request can cause.
const MaxTokenSize = 8 << 10

// Header is the protected header of a token. Only these members are accepted.
type Header struct {
	// Alg is the "alg" member (RFC 7515 §4.1.1), one of the supported algorithms.
	Alg Algorithm
	// Kid is the "kid" member (RFC 7515 §4.1.4), empty when absent.
	Kid string
	// Typ is the "typ" member (RFC 7515 §4.1.9), empty when absent.
	Typ string
	// Cty is the "cty" member (RFC 7515 §4.1.10), empty when absent. Nested JWTs
	// (cty "JWT", RFC 7519 §5.2) are not supported and are rejected by Parse.
	Cty string
}

// Token is a parsed compact JWS. Parse and Verify fill Claims; ParseJWS, for payloads that are
// not JWT claim sets, leaves it zero. A Token from Parse or ParseJWS is not yet verified.
type Token struct {
	// Header is the decoded protected header.
	Header Header
	// Payload is the decoded payload; for a JWT, the JSON claim set.
	Payload []byte
	// SigningInput is ASCII(base64url(header) '.' base64url(payload)) (RFC 7515 §5.1).
	SigningInput []byte
	// Signature is the decoded signature.
	Signature []byte
	// Claims holds the registered claims of a JWT (see Claims).
	Claims Claims
}

// b64Alphabet marks the bytes of the base64url alphabet (RFC 4648 §5).
var b64Alphabet = func() (t [256]bool) {
	for _, r := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" {
		t[r] = true
	}
	return t
}()

// Parse parses a compact JWS whose payload is a JWT claim set (RFC 7519 §7.2): everything
// ParseJWS checks, plus a payload that is a strict JSON object with well-typed registered
// claims. It does not verify the signature; use Verify or (*Token).Verify.
func Parse(token string) (*Token, error) {
	t, err := ParseJWS(token)
	if err != nil {
		return nil, err
	}
	if err := t.parseClaims(); err != nil {
		return nil, err
	}
	return t, nil
}

// ParseJWS parses a compact JWS (RFC 7515 §7.1) with an arbitrary payload, applying every
// check of the package documentation to its form and header. It does not verify the signature
// and does not look into the payload.
func ParseJWS(token string) (*Token, error) { return parseJWS(token, false) }

// parseJWS is ParseJWS; foreign selects the header rules for another issuer's tokens (see
// VerifyForeign).
func parseJWS(token string, foreign bool) (*Token, error) {
	if len(token) > MaxTokenSize {
		return nil, fmt.Errorf("%w: token over %d bytes", ErrTooLarge, MaxTokenSize)
	}
	// One pass over the bytes finds the separators and refuses anything outside the base64url
	// alphabet: padding, whitespace, line breaks (which encoding/base64 would otherwise skip).
	d1, d2 := -1, -1
	for i := 0; i < len(token); i++ {
		c := token[i]
		if b64Alphabet[c] {
			continue
		}
		if c != '.' {
			return nil, fmt.Errorf("%w: character outside base64url", ErrMalformed)
		}
		switch {
		case d1 < 0:
			d1 = i
		case d2 < 0:
			d2 = i
		default:
			return nil, fmt.Errorf("%w: more than three segments", ErrMalformed)
		}
	}
	if d2 < 0 {
		return nil, fmt.Errorf("%w: fewer than three segments", ErrMalformed)
	}
	// One allocation holds a copy of the token (whose prefix is the signing input) and the
	// three decoded segments.
	hLen := enc.DecodedLen(d1)
	pLen := enc.DecodedLen(d2 - d1 - 1)
	sLen := enc.DecodedLen(len(token) - d2 - 1)
	buf := make([]byte, len(token)+hLen+pLen+sLen)
	raw, out := buf[:len(token)], buf[len(token):]
	copy(raw, token)
	hdr, err := decodeSegment(out[:hLen], raw[:d1], "header")
	if err != nil {
		return nil, err
	}
	payload, err := decodeSegment(out[hLen:hLen+pLen], raw[d1+1:d2], "payload")
	if err != nil {
		return nil, err
	}
	sig, err := decodeSegment(out[hLen+pLen:], raw[d2+1:], "signature")
	if err != nil {
		return nil, err
	}
	t := &Token{Payload: payload, Signature: sig, SigningInput: raw[:d2:d2]}
	if err := t.parseHeader(string(hdr), foreign); err != nil {
		return nil, err
	}
	if len(sig) == 0 {
		return nil, fmt.Errorf("%w: empty signature", ErrBadSignature)
	}
	return t, nil
}

func decodeSegment(dst, seg []byte, what string) ([]byte, error) {
	n, err := enc.Decode(dst, seg)
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not canonical unpadded base64url", ErrMalformed, what)
	}
	return dst[:n:n], nil
}

// parseHeader applies the header allowlist. With foreign (a legacy issuer's token, see
// VerifyForeign), the certificate members x5c, x5t and x5t#S256 are tolerated and never read,
// and the header alg may be any of ForeignAlgorithms.
func (t *Token) parseHeader(hdr string, foreign bool) error {
	var hasAlg, hasKid bool
	err := scanObject(hdr, func(name, raw string) error {
		var dst *string
		switch name {
		case "alg":
			hasAlg = true
			s, err := jsonString(raw)
			if err != nil {
				return err
			}
			t.Header.Alg = Algorithm(s)
			return nil
		case "kid":
			hasKid = true
			dst = &t.Header.Kid
		case "typ":
			dst = &t.Header.Typ
		case "cty":
			dst = &t.Header.Cty
		case "crit":
			return fmt.Errorf("%w: crit header: no extensions are understood (RFC 7515 §4.1.11)", ErrMalformed)
		case "x5c", "x5t", "x5t#S256":
			if foreign {
				return nil // tolerated, never used as a key (RFC 8725 §3.10)
			}
			return fmt.Errorf("%w: header carries or names a key; keys come only from the verifier (RFC 8725 §3.10)", ErrMalformed)
		case "jwk", "jku", "x5u":
			return fmt.Errorf("%w: header carries or names a key; keys come only from the verifier (RFC 8725 §3.10)", ErrMalformed)
		default:
			return fmt.Errorf("%w: header member outside the allowlist alg, kid, typ, cty", ErrMalformed)
		}
		s, err := jsonString(raw)
		if err != nil {
			return err
		}
		*dst = s
		return nil
	})
	if err != nil {
		return wrapJSON(err, "header")
	}
	switch {
	case !hasAlg:
		return fmt.Errorf("%w: header has no alg", ErrMalformed)
	case foreign && !t.Header.Alg.foreignSupported():
		return fmt.Errorf("%w: header alg is not one of %v", ErrUnsupportedAlg, ForeignAlgorithms)
	case !foreign && !t.Header.Alg.Supported():
		return fmt.Errorf("%w: header alg is not EdDSA, ES256 or RS256", ErrUnsupportedAlg)
	case hasKid && t.Header.Kid == "":
		return fmt.Errorf("%w: empty kid", ErrMalformed)
	}
	return nil
}

// wrapJSON turns a scanner error into ErrMalformed unless it already wraps a sentinel.
func wrapJSON(err error, what string) error {
	if isSentinel(err) {
		return err
	}
	return fmt.Errorf("%w: %s: %v", ErrMalformed, what, err)
}

func isSentinel(err error) bool {
	for _, s := range []error{ErrMalformed, ErrTooLarge, ErrUnsupportedAlg, ErrBadSignature,
		ErrUnknownKey, ErrInvalidKey, ErrExpired, ErrNotYetValid, ErrIssuer, ErrAudience, ErrType} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// parseClaims checks that the payload is a strict JSON object and decodes the registered
// claims, which must have their RFC 7519 §4.1 types.
func (t *Token) parseClaims() error {
	if strings.EqualFold(t.Header.Cty, "JWT") {
		return fmt.Errorf("%w: nested JWTs are not supported", ErrMalformed)
	}
	var c Claims
	if err := scanObject(string(t.Payload), c.visit); err != nil {
		return wrapJSON(err, "claims")
	}
	c.Raw = t.Payload
	t.Claims = c
	return nil
}

// Verify checks the token's signature with key. The algorithm is the key's; the header "alg"
// must equal it exactly (RFC 8725 §3.1), so a token cannot choose how it is checked.
func (t *Token) Verify(key PublicKey) error {
	if t.Header.Alg != key.Algorithm {
		return fmt.Errorf("%w: header alg does not match the key's algorithm", ErrUnsupportedAlg)
	}
	return verifySignature(key, t.SigningInput, t.Signature)
}

// KeySet finds verification keys by "kid". Key receives the token's kid, which is empty when
// the token has none; each implementation decides what that means (Keys accepts it only when
// it holds exactly one key).
type KeySet interface {
	Key(kid string) (PublicKey, bool)
}

// Keys is a KeySet over a fixed list of keys, matched by exact, case-sensitive "kid". A token
// without "kid" matches only when the list has exactly one key: with several there is no
// unambiguous choice, and trying each in turn would let a token pick its key.
type Keys []PublicKey

// Key implements KeySet.
func (ks Keys) Key(kid string) (PublicKey, bool) {
	if kid == "" {
		if len(ks) == 1 {
			return ks[0], true
		}
		return PublicKey{}, false
	}
	for _, k := range ks {
		if k.ID == kid {
			return k, true
		}
	}
	return PublicKey{}, false
}

// Verify parses a JWT, looks its key up in keys by "kid", checks the signature and only then
// decodes the claims. It does not validate the claims; see Validate and VerifyAndValidate.
func Verify(token string, keys KeySet) (*Token, error) {
	t, err := ParseJWS(token)
	if err != nil {
		return nil, err
	}
	key, ok := keys.Key(t.Header.Kid)
	if !ok {
		return nil, ErrUnknownKey
	}
	if err := t.Verify(key); err != nil {
		return nil, err
	}
	if err := t.parseClaims(); err != nil {
		return nil, err
	}
	return t, nil
}

// VerifyAndValidate is Verify followed by Validate: the whole check a resource server needs.
func VerifyAndValidate(token string, keys KeySet, e Expected) (*Token, error) {
	t, err := Verify(token, keys)
	if err != nil {
		return nil, err
	}
	if err := Validate(t, e); err != nil {
		return nil, err
	}
	return t, nil
}
