// Package legacy lets users of another identity provider (Auth0, Okta, Cognito, Entra, a
// home-grown OIDC server) move to Gatehouse without signing in again: an administrator
// registers the old provider as a legacy issuer, and an app exchanges a token that provider
// issued for a Gatehouse session (RFC 8693 token exchange; see docs/token-exchange.md).
//
// A legacy token is verified as strictly as Gatehouse's own (jws.VerifyForeign: the algorithm
// is the key's and in the issuer's allowlist; iss, aud, exp, nbf and iat checked; size capped;
// no key ever taken from the token), mapped to a user (a linked identity, then a verified
// email, then, if allowed, a new password-less user), and exchanged at most once.
package legacy

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/users"
	"github.com/gatehouse-auth/gatehouse/jws"
)

// Token types an issuer's tokens can have (the token_types setting).
const (
	TypeAccessToken = "access_token"
	TypeIDToken     = "id_token"
)

// Ways to find the user of a legacy token (the match setting), tried in order.
const (
	// MatchIdentity finds the user linked to the token's issuer and subject; always first.
	MatchIdentity = "identity"
	// MatchEmail finds the user with the token's email, only when the token says
	// email_verified: true; the identity is then linked.
	MatchEmail = "email"
)

// Audit event types of this package. They are API (admins filter on them): never rename one.
const (
	EventExchanged     = "legacy_token.exchanged"
	EventRefused       = "legacy_token.refused"
	EventReplayed      = "legacy_token.replayed"
	EventIssuerCreated = "admin.legacy_issuer.created"
	EventIssuerUpdated = "admin.legacy_issuer.updated"
	EventIssuerDeleted = "admin.legacy_issuer.deleted"
)

// Errors of the store and of administration.
var (
	ErrNotFound = errors.New("legacy issuer not found")
	ErrConflict = errors.New("a legacy issuer with this issuer URL already exists")
	// ErrInvalid wraps every problem of an issuer's settings (see Issuer.Normalize).
	ErrInvalid = errors.New("invalid legacy issuer")
)

// ClaimNames says which claims of the issuer's tokens carry the user's email, whether it is
// verified, and the name. Empty fields take the OIDC names.
type ClaimNames struct {
	Email         string `json:"email"`
	EmailVerified string `json:"email_verified"`
	Name          string `json:"name"`
}

// Issuer is a registered legacy issuer.
type Issuer struct {
	ID string
	// Issuer is the exact "iss" of its tokens (Auth0's ends with a slash).
	Issuer string
	// JWKSURI is where its keys are; empty means the jwks_uri of its OpenID Connect discovery
	// document (Issuer without its trailing slash + "/.well-known/openid-configuration").
	JWKSURI string
	// Audiences lists the "aud" values accepted; a token must name at least one.
	Audiences []string
	// TokenTypes lists which of TypeAccessToken and TypeIDToken are exchanged.
	TokenTypes []string
	// Algorithms is the allowlist of signature algorithms (a subset of jws.ForeignAlgorithms).
	Algorithms []jws.Algorithm
	// Match is the ordered list of ways to find the user: MatchIdentity, then MatchEmail.
	Match []string
	// CreateUsers creates a password-less user when no user matches.
	CreateUsers bool
	Claims      ClaimNames
	// AcceptUntil ends the migration window; zero means open.
	AcceptUntil time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Limits on an issuer's settings.
const (
	maxURL       = 512
	maxAudiences = 20
	maxClaimName = 128
)

// Normalize applies the defaults (token types both, algorithm RS256, match identity, the OIDC
// claim names) and checks every setting, returning all problems at once, wrapped in
// ErrInvalid.
func (is *Issuer) Normalize() error {
	var probs []string
	bad := func(format string, a ...any) { probs = append(probs, fmt.Sprintf(format, a...)) }
	if err := checkURL(is.Issuer); err != nil {
		bad("issuer: %v", err)
	}
	if is.JWKSURI != "" {
		if err := checkURL(is.JWKSURI); err != nil {
			bad("jwks_uri: %v", err)
		}
	}
	switch {
	case len(is.Audiences) == 0:
		bad("audiences: at least one is required")
	case len(is.Audiences) > maxAudiences:
		bad("audiences: at most %d", maxAudiences)
	}
	for _, a := range is.Audiences {
		if a == "" || len(a) > maxURL || !printable(a) {
			bad("audiences: each must be 1 to %d printable characters", maxURL)
			break
		}
	}
	if hasDup(is.Audiences) {
		bad("audiences: repeated value")
	}
	if len(is.TokenTypes) == 0 {
		is.TokenTypes = []string{TypeAccessToken, TypeIDToken}
	}
	for _, t := range is.TokenTypes {
		if t != TypeAccessToken && t != TypeIDToken {
			bad("token_types: %q is not access_token or id_token", clip(t))
		}
	}
	if hasDup(is.TokenTypes) {
		bad("token_types: repeated value")
	}
	if len(is.Algorithms) == 0 {
		is.Algorithms = []jws.Algorithm{jws.RS256}
	}
	for _, a := range is.Algorithms {
		if !slices.Contains(jws.ForeignAlgorithms, a) {
			bad("algorithms: %q is not one of RS256, RS384, RS512, PS256, ES256, ES384, EdDSA", clip(string(a)))
		}
	}
	if hasDup(is.Algorithms) {
		bad("algorithms: repeated value")
	}
	if len(is.Match) == 0 {
		is.Match = []string{MatchIdentity}
	}
	if is.Match[0] != MatchIdentity {
		bad("match: must start with identity")
	}
	for _, m := range is.Match {
		if m != MatchIdentity && m != MatchEmail {
			bad("match: %q is not identity or email", clip(m))
		}
	}
	if hasDup(is.Match) {
		bad("match: repeated value")
	}
	for _, c := range []struct {
		dst *string
		def string
	}{{&is.Claims.Email, "email"}, {&is.Claims.EmailVerified, "email_verified"}, {&is.Claims.Name, "name"}} {
		if *c.dst == "" {
			*c.dst = c.def
		}
		if len(*c.dst) > maxClaimName || !printable(*c.dst) {
			bad("claims: names must be 1 to %d printable characters", maxClaimName)
		}
	}
	if len(probs) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(probs, "; "))
	}
	return nil
}

// checkURL accepts an absolute https URL without query or fragment; plain http only for a
// loopback host (a provider running on the same machine in development).
func checkURL(s string) error {
	if s == "" {
		return errors.New("required")
	}
	if len(s) > maxURL || !printable(s) {
		return fmt.Errorf("at most %d printable characters", maxURL)
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return errors.New("must be an absolute URL without user, query or fragment")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if h := u.Hostname(); h != "localhost" && h != "127.0.0.1" && h != "::1" {
			return errors.New("must use https (http only for localhost)")
		}
	default:
		return errors.New("must use https")
	}
	return nil
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '\uFFFD' {
			return false
		}
	}
	return true
}

func hasDup[T comparable](list []T) bool {
	for i, v := range list {
		if slices.Contains(list[:i], v) {
			return true
		}
	}
	return false
}

func clip(s string) string {
	if len(s) > 40 {
		s = s[:40]
	}
	return strings.ToValidUTF8(s, "")
}

// accepts reports whether the issuer exchanges tokens of type typ.
func (is *Issuer) accepts(typ string) bool { return slices.Contains(is.TokenTypes, typ) }

// Store keeps legacy issuers. Implementations return ErrNotFound and ErrConflict (another
// issuer with the same Issuer URL).
type Store interface {
	CreateLegacyIssuer(ctx context.Context, is *Issuer) error
	LegacyIssuerByID(ctx context.Context, id string) (*Issuer, error)
	LegacyIssuerByIssuer(ctx context.Context, issuer string) (*Issuer, error)
	ListLegacyIssuers(ctx context.Context) ([]*Issuer, error)
	// UpdateLegacyIssuer writes every field but ID and CreatedAt.
	UpdateLegacyIssuer(ctx context.Context, is *Issuer) error
	DeleteLegacyIssuer(ctx context.Context, id string) error
	// MarkLegacyToken records that the legacy token with this key (a hash) was exchanged,
	// until expires. It reports true for the first mark of a key, false when a mark that has
	// not expired at now exists, atomically: of concurrent marks of one key exactly one is
	// first.
	MarkLegacyToken(ctx context.Context, key string, expires, now time.Time) (bool, error)
	// DeleteExpiredLegacyMarks deletes at most limit marks that expired at now (expires <=
	// now: such a key is free again anyway) and returns how many it deleted.
	DeleteExpiredLegacyMarks(ctx context.Context, now time.Time, limit int) (int, error)
}

// Identities links a legacy issuer's subjects to users: the user_identities table that the bulk
// import fills too (users.IdentityStore).
type Identities = users.IdentityStore
