// Package oidc is Gatehouse's OpenID Provider for third-party apps (docs/oidc.md): registered
// clients, remembered consents, the validation of authorization requests (RFC 6749 §4.1,
// OpenID Connect Core §3.1) and the one-time authorization codes (consumed atomically through
// internal/onetime, stored only as hashes).
package oidc

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/secret"
)

// Errors of the client and consent stores.
var (
	ErrNotFound = errors.New("oidc: not found")
	ErrConflict = errors.New("oidc: already exists")
)

// Client types (RFC 6749 §2.1).
const (
	Public       = "public"
	Confidential = "confidential"
)

// Scopes Gatehouse knows (OpenID Connect Core §5.4, §11).
const (
	ScopeOpenID  = "openid"
	ScopeEmail   = "email"
	ScopeProfile = "profile"
	ScopeOffline = "offline_access"
)

// SupportedScopes are the scopes a client may be allowed.
var SupportedScopes = []string{ScopeOpenID, ScopeEmail, ScopeProfile, ScopeOffline}

// Client is a registered relying party. SecretHash is SHA-256 of the client secret
// (confidential clients only): the secret itself is shown once, at creation.
type Client struct {
	ID                     string
	Name                   string
	Type                   string
	SecretHash             []byte
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	AllowedScopes          []string
	// FirstParty clients skip the consent page.
	FirstParty bool
	// AccessTTL and IDTTL override the server's token lifetimes for this client (0: default).
	AccessTTL time.Duration
	IDTTL     time.Duration
	CreatedAt time.Time
	UpdatedAt time.Time
	// BackchannelLogoutURI receives a logout token when a session of this client ends
	// (OpenID Connect Back-Channel Logout 1.0; empty: not notified).
	// BackchannelLogoutSessionRequired: the token must carry sid (it always does here).
	BackchannelLogoutURI             string
	BackchannelLogoutSessionRequired bool
}

// Consent is what a user granted a client: remembered so the consent page is shown once.
type Consent struct {
	UserID    string
	ClientID  string
	Scopes    []string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Covers reports whether the consent grants every scope of want.
func (c *Consent) Covers(want []string) bool {
	for _, s := range want {
		if !slices.Contains(c.Scopes, s) {
			return false
		}
	}
	return true
}

// Store keeps clients and consents. Implementations return ErrNotFound and ErrConflict.
type Store interface {
	CreateClient(ctx context.Context, c *Client) error
	ClientByID(ctx context.Context, id string) (*Client, error)
	ListClients(ctx context.Context) ([]*Client, error)
	// UpdateClient replaces every field but ID, SecretHash and CreatedAt.
	UpdateClient(ctx context.Context, c *Client) error
	// DeleteClient removes the client and its consents.
	DeleteClient(ctx context.Context, id string) error
	// PutConsent creates or replaces the consent of (UserID, ClientID).
	PutConsent(ctx context.Context, c *Consent) error
	Consent(ctx context.Context, userID, clientID string) (*Consent, error)
	ListConsents(ctx context.Context, userID string) ([]*Consent, error)
	DeleteConsent(ctx context.Context, userID, clientID string) error
}

// InputError is a client registration the caller must correct.
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

func inputErr(format string, a ...any) error { return &InputError{Msg: fmt.Sprintf(format, a...)} }

// Service manages clients and consents.
type Service struct {
	store Store
	now   func() time.Time
}

// NewService returns a Service over store.
func NewService(store Store, now func() time.Time) *Service { return &Service{store: store, now: now} }

// ClientSpec is what an administrator sets on a client.
type ClientSpec struct {
	Name                   string
	Type                   string
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	AllowedScopes          []string
	FirstParty             bool
	AccessTTL, IDTTL       time.Duration
	// Back-Channel Logout 1.0 §2.2 registration.
	BackchannelLogoutURI             string
	BackchannelLogoutSessionRequired bool
}

const (
	maxURIs    = 20
	maxURILen  = 1000
	maxNameLen = 200
)

func (sp *ClientSpec) validate() error {
	var errs []error
	if sp.Name == "" || len(sp.Name) > maxNameLen {
		errs = append(errs, inputErr("name is required (at most %d bytes)", maxNameLen))
	}
	if sp.Type != Public && sp.Type != Confidential {
		errs = append(errs, inputErr(`type must be "public" or "confidential"`))
	}
	if len(sp.RedirectURIs) == 0 || len(sp.RedirectURIs) > maxURIs {
		errs = append(errs, inputErr("redirect_uris needs 1 to %d URIs", maxURIs))
	}
	for _, u := range sp.RedirectURIs {
		if err := CheckRedirectURI(u); err != nil {
			errs = append(errs, err)
		}
	}
	if len(sp.PostLogoutRedirectURIs) > maxURIs {
		errs = append(errs, inputErr("post_logout_redirect_uris takes at most %d URIs", maxURIs))
	}
	for _, u := range sp.PostLogoutRedirectURIs {
		if err := CheckRedirectURI(u); err != nil {
			errs = append(errs, err)
		}
	}
	if len(sp.AllowedScopes) == 0 {
		sp.AllowedScopes = []string{ScopeOpenID, ScopeEmail, ScopeProfile}
	}
	for _, s := range sp.AllowedScopes {
		if !slices.Contains(SupportedScopes, s) {
			errs = append(errs, inputErr("scope %q is not supported (supported: %s)", s, strings.Join(SupportedScopes, " ")))
		}
	}
	if !slices.Contains(sp.AllowedScopes, ScopeOpenID) {
		errs = append(errs, inputErr("allowed_scopes must include openid"))
	}
	if sp.BackchannelLogoutURI != "" {
		if err := CheckBackchannelURI(sp.BackchannelLogoutURI); err != nil {
			errs = append(errs, err)
		}
	}
	if sp.AccessTTL < 0 || sp.AccessTTL > 24*time.Hour || sp.IDTTL < 0 || sp.IDTTL > 24*time.Hour {
		errs = append(errs, inputErr("token lifetimes must be between 0 (the default) and 24 hours"))
	}
	return errors.Join(errs...)
}

// CheckRedirectURI accepts the redirect URIs RFC 8252 and OAuth 2.0 Security BCP allow: https
// with a host; http only on a loopback IP literal (127.0.0.1 or [::1], any port at use); or a
// private-use scheme in reverse-domain form (com.example.app:/cb). Never a fragment.
func CheckRedirectURI(raw string) error {
	if len(raw) > maxURILen {
		return inputErr("redirect URI is longer than %d bytes", maxURILen)
	}
	u, err := url.Parse(raw)
	if err != nil || u.String() != raw || u.Fragment != "" || strings.ContainsAny(raw, " \t\r\n#") {
		return inputErr("redirect URI %q is not an absolute URI without fragment in normal form", raw)
	}
	switch u.Scheme {
	case "https":
		if u.Host == "" || u.User != nil {
			return inputErr("redirect URI %q needs a host and no user info", raw)
		}
	case "http":
		if !loopback(u) {
			return inputErr("redirect URI %q: http is allowed only on 127.0.0.1 or [::1] (RFC 8252 §7.3)", raw)
		}
	case "":
		return inputErr("redirect URI %q is not absolute", raw)
	default:
		if !strings.Contains(u.Scheme, ".") || u.Host != "" && u.Opaque != "" {
			return inputErr("redirect URI %q: a private-use scheme must be in reverse-domain form (RFC 8252 §7.1)", raw)
		}
	}
	return nil
}

func loopback(u *url.URL) bool {
	if u.Scheme != "http" || u.User != nil {
		return false
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback() && (ip.Equal(net.IPv4(127, 0, 0, 1)) || ip.Equal(net.IPv6loopback))
}

// MatchRedirectURI reports whether the requested redirect URI is one registered: compared
// exactly, except that a registered loopback http URI matches at any port (RFC 8252 §7.3).
func (c *Client) MatchRedirectURI(got string) bool {
	if slices.Contains(c.RedirectURIs, got) {
		return true
	}
	gu, err := url.Parse(got)
	if err != nil || !loopback(gu) || gu.String() != got {
		return false
	}
	for _, reg := range c.RedirectURIs {
		ru, err := url.Parse(reg)
		if err != nil || !loopback(ru) {
			continue
		}
		if ru.Hostname() == gu.Hostname() && ru.EscapedPath() == gu.EscapedPath() && ru.RawQuery == gu.RawQuery {
			return true
		}
	}
	return false
}

// HashSecret is how a client secret is stored: SHA-256 (the secret is 256 random bits, so a
// slow hash adds nothing).
func HashSecret(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

// CreateClient registers a client; for a confidential one it returns the secret, shown once.
func (s *Service) CreateClient(ctx context.Context, sp ClientSpec) (*Client, secret.Redacted, error) {
	if err := sp.validate(); err != nil {
		return nil, "", err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	c := &Client{ID: secret.NewID(), Name: sp.Name, Type: sp.Type, RedirectURIs: sp.RedirectURIs,
		PostLogoutRedirectURIs: sp.PostLogoutRedirectURIs, AllowedScopes: sp.AllowedScopes, FirstParty: sp.FirstParty,
		AccessTTL: sp.AccessTTL, IDTTL: sp.IDTTL, CreatedAt: now, UpdatedAt: now,
		BackchannelLogoutURI: sp.BackchannelLogoutURI, BackchannelLogoutSessionRequired: sp.BackchannelLogoutSessionRequired}
	var sec secret.Redacted
	if c.Type == Confidential {
		sec = secret.Redacted("ghcs_" + secret.NewToken())
		c.SecretHash = HashSecret(string(sec))
	}
	if err := s.store.CreateClient(ctx, c); err != nil {
		return nil, "", err
	}
	return c, sec, nil
}

// UpdateClient replaces a client's settings (its id, type and secret stay).
func (s *Service) UpdateClient(ctx context.Context, id string, sp ClientSpec) (*Client, error) {
	c, err := s.Client(ctx, id)
	if err != nil {
		return nil, err
	}
	sp.Type = c.Type
	if err := sp.validate(); err != nil {
		return nil, err
	}
	c.Name, c.RedirectURIs, c.PostLogoutRedirectURIs, c.AllowedScopes = sp.Name, sp.RedirectURIs, sp.PostLogoutRedirectURIs, sp.AllowedScopes
	c.FirstParty, c.AccessTTL, c.IDTTL, c.UpdatedAt = sp.FirstParty, sp.AccessTTL, sp.IDTTL, s.now().UTC().Truncate(time.Microsecond)
	c.BackchannelLogoutURI, c.BackchannelLogoutSessionRequired = sp.BackchannelLogoutURI, sp.BackchannelLogoutSessionRequired
	if err := s.store.UpdateClient(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}

// Client returns a client by id (ErrNotFound for anything that cannot be one).
func (s *Service) Client(ctx context.Context, id string) (*Client, error) {
	if !secret.ValidID(id) {
		return nil, ErrNotFound
	}
	return s.store.ClientByID(ctx, id)
}

// Clients lists every client.
func (s *Service) Clients(ctx context.Context) ([]*Client, error) { return s.store.ListClients(ctx) }

// DeleteClient removes a client and its consents.
func (s *Service) DeleteClient(ctx context.Context, id string) error {
	if !secret.ValidID(id) {
		return ErrNotFound
	}
	return s.store.DeleteClient(ctx, id)
}

// ErrClientAuth is every failed client authentication (RFC 6749 §5.2 invalid_client).
var ErrClientAuth = errors.New("oidc: client authentication failed")

// Authenticate checks a client at the token endpoint. A confidential client must present its
// secret (compared in constant time, the same work for a wrong one); a public client must
// present none.
func (s *Service) Authenticate(ctx context.Context, id, sec string, hasSecret bool) (*Client, error) {
	c, err := s.Client(ctx, id)
	if errors.Is(err, ErrNotFound) {
		secret.Equal(HashSecret(sec), make([]byte, sha256.Size)) // same work as a known client
		return nil, ErrClientAuth
	}
	if err != nil {
		return nil, err
	}
	switch c.Type {
	case Public:
		if hasSecret {
			return nil, ErrClientAuth
		}
	default:
		if !hasSecret || !secret.Equal(HashSecret(sec), c.SecretHash) {
			return nil, ErrClientAuth
		}
	}
	return c, nil
}

// GrantConsent remembers that userID granted client the scopes (added to earlier grants).
func (s *Service) GrantConsent(ctx context.Context, userID, clientID string, scopes []string) (*Consent, error) {
	now := s.now().UTC().Truncate(time.Microsecond)
	c, err := s.store.Consent(ctx, userID, clientID)
	switch {
	case errors.Is(err, ErrNotFound):
		c = &Consent{UserID: userID, ClientID: clientID, CreatedAt: now}
	case err != nil:
		return nil, err
	}
	for _, sc := range scopes {
		if !slices.Contains(c.Scopes, sc) {
			c.Scopes = append(c.Scopes, sc)
		}
	}
	c.UpdatedAt = now
	return c, s.store.PutConsent(ctx, c)
}

// Consent returns what userID granted clientID (ErrNotFound when nothing).
func (s *Service) Consent(ctx context.Context, userID, clientID string) (*Consent, error) {
	if !secret.ValidID(clientID) {
		return nil, ErrNotFound
	}
	return s.store.Consent(ctx, userID, clientID)
}

// Consents lists the consents of a user.
func (s *Service) Consents(ctx context.Context, userID string) ([]*Consent, error) {
	return s.store.ListConsents(ctx, userID)
}

// RevokeConsent forgets a consent.
func (s *Service) RevokeConsent(ctx context.Context, userID, clientID string) error {
	if !secret.ValidID(clientID) {
		return ErrNotFound
	}
	return s.store.DeleteConsent(ctx, userID, clientID)
}
