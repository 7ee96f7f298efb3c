package password

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Imported password hashes.
//
// Users who move to Gatehouse from another system keep their passwords: their stored hash is
// imported as it is, verified on their first sign-in, and then replaced by an argon2id Hash.
// Each scheme lives in its own file (scheme_<name>.go) behind the small legacyScheme interface;
// this file holds the dispatch and what the schemes share.
//
// Three functions make the API:
//
//   - Scheme names the scheme of a stored hash (for the admin user object's password_scheme).
//   - CheckImported parses a hash strictly and applies the cost caps; the import path calls it so
//     that a malformed or too expensive hash is an import error, never a sign-in panic, hang or
//     a sign-in that accepts any password.
//   - VerifyLegacy checks a password against a stored hash in constant time (it parses with the
//     same caps first, so a row written without CheckImported is refused the same way).
//
// ImportAuth0 turns Auth0's custom_password_hash object into a stored string, and
// FormatFirebaseScrypt builds a Firebase scrypt string from a Firebase export.
//
// Supported schemes and their stored forms (Scheme name: form):
//
//	argon2id, argon2i      $argon2id$v=19$m=,t=,p=$salt$hash, $argon2i$… (PHC, parsed by decodePHC)
//	bcrypt                 $2a$, $2b$, $2y$ (60 characters)
//	scrypt                 $scrypt$ln=<log2 N>,r=,p=$salt$hash (PHC B64)
//	firebase-scrypt        $fbscrypt$v=1,n=<log2 N>,r=<rounds>,p=,ss=<separator>,sk=<signer key>$salt$hash
//	pbkdf2-sha1|sha256|sha512
//	                       $pbkdf2-<digest>$i=<iterations>,l=<key length>$salt$hash (PHC B64), and
//	                       passlib's $pbkdf2$<iterations>$salt$hash, $pbkdf2-sha256$…, $pbkdf2-sha512$…
//	django-pbkdf2-sha256|sha1
//	                       pbkdf2_sha256$<iterations>$<salt>$<base64 hash> (Django)
//	sha256-crypt, sha512-crypt
//	                       $5$[rounds=N$]salt$hash, $6$[rounds=N$]salt$hash (Drepper's SHA-crypt)
//	md5-crypt, apr1-md5-crypt
//	                       $1$salt$hash, $apr1$salt$hash
//	ldap-ssha|ssha256|ssha512
//	                       {SSHA}base64(digest||salt), {SSHA256}…, {SSHA512}… (RFC 2307 style)
//	auth0-md5|sha1|sha256|sha512|scrypt, auth0-hmac-<digest>
//	                       $auth0$v=1$<base64url JSON>: Auth0's custom_password_hash object
//	                       (see auth0Scheme; ImportAuth0 stores its bcrypt, argon2, ldap and
//	                       pbkdf2 hashes as the strings above)
//
// The cost caps are the exported MaxLegacy* constants below.

// Cost caps of imported password hashes. An imported hash must never make a sign-in cost more
// than a few hundred milliseconds of one core (BenchmarkLegacyAtCap measures every scheme at
// its cap and records the figures). CheckImported and VerifyLegacy refuse anything above them
// with ErrMalformedHash. Work counts what dominates the cost: passes over
// memory for argon2 and scrypt, compression-function calls for PBKDF2 (iterations × output
// blocks) and SHA-crypt (rounds). Each cap is well above what the systems people migrate from
// write today (OWASP 2023, Django 6, Firebase, passlib and glibc defaults).
const (
	// MaxLegacyArgon2Memory caps m (KiB) of imported argon2id and argon2i hashes, on top of
	// MaxParams: 128 MiB (passlib, Bitwarden and RFC 9106's second recommendation use 64 MiB,
	// Django 100 MiB). A first verification also pays for faulting that memory in.
	MaxLegacyArgon2Memory = 128 * 1024
	// MaxLegacyArgon2Work caps m×t (KiB × passes): 256 MiB·passes, 6.7 times DefaultParams
	// (m=64 MiB with t=4, m=128 MiB with t=2).
	MaxLegacyArgon2Work = 256 * 1024
	// MaxLegacyBcryptCost caps bcrypt's cost (log2 of its rounds); real systems use 10 to 12.
	MaxLegacyBcryptCost = 13
	// MaxLegacyScryptWork caps N×r×p of scrypt, Firebase scrypt and Auth0 scrypt: N=2^16 with
	// r=8 and p=1, passlib's default (memory is 128×N×r bytes, at most 64 MiB). Firebase
	// projects, Django and Node.js use N=2^14, r=8.
	MaxLegacyScryptWork = 1 << 19
	// MaxLegacyPBKDF2SHA1Work caps iterations × 20-byte output blocks of PBKDF2-HMAC-SHA1
	// (OWASP recommends 1,300,000).
	MaxLegacyPBKDF2SHA1Work = 2_000_000
	// MaxLegacyPBKDF2SHA256Work caps iterations × 32-byte output blocks of PBKDF2-HMAC-SHA256
	// (OWASP recommends 600,000; Django 6 writes 1,200,000).
	MaxLegacyPBKDF2SHA256Work = 2_000_000
	// MaxLegacyPBKDF2SHA512Work caps iterations × 64-byte output blocks of PBKDF2-HMAC-SHA512
	// (OWASP recommends 210,000).
	MaxLegacyPBKDF2SHA512Work = 500_000
	// MaxLegacySHA256CryptRounds caps the rounds of sha256-crypt (glibc's default is 5,000,
	// passlib's 535,000; the format allows 999,999,999).
	MaxLegacySHA256CryptRounds = 1_000_000
	// MaxLegacySHA512CryptRounds caps the rounds of sha512-crypt (glibc's default is 5,000,
	// passlib's 656,000).
	MaxLegacySHA512CryptRounds = 700_000
)

// ErrUnsupportedScheme is returned (wrapping ErrMalformedHash) for a stored hash whose scheme
// Gatehouse does not know.
var ErrUnsupportedScheme = fmt.Errorf("%w: unsupported scheme", ErrMalformedHash)

// maxEncodedLen bounds a stored hash before any parsing: the longest legitimate one, an Auth0
// object with an HMAC key and a salt, is well under it.
const maxEncodedLen = 4096

// legacyScheme is one imported password-hash format.
type legacyScheme interface {
	// identify returns the scheme name when encoded has this scheme's form, else "". It looks
	// at the prefix only (Auth0 also at its algorithm) and never fails.
	identify(encoded string) string
	// parse parses encoded strictly and enforces the scheme's cost caps. Every error wraps
	// ErrMalformedHash.
	parse(encoded string) (legacyHash, error)
}

// legacyHash is a parsed stored hash.
type legacyHash interface {
	// verify derives the value for password and compares it with the stored one in constant
	// time. Its cost depends only on the parsed parameters, never on where a mismatch is.
	verify(password string) bool
}

// legacySchemes is the dispatch table; identify prefixes do not overlap.
var legacySchemes = []legacyScheme{
	argon2Scheme{},
	bcryptScheme{},
	scryptScheme{},
	fbScryptScheme{},
	pbkdf2Scheme{},
	djangoScheme{},
	shaCryptScheme{},
	md5CryptScheme{},
	ldapScheme{},
	auth0Scheme{},
}

func lookupScheme(encoded string) (legacyScheme, string) {
	for _, s := range legacySchemes {
		if name := s.identify(encoded); name != "" {
			return s, name
		}
	}
	return nil, ""
}

// Scheme returns the name of the scheme of a stored password hash: one of the names listed in
// this file's overview ("argon2id", "bcrypt", "pbkdf2-sha256", "auth0-hmac-sha256", ...), ""
// for an empty string (the user has no password), or "unknown". It names the form only; a hash
// of a known scheme may still be malformed (CheckImported says).
func Scheme(encoded string) string {
	if encoded == "" {
		return ""
	}
	if _, name := lookupScheme(encoded); name != "" {
		return name
	}
	return "unknown"
}

func parseLegacy(encoded string) (legacyHash, error) {
	if encoded == "" {
		return nil, fmt.Errorf("%w: empty", ErrMalformedHash)
	}
	if len(encoded) > maxEncodedLen {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrMalformedHash, maxEncodedLen)
	}
	s, _ := lookupScheme(encoded)
	if s == nil {
		return nil, ErrUnsupportedScheme
	}
	return s.parse(encoded)
}

// CheckImported parses an imported password hash strictly and checks it against its scheme's
// cost caps. A nil result guarantees that VerifyLegacy will accept the hash as well-formed and
// that verifying it costs at most its scheme's capped maximum. Every error wraps
// ErrMalformedHash (ErrUnsupportedScheme for an unknown form); the import path reports it as
// an invalid line.
func CheckImported(encoded string) error {
	_, err := parseLegacy(encoded)
	return err
}

// VerifyLegacy reports whether password matches encoded, a hash in any scheme Scheme names,
// comparing the derived value in constant time. A hash that CheckImported would refuse yields
// ErrMalformedHash and no derivation. The caller runs it inside the Hasher's bounded
// concurrency and, on a match, replaces the hash with a fresh argon2id Hash.
func VerifyLegacy(password, encoded string) (ok bool, err error) {
	h, err := parseLegacy(encoded)
	if err != nil {
		return false, err
	}
	return h.verify(password), nil
}

// malformed returns an error wrapping ErrMalformedHash.
func malformed(scheme, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrMalformedHash, scheme, fmt.Sprintf(format, args...))
}

// equal compares two derived values in constant time.
func equal(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// parseCanonical parses a decimal number without sign or leading zeros within [lo, hi], so
// that each parameter has exactly one spelling.
func parseCanonical(s string, lo, hi uint64) (uint64, bool) {
	if s == "" || (len(s) > 1 && s[0] == '0') || s[0] == '+' {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, false
	}
	return n, true
}

// parseKV splits "k1=v1,k2=v2" into values for exactly the keys given, in that order.
func parseKV(s string, keys ...string) ([]string, error) {
	parts := strings.Split(s, ",")
	if len(parts) != len(keys) {
		return nil, errors.New("parameters are not " + strings.Join(keys, ","))
	}
	vals := make([]string, len(keys))
	for i, k := range keys {
		v, ok := strings.CutPrefix(parts[i], k+"=")
		if !ok {
			return nil, errors.New("parameters are not " + strings.Join(keys, ","))
		}
		vals[i] = v
	}
	return vals, nil
}

// decodeB64 decodes PHC B64 (the b64 of phc.go: standard alphabet, no padding, canonical)
// and checks the decoded length is within [lo, hi].
func decodeB64(s string, lo, hi int) ([]byte, bool) {
	// encoding/base64 skips CR and LF even in Strict mode.
	if strings.ContainsAny(s, "\r\n") {
		return nil, false
	}
	b, err := b64.DecodeString(s)
	if err != nil || len(b) < lo || len(b) > hi {
		return nil, false
	}
	return b, true
}
