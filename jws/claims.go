package jws

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// NumericDate is a JWT time: seconds since 1970-01-01T00:00:00Z UTC (RFC 7519 §2). Fractional
// seconds in a token are truncated; values must lie between 0 and the end of year 9999.
type NumericDate int64

// NewNumericDate returns t as a NumericDate, truncated to the second.
func NewNumericDate(t time.Time) NumericDate { return NumericDate(t.Unix()) }

// Time returns d as a time.Time.
func (d NumericDate) Time() time.Time { return time.Unix(int64(d), 0) }

// UnmarshalJSON decodes a JSON number with the same rules as Parse.
func (d *NumericDate) UnmarshalJSON(b []byte) error {
	v, err := jsonNumericDate(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("%w: NumericDate: %v", ErrMalformed, err)
	}
	*d = v
	return nil
}

// Audience is the "aud" claim (RFC 7519 §4.1.3), which a token may write as one string or as
// an array of strings.
type Audience []string

// Contains reports whether aud contains s exactly (case-sensitive, RFC 7519 §4.1.3).
func (aud Audience) Contains(s string) bool {
	for _, a := range aud {
		if a == s {
			return true
		}
	}
	return false
}

// MarshalJSON writes a single audience as a string and several as an array.
func (aud Audience) MarshalJSON() ([]byte, error) {
	if len(aud) == 1 {
		return json.Marshal(aud[0])
	}
	return json.Marshal([]string(aud))
}

// UnmarshalJSON accepts a string or an array of strings.
func (aud *Audience) UnmarshalJSON(b []byte) error {
	v, err := jsonAudience(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("%w: aud: %v", ErrMalformed, err)
	}
	*aud = v
	return nil
}

// Claims are the registered claims of RFC 7519 §4.1. Parse and Verify fill them by exact,
// case-sensitive name (RFC 7519 §4); a registered claim of the wrong JSON type makes the token
// malformed. Raw is the whole claim set, for decoding private claims (scope, sid, ...) into a
// caller's own struct with encoding/json; duplicate and case-variant names were rejected, so
// that decoding cannot see a different value than this package did.
type Claims struct {
	Issuer    string       `json:"iss,omitempty"`
	Subject   string       `json:"sub,omitempty"`
	Audience  Audience     `json:"aud,omitempty"`
	Expiry    *NumericDate `json:"exp,omitempty"`
	NotBefore *NumericDate `json:"nbf,omitempty"`
	IssuedAt  *NumericDate `json:"iat,omitempty"`
	ID        string       `json:"jti,omitempty"`
	// Raw is the JSON claim set as signed.
	Raw json.RawMessage `json:"-"`
}

// visit decodes one top-level member of the claim set.
func (c *Claims) visit(name, raw string) error {
	var err error
	switch name {
	case "iss":
		c.Issuer, err = jsonString(raw)
	case "sub":
		c.Subject, err = jsonString(raw)
	case "jti":
		c.ID, err = jsonString(raw)
	case "aud":
		c.Audience, err = jsonAudience(raw)
	case "exp", "nbf", "iat":
		var d NumericDate
		if d, err = jsonNumericDate(raw); err == nil {
			switch name {
			case "exp":
				c.Expiry = &d
			case "nbf":
				c.NotBefore = &d
			default:
				c.IssuedAt = &d
			}
		}
	default:
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: claim %s: %v", ErrMalformed, name, err)
	}
	return nil
}

// MaxLeeway bounds Expected.Leeway: clock skew is tolerated, not a way to extend lifetimes.
const MaxLeeway = 5 * time.Minute

// Expected is what Validate requires of a token. Issuer, Audience, Typ and Now are required;
// leaving one unset is a programming error, reported as such rather than skipping the check.
type Expected struct {
	// Issuer must equal the "iss" claim exactly.
	Issuer string
	// Audience must be one of the values of the "aud" claim.
	Audience string
	// Typ must match the header "typ", compared as media types (RFC 7515 §4.1.9): case-
	// insensitively and with an optional "application/" prefix, so "at+jwt" matches
	// "application/at+jwt" (RFC 9068 §2.1) and "JWT" matches "jwt".
	Typ string
	// Now is the current time; the caller reads the clock.
	Now time.Time
	// Leeway is the clock skew allowed on exp, nbf and iat; at most MaxLeeway.
	Leeway time.Duration
}

var errExpected = errors.New("jws: invalid Expected")

// Validate checks a verified token's header type and claims against e (RFC 7519 §4.1.1–4.1.6
// and §7.2; RFC 8725 §3.8, §3.9 and §3.11): typ matches; iss present and equal; aud present
// and containing e.Audience; exp present with Now < exp + Leeway; nbf, if present, with
// Now >= nbf - Leeway; iat, if present, not after Now + Leeway. A token without exp is treated as expired
// (ErrExpired): Gatehouse never accepts an unbounded token.
func Validate(t *Token, e Expected) error {
	switch {
	case e.Issuer == "":
		return fmt.Errorf("%w: Issuer is empty", errExpected)
	case e.Audience == "":
		return fmt.Errorf("%w: Audience is empty", errExpected)
	case e.Typ == "":
		return fmt.Errorf("%w: Typ is empty", errExpected)
	case e.Now.IsZero():
		return fmt.Errorf("%w: Now is zero", errExpected)
	case e.Leeway < 0 || e.Leeway > MaxLeeway:
		return fmt.Errorf("%w: Leeway outside [0, %v]", errExpected, MaxLeeway)
	case t == nil:
		return fmt.Errorf("%w: nil token", ErrMalformed)
	}
	if !typeMatches(t.Header.Typ, e.Typ) {
		return fmt.Errorf("%w: typ is not %s", ErrType, e.Typ)
	}
	c := &t.Claims
	switch {
	case c.Issuer == "":
		return fmt.Errorf("%w: no iss claim", ErrIssuer)
	case c.Issuer != e.Issuer:
		return ErrIssuer
	case len(c.Audience) == 0:
		return fmt.Errorf("%w: no aud claim", ErrAudience)
	case !c.Audience.Contains(e.Audience):
		return ErrAudience
	case c.Expiry == nil:
		return fmt.Errorf("%w: no exp claim", ErrExpired)
	case !e.Now.Before(c.Expiry.Time().Add(e.Leeway)):
		return ErrExpired
	case c.NotBefore != nil && e.Now.Before(c.NotBefore.Time().Add(-e.Leeway)):
		return fmt.Errorf("%w: nbf is in the future", ErrNotYetValid)
	case c.IssuedAt != nil && c.IssuedAt.Time().After(e.Now.Add(e.Leeway)):
		return fmt.Errorf("%w: iat is in the future", ErrNotYetValid)
	}
	return nil
}

// typeMatches compares a header typ with the expected one as media types (RFC 7515 §4.1.9,
// RFC 8725 §3.11). An absent typ never matches.
func typeMatches(got, want string) bool {
	return got != "" && strings.EqualFold(shortType(got), shortType(want))
}

// shortType drops an "application/" prefix (case-insensitively) when no other "/" follows.
func shortType(typ string) string {
	const prefix = "application/"
	if len(typ) > len(prefix) && strings.EqualFold(typ[:len(prefix)], prefix) && !strings.Contains(typ[len(prefix):], "/") {
		return typ[len(prefix):]
	}
	return typ
}
