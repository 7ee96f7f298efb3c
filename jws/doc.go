// Package jws is Gatehouse's small, strict core for JSON Web Signatures (RFC 7515) in compact
// serialization, the JSON Web Tokens built on them (RFC 7519) and the public JSON Web Keys that
// verify them (RFC 7517). The server uses it to sign access and ID tokens and to parse tokens it
// receives; the public verify SDK uses it to check them. It imports only the standard library.
//
// It supports exactly three algorithms, each bound to a key type: EdDSA with Ed25519
// (RFC 8037 §3.1), ES256 (RFC 7518 §3.4) and RS256 (RFC 7518 §3.3). The algorithm that checks a
// signature is always the key's, never the token's: the header "alg" must merely equal it
// (RFC 8725 §3.1). Everything else, "none" in any spelling, HMAC, PSS and other curves included,
// is rejected.
//
// Parsing is deliberately narrower than RFC 7515 allows, following RFC 8725:
//
//   - The token is at most MaxTokenSize bytes, checked before anything is decoded.
//   - It has exactly three segments of unpadded base64url (RFC 7515 §2) in canonical form: no
//     padding, no whitespace or line breaks, no characters outside the alphabet, no non-zero
//     trailing bits.
//   - The protected header is a JSON object whose members come from an allowlist: "alg"
//     (required), "kid", "typ" and "cty". Any other member is rejected, in particular "crit"
//     (RFC 7515 §4.1.11: we understand no extensions) and the key sources "jwk", "jku", "x5u",
//     "x5c", "x5t" and "x5t#S256" (RFC 8725 §3.10): a key named or carried by the token itself
//     is never used, and a token that offers one is refused rather than silently trusted.
//   - In the header, the payload of a JWT and a JWK, every JSON object at every depth must not
//     repeat a member name, neither exactly nor in a case-variant or escaped spelling that Go's
//     encoding/json would treat as the same field (RFC 7515 §4 and RFC 7519 §4 allow a parser
//     to reject duplicates; rejecting is the only choice that cannot be read two ways). JSON
//     text must be valid UTF-8 (RFC 8725 §3.7).
//
// Tokens of another issuer (a legacy identity provider Gatehouse users migrate from) go
// through VerifyForeign and ParseForeignJWKSet instead: the same parsing and checks, with four
// more algorithms (RS384, RS512, PS256, ES384) narrowed to the issuer's own allowlist, and the
// certificate header members x5c, x5t and x5t#S256 tolerated but never read. Nothing else in
// the package accepts them.
//
// The usual path for a resource server is VerifyAndValidate (or Verify followed by Validate),
// which parses, picks the key by "kid", checks the signature and only then decodes the claims,
// so claims of a token that is not authentic are never looked at.
//
// Errors about a token or a key wrap one of the sentinel errors of this package (ErrMalformed,
// ErrTooLarge, ...) so that callers can map them with errors.Is; only programming errors (an
// incomplete Expected) and failures of the random source do not. No error text contains the
// token or any string taken from it.
package jws
