// Package tokens mints and checks the JWTs Gatehouse issues: access tokens (RFC 9068, typ
// at+jwt) and OIDC ID tokens (typ JWT, OpenID Connect Core §2).
//
// An access token is of one of two kinds, and each check accepts exactly one kind:
//   - a session token names its session (sid) and dies with it: the server checks the
//     session on every use (VerifyAccess), resource servers learn of ended sessions from the
//     revocation feed;
//   - a client token is minted from an access key (client_credentials): it has no sid, and
//     its client_id is the key id. It dies with its key: the server checks that the key still
//     exists, has not expired and that its owner is enabled (VerifyClientAccess); resource
//     servers learn of deleted keys and disabled owners from client_id entries of the feed.
package tokens

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
	"github.com/gatehouse-auth/gatehouse/internal/users"
	"github.com/gatehouse-auth/gatehouse/jws"
)

// ErrInvalid wraps every reason a presented access token is not accepted.
var ErrInvalid = errors.New("invalid access token")

// Token types (the JWS "typ" header).
const (
	TypeAccess = "at+jwt" // RFC 9068 §2.1
	TypeID     = "JWT"
)

// Config are the token lifetimes and names.
type Config struct {
	Issuer   string // required
	ClientID string // the first-party client: "gatehouse"
	// AccessTTL is the access-token lifetime (default 10 minutes).
	AccessTTL time.Duration
	// IDTTL is the ID-token lifetime (default 10 minutes).
	IDTTL time.Duration
	// Leeway is the clock skew allowed when checking tokens (default 30 s).
	Leeway time.Duration
}

func (c Config) withDefaults() Config {
	if c.ClientID == "" {
		c.ClientID = "gatehouse"
	}
	if c.AccessTTL <= 0 {
		c.AccessTTL = 10 * time.Minute
	}
	if c.IDTTL <= 0 {
		c.IDTTL = 10 * time.Minute
	}
	if c.Leeway <= 0 {
		c.Leeway = 30 * time.Second
	}
	return c
}

// Signer is where the active signing key comes from (*keys.Manager).
type Signer interface {
	Signer(ctx context.Context) (*jws.Signer, error)
}

// KeySet is the set of published keys (*keys.Manager).
type KeySet interface {
	jws.KeySet
}

// RevokedIDs reports revoked access-token ids.
type RevokedIDs interface {
	IsRevoked(ctx context.Context, jti string) (bool, error)
}

// ClientLookup reports whether the access key clientID may still stand behind tokens (it
// exists, has not expired, its owner is enabled) and the subject its tokens carry (the owner,
// or the key id). live is false for a key that may not; err is a store failure.
type ClientLookup func(ctx context.Context, clientID string) (subject string, live bool, err error)

// Service issues and checks tokens.
type Service struct {
	signer   Signer
	keys     KeySet
	sessions *sessions.Manager
	revoked  RevokedIDs
	clients  ClientLookup
	cfg      Config
	now      func() time.Time

	verified verifiedCache
}

// WithClients enables client tokens (access keys): without it VerifyClientAccess refuses
// every token.
func (s *Service) WithClients(lookup ClientLookup) *Service {
	s.clients = lookup
	return s
}

// New returns a Service.
func New(signer Signer, keys KeySet, sm *sessions.Manager, revoked RevokedIDs, cfg Config, now func() time.Time) *Service {
	return &Service{signer: signer, keys: keys, sessions: sm, revoked: revoked, cfg: cfg.withDefaults(), now: now,
		verified: verifiedCache{m: make(map[string]verifiedToken)}}
}

// verifiedCache remembers access tokens whose signature and claims have checked out, so that
// a client presenting the same token on every call until it expires costs a map lookup, not
// a signature verification (65 µs for Ed25519, most of a bearer request's CPU). It only
// replaces ParseAccess's stateless checks, which give the same answer for the same string
// while the token is within its validity window and its key is published; the session and
// revocation checks still run on every use.
type verifiedCache struct {
	mu sync.RWMutex
	m  map[string]verifiedToken // key: the whole compact token
}

type verifiedToken struct {
	claims       *AccessClaims // never mutated after insertion
	kid          string
	from, before time.Time // valid for from <= now < before (leeway included)
}

// maxVerified bounds the cache (about 1 KB per token); when full it is cleared, which only
// costs verifications.
const maxVerified = 20_000

func (c *verifiedCache) get(raw string) (verifiedToken, bool) {
	c.mu.RLock()
	v, ok := c.m[raw]
	c.mu.RUnlock()
	return v, ok
}

func (c *verifiedCache) put(raw string, v verifiedToken) {
	c.mu.Lock()
	if len(c.m) >= maxVerified {
		clear(c.m)
	}
	c.m[raw] = v
	c.mu.Unlock()
}

// Config returns the effective configuration.
func (s *Service) Config() Config { return s.cfg }

// AccessClaims are the claims of an access token (RFC 9068 §2.2).
type AccessClaims struct {
	Issuer   string   `json:"iss"`
	Subject  string   `json:"sub"`
	Audience []string `json:"aud"`
	Expiry   int64    `json:"exp"`
	IssuedAt int64    `json:"iat"`
	ID       string   `json:"jti"`
	Session  string   `json:"sid,omitempty"` // empty only in a client token
	Scope    string   `json:"scope,omitempty"`
	ClientID string   `json:"client_id"`
	AMR      []string `json:"amr,omitempty"`
	ACR      string   `json:"acr,omitempty"`
	AuthTime int64    `json:"auth_time,omitempty"` // set in every session token
}

// IsClient reports whether c is a client token (minted from an access key).
func (c *AccessClaims) IsClient() bool { return c.Session == "" }

// Access is an issued access token.
type Access struct {
	Token     secret.Redacted
	ExpiresAt time.Time
	Claims    AccessClaims
}

// IssueAccess signs an access token for the session.
func (s *Service) IssueAccess(ctx context.Context, sess *sessions.Session, scope string) (*Access, error) {
	now := s.now()
	c := AccessClaims{
		Issuer: s.cfg.Issuer, Subject: sess.UserID, Audience: []string{s.cfg.ClientID},
		Expiry: now.Add(s.cfg.AccessTTL).Unix(), IssuedAt: now.Unix(), ID: secret.NewID(),
		Session: sess.ID, Scope: scope, ClientID: s.cfg.ClientID, AMR: sess.AMR, ACR: sess.ACR(), AuthTime: sess.AuthTime.Unix(),
	}
	tok, err := s.sign(ctx, TypeAccess, c)
	if err != nil {
		return nil, err
	}
	return &Access{Token: secret.Redacted(tok), ExpiresAt: time.Unix(c.Expiry, 0), Claims: c}, nil
}

// IssueClientAccess signs a client token (RFC 9068) for the access key clientID: sub is
// subject (the key's owner, or the key id), no sid, no amr or auth_time (no person signed in).
func (s *Service) IssueClientAccess(ctx context.Context, subject, clientID, scope string) (*Access, error) {
	if subject == "" || clientID == "" || clientID == s.cfg.ClientID {
		return nil, errors.New("tokens: a client token needs a subject and an access key id")
	}
	now := s.now()
	c := AccessClaims{
		Issuer: s.cfg.Issuer, Subject: subject, Audience: []string{s.cfg.ClientID},
		Expiry: now.Add(s.cfg.AccessTTL).Unix(), IssuedAt: now.Unix(), ID: secret.NewID(),
		Scope: scope, ClientID: clientID,
	}
	tok, err := s.sign(ctx, TypeAccess, c)
	if err != nil {
		return nil, err
	}
	return &Access{Token: secret.Redacted(tok), ExpiresAt: time.Unix(c.Expiry, 0), Claims: c}, nil
}

type idClaims struct {
	Issuer        string   `json:"iss"`
	Subject       string   `json:"sub"`
	Audience      string   `json:"aud"`
	Expiry        int64    `json:"exp"`
	IssuedAt      int64    `json:"iat"`
	AuthTime      int64    `json:"auth_time"`
	Nonce         string   `json:"nonce,omitempty"`
	AMR           []string `json:"amr,omitempty"`
	ACR           string   `json:"acr,omitempty"`
	Session       string   `json:"sid"`
	Email         string   `json:"email"`
	EmailVerified bool     `json:"email_verified"`
}

// IssueID signs an ID token for the client (OpenID Connect Core §2). It carries no
// authority: Gatehouse never accepts it as a credential (its typ is not at+jwt).
func (s *Service) IssueID(ctx context.Context, sess *sessions.Session, u *users.User, nonce string) (string, error) {
	now := s.now()
	return s.sign(ctx, TypeID, idClaims{
		Issuer: s.cfg.Issuer, Subject: u.ID, Audience: s.cfg.ClientID,
		Expiry: now.Add(s.cfg.IDTTL).Unix(), IssuedAt: now.Unix(), AuthTime: sess.AuthTime.Unix(),
		Nonce: nonce, AMR: sess.AMR, ACR: sess.ACR(), Session: sess.ID, Email: u.Email, EmailVerified: u.EmailVerified,
	})
}

func (s *Service) sign(ctx context.Context, typ string, claims any) (string, error) {
	signer, err := s.signer.Signer(ctx)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	return signer.Sign(typ, b)
}

// LooksLikeJWT reports whether a bearer credential has the shape of a compact JWS, so that
// callers can tell it from an opaque session token without parsing.
func LooksLikeJWT(tok string) bool {
	return strings.Count(tok, ".") == 2 && strings.HasPrefix(tok, "eyJ")
}

// ParseAccess verifies a session token's signature and claims (typ at+jwt, issuer, audience,
// expiry, sid) without consulting any store. It is what introspection and the server's own
// checks build on; VerifyAccess adds the session and revocation checks. A client token is
// refused.
func (s *Service) ParseAccess(raw string) (*AccessClaims, error) {
	c, err := s.Parse(raw)
	if err != nil {
		return nil, err
	}
	if c.IsClient() {
		return nil, fmt.Errorf("%w: missing sid", ErrInvalid)
	}
	return c, nil
}

// Parse verifies an access token of either kind (session or client token; see the package
// comment) without consulting any store: for RFC 7009 revocation, which accepts both.
func (s *Service) Parse(raw string) (*AccessClaims, error) {
	now := s.now()
	if v, ok := s.verified.get(raw); ok && !now.Before(v.from) && now.Before(v.before) {
		if _, published := s.keys.Key(v.kid); published {
			c := *v.claims
			return &c, nil
		}
	}
	t, err := jws.VerifyAndValidate(raw, s.keys, jws.Expected{
		Issuer: s.cfg.Issuer, Audience: s.cfg.ClientID, Typ: TypeAccess, Now: now, Leeway: s.cfg.Leeway,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	var c AccessClaims
	if err := json.Unmarshal(t.Claims.Raw, &c); err != nil || c.Subject == "" || c.ID == "" {
		return nil, fmt.Errorf("%w: missing sub or jti", ErrInvalid)
	}
	// A token without sid must be a well-formed client token: an access key id as client_id
	// and nothing that only a person's sign-in can carry.
	if c.Session == "" && (!secret.ValidID(c.ClientID) || len(c.AMR) > 0 || c.AuthTime != 0) {
		return nil, fmt.Errorf("%w: missing sid", ErrInvalid)
	}
	v := verifiedToken{claims: &c, kid: t.Header.Kid, before: t.Claims.Expiry.Time().Add(s.cfg.Leeway)}
	if nbf := t.Claims.NotBefore; nbf != nil {
		v.from = nbf.Time().Add(-s.cfg.Leeway)
	}
	if iat := t.Claims.IssuedAt; iat != nil && iat.Time().Add(-s.cfg.Leeway).After(v.from) {
		v.from = iat.Time().Add(-s.cfg.Leeway)
	}
	s.verified.put(raw, v)
	cp := c
	return &cp, nil
}

// VerifyAccess accepts an access token only if it verifies, its session is still live and
// belongs to its subject, and its id has not been revoked. Store failures are returned as
// they are (the caller fails closed), never as ErrInvalid.
func (s *Service) VerifyAccess(ctx context.Context, raw string) (*AccessClaims, *sessions.Session, error) {
	c, err := s.ParseAccess(raw)
	if err != nil {
		return nil, nil, err
	}
	sess, err := s.sessions.Get(ctx, c.Session)
	if errors.Is(err, sessions.ErrInvalid) {
		return nil, nil, fmt.Errorf("%w: session ended", ErrInvalid)
	}
	if err != nil {
		return nil, nil, err
	}
	if sess.UserID != c.Subject {
		return nil, nil, fmt.Errorf("%w: session of another subject", ErrInvalid)
	}
	revoked, err := s.revoked.IsRevoked(ctx, c.ID)
	if err == nil && !revoked && c.ClientID != "" && c.ClientID != s.cfg.ClientID {
		// A registered client's token: dead once the client is deleted (docs/oidc.md).
		revoked, err = s.sessions.ClientRevoked(ctx, c.ClientID, time.Unix(c.IssuedAt, 0))
	}
	if err != nil {
		return nil, nil, err
	}
	if revoked {
		return nil, nil, fmt.Errorf("%w: token revoked", ErrInvalid)
	}
	return c, sess, nil
}

// VerifyClientAccess accepts a client token only if it verifies, its access key still exists,
// has not expired and its owner (if any) is enabled, its subject is the key's, and neither
// the key's tokens (a client_id entry) nor the token itself (jti) have been revoked. Store
// failures are returned as they are (the caller fails closed), never as ErrInvalid.
func (s *Service) VerifyClientAccess(ctx context.Context, raw string) (*AccessClaims, error) {
	c, err := s.Parse(raw)
	if err != nil {
		return nil, err
	}
	if !c.IsClient() {
		return nil, fmt.Errorf("%w: not a client token", ErrInvalid)
	}
	if s.clients == nil {
		return nil, fmt.Errorf("%w: access keys are not enabled", ErrInvalid)
	}
	sub, live, err := s.clients(ctx, c.ClientID)
	if err != nil {
		return nil, err
	}
	if !live {
		return nil, fmt.Errorf("%w: access key deleted, expired or its owner disabled", ErrInvalid)
	}
	if sub != c.Subject {
		return nil, fmt.Errorf("%w: subject is not the access key's", ErrInvalid)
	}
	revoked, err := s.sessions.ClientRevoked(ctx, c.ClientID, time.Unix(c.IssuedAt, 0))
	if err != nil {
		return nil, err
	}
	if !revoked {
		revoked, err = s.revoked.IsRevoked(ctx, c.ID)
		if err != nil {
			return nil, err
		}
	}
	if revoked {
		return nil, fmt.Errorf("%w: token revoked", ErrInvalid)
	}
	return c, nil
}
