package tokens

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse/jws"
)

// TypeLogout is the typ of a logout token (OpenID Connect Back-Channel Logout 1.0 §2.4,
// recommended so that a logout token cannot be mistaken for an ID token).
const TypeLogout = "logout+jwt"

// BackchannelLogoutEvent is the one event of a logout token.
const BackchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// LogoutParams name what ended: the client told, the user and the session (the sid of the
// client's ID tokens). JTI stays the same across retries of one notification.
type LogoutParams struct {
	ClientID string
	Subject  string
	Session  string
	JTI      string
	TTL      time.Duration // default 2 minutes
}

type logoutClaims struct {
	Issuer   string                    `json:"iss"`
	Subject  string                    `json:"sub,omitempty"`
	Audience string                    `json:"aud"`
	IssuedAt int64                     `json:"iat"`
	Expiry   int64                     `json:"exp"`
	ID       string                    `json:"jti"`
	Session  string                    `json:"sid,omitempty"`
	Events   map[string]map[string]any `json:"events"`
}

// IssueLogoutToken signs a logout token (Back-Channel Logout 1.0 §2.4): iss, aud, iat, exp,
// jti, events, sub and/or sid, and never a nonce.
func (s *Service) IssueLogoutToken(ctx context.Context, p LogoutParams) (string, error) {
	signer, err := s.signer.Signer(ctx)
	if err != nil {
		return "", err
	}
	ttl := p.TTL
	if ttl <= 0 {
		ttl = 2 * time.Minute
	}
	now := s.now()
	b, err := json.Marshal(logoutClaims{Issuer: s.cfg.Issuer, Subject: p.Subject, Audience: p.ClientID, IssuedAt: now.Unix(),
		Expiry: now.Add(ttl).Unix(), ID: p.JTI, Session: p.Session, Events: map[string]map[string]any{BackchannelLogoutEvent: {}}})
	if err != nil {
		return "", err
	}
	return signer.Sign(TypeLogout, b)
}

// IDTokenHint is what an id_token_hint names (RP-Initiated Logout 1.0 §2).
type IDTokenHint struct {
	Subject  string
	Audience []string
	Session  string
	Expiry   time.Time
}

// ParseIDTokenHint verifies that raw is an ID token this server signed (typ JWT, our issuer,
// a published key) and returns whom it names. Expiry is not checked: RP-Initiated Logout 1.0
// §2 asks the OP to accept an expired hint to identify the session. The hint is never a
// credential: it only says which session the relying party means.
func (s *Service) ParseIDTokenHint(raw string) (*IDTokenHint, error) {
	if len(raw) > 8192 {
		return nil, ErrInvalid
	}
	t, err := jws.Verify(raw, s.keys)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if t.Header.Typ != TypeID || t.Claims.Issuer != s.cfg.Issuer || t.Claims.Subject == "" || len(t.Claims.Audience) == 0 {
		return nil, fmt.Errorf("%w: not an ID token of this issuer", ErrInvalid)
	}
	var extra struct {
		Session string `json:"sid"`
	}
	if err := json.Unmarshal(t.Claims.Raw, &extra); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	h := &IDTokenHint{Subject: t.Claims.Subject, Audience: []string(t.Claims.Audience), Session: extra.Session}
	if t.Claims.Expiry != nil {
		h.Expiry = t.Claims.Expiry.Time()
	}
	return h, nil
}
