package jws

import "errors"

// Sentinel errors. Every error returned by this package wraps exactly one of them, with detail
// added through fmt.Errorf("%w: ..."). Callers should compare with errors.Is.
var (
	// ErrMalformed reports a token, header, claim set or JSON text that does not have the form
	// this package accepts.
	ErrMalformed = errors.New("jws: malformed token")
	// ErrTooLarge reports input larger than MaxTokenSize (or MaxJWKSetSize for key sets).
	ErrTooLarge = errors.New("jws: input too large")
	// ErrUnsupportedAlg reports an algorithm outside the allowlist, a header "alg" that differs
	// from the key's algorithm, or a JWK this package does not use (see ParseJWKSet).
	ErrUnsupportedAlg = errors.New("jws: unsupported algorithm")
	// ErrBadSignature reports a signature that does not verify or has the wrong size.
	ErrBadSignature = errors.New("jws: invalid signature")
	// ErrUnknownKey reports that no key of the KeySet matches the token's "kid".
	ErrUnknownKey = errors.New("jws: unknown signing key")
	// ErrInvalidKey reports a key that is unsafe or unusable: private members in a public JWK,
	// a symmetric key, a point off the curve, an RSA modulus under 2048 bits and the like.
	ErrInvalidKey = errors.New("jws: invalid key")
	// ErrExpired reports a token whose "exp" has passed, or that has no "exp" at all.
	ErrExpired = errors.New("jws: token expired")
	// ErrNotYetValid reports a token whose "nbf" or "iat" lies in the future.
	ErrNotYetValid = errors.New("jws: token not yet valid")
	// ErrIssuer reports a missing or unexpected "iss".
	ErrIssuer = errors.New("jws: unexpected issuer")
	// ErrAudience reports a missing "aud" or one that does not contain the expected audience.
	ErrAudience = errors.New("jws: unexpected audience")
	// ErrType reports a header "typ" other than the expected one (RFC 8725 §3.11).
	ErrType = errors.New("jws: unexpected token type")
)
