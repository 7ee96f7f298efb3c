package tokens

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"hash"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
	"github.com/gatehouse-auth/gatehouse/internal/users"
	"github.com/gatehouse-auth/gatehouse/jws"
)

// IssueAccessFor signs an access token of a session created for the registered client
// clientID (the authorization code flow, docs/oidc.md): client_id is the client and aud holds
// both the client and the first-party id (which Gatehouse itself checks). ttl 0 is the default.
func (s *Service) IssueAccessFor(ctx context.Context, sess *sessions.Session, clientID, scope string, ttl time.Duration) (*Access, error) {
	if ttl <= 0 {
		ttl = s.cfg.AccessTTL
	}
	now := s.now()
	c := AccessClaims{
		Issuer: s.cfg.Issuer, Subject: sess.UserID, Audience: []string{s.cfg.ClientID, clientID},
		Expiry: now.Add(ttl).Unix(), IssuedAt: now.Unix(), ID: secret.NewID(),
		Session: sess.ID, Scope: scope, ClientID: clientID, AMR: sess.AMR, ACR: sess.ACR(), AuthTime: sess.AuthTime.Unix(),
	}
	tok, err := s.sign(ctx, TypeAccess, c)
	if err != nil {
		return nil, err
	}
	return &Access{Token: secret.Redacted(tok), ExpiresAt: time.Unix(c.Expiry, 0), Claims: c}, nil
}

// IDParams shape an ID token for a registered client.
type IDParams struct {
	ClientID    string
	Nonce       string
	AccessToken string // for at_hash (OpenID Connect Core §3.1.3.6)
	Email       bool   // the email scope was granted
	Profile     bool   // the profile scope was granted
	TTL         time.Duration
}

type clientIDClaims struct {
	Issuer        string   `json:"iss"`
	Subject       string   `json:"sub"`
	Audience      string   `json:"aud"`
	AZP           string   `json:"azp"`
	Expiry        int64    `json:"exp"`
	IssuedAt      int64    `json:"iat"`
	AuthTime      int64    `json:"auth_time"`
	Nonce         string   `json:"nonce,omitempty"`
	AMR           []string `json:"amr,omitempty"`
	ACR           string   `json:"acr,omitempty"`
	Session       string   `json:"sid"`
	ATHash        string   `json:"at_hash,omitempty"`
	Email         string   `json:"email,omitempty"`
	EmailVerified *bool    `json:"email_verified,omitempty"`
	Name          string   `json:"name,omitempty"`
	Locale        string   `json:"locale,omitempty"`
	Picture       string   `json:"picture,omitempty"`
	UpdatedAt     int64    `json:"updated_at,omitempty"`
}

// IssueIDFor signs an ID token for a registered client (OpenID Connect Core §2): aud and azp
// are the client, claims beyond the session's follow the granted scopes.
func (s *Service) IssueIDFor(ctx context.Context, sess *sessions.Session, u *users.User, p IDParams) (string, error) {
	signer, err := s.signer.Signer(ctx)
	if err != nil {
		return "", err
	}
	ttl := p.TTL
	if ttl <= 0 {
		ttl = s.cfg.IDTTL
	}
	now := s.now()
	c := clientIDClaims{Issuer: s.cfg.Issuer, Subject: u.ID, Audience: p.ClientID, AZP: p.ClientID,
		Expiry: now.Add(ttl).Unix(), IssuedAt: now.Unix(), AuthTime: sess.AuthTime.Unix(), Nonce: p.Nonce,
		AMR: sess.AMR, ACR: sess.ACR(), Session: sess.ID}
	if p.AccessToken != "" {
		c.ATHash = HalfHash(signer.Algorithm(), p.AccessToken)
	}
	if p.Email {
		v := u.EmailVerified
		c.Email, c.EmailVerified = u.Email, &v
	}
	if p.Profile {
		c.Name, c.Locale, c.Picture, c.UpdatedAt = u.Name, u.Locale, u.Picture, u.UpdatedAt.Unix()
	}
	b, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	return signer.Sign(TypeID, b)
}

// HalfHash is the left half of the hash of v, base64url: at_hash and c_hash (OpenID Connect
// Core §3.1.3.6). The hash is the one of the signing algorithm: SHA-256 for ES256 and RS256,
// SHA-512 for EdDSA with Ed25519 (as go-oidc and other relying parties compute it).
func HalfHash(alg jws.Algorithm, v string) string {
	var h hash.Hash
	switch alg {
	case jws.EdDSA:
		h = sha512.New()
	default:
		h = sha256.New()
	}
	h.Write([]byte(v))
	sum := h.Sum(nil)
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}
