package oidc

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/onetime"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
)

// Lifetimes of the one-time records of the flow.
const (
	CodeTTL    = 60 * time.Second // RFC 6749 §4.1.2: short; one use
	PendingTTL = 15 * time.Minute // an authorization request waiting for sign-in or consent
	replayTTL  = 15 * time.Minute // how long a used code is remembered to catch its replay
)

// Grant is what an authorization code stands for.
type Grant struct {
	Request
	UserID    string    `json:"user_id"`
	SessionID string    `json:"session_id"` // the browser session that authorized
	AuthTime  time.Time `json:"auth_time"`
	AMR       []string  `json:"amr"`
}

// ErrCodeInvalid is an authorization code that is unknown, expired or used.
var ErrCodeInvalid = errors.New("oidc: authorization code is invalid, expired or already used")

// ReplayError is the second use of a code: SessionID is the session its first use created,
// which the caller must end (RFC 6749 §4.1.2, OAuth 2.0 Security BCP §4.5).
type ReplayError struct{ SessionID string }

func (e *ReplayError) Error() string { return "oidc: authorization code replayed" }

// Codes issues and redeems authorization codes and keeps pending requests, in a one-time store
// (one atomic consume per code on every backend; only SHA-256 of a code is stored).
type Codes struct {
	store onetime.Store
	codes *onetime.Codes
	now   func() time.Time
}

// NewCodes returns Codes over a one-time store.
func NewCodes(store onetime.Store, now func() time.Time) *Codes {
	return &Codes{store: store, codes: onetime.New(store, now), now: now}
}

// Issue stores g under a new code valid for CodeTTL.
func (c *Codes) Issue(ctx context.Context, g *Grant) (secret.Redacted, error) {
	b, err := json.Marshal(g)
	if err != nil {
		return "", err
	}
	return c.codes.Issue(ctx, append([]byte("code:"), b...), CodeTTL)
}

// Redeem consumes a code. A code already used answers a *ReplayError naming the session its
// first use created (once; later uses get ErrCodeInvalid).
func (c *Codes) Redeem(ctx context.Context, code string) (*Grant, error) {
	b, err := c.codes.Redeem(ctx, code)
	if errors.Is(err, onetime.ErrNotFound) {
		if !secret.ValidToken(code) {
			return nil, ErrCodeInvalid
		}
		sid, err := c.store.ConsumeCode(ctx, replayKey(code), c.now())
		if errors.Is(err, onetime.ErrNotFound) {
			return nil, ErrCodeInvalid
		}
		if err != nil {
			return nil, err
		}
		return nil, &ReplayError{SessionID: string(sid)}
	}
	if err != nil {
		return nil, err
	}
	var g Grant
	if len(b) < 5 || string(b[:5]) != "code:" || json.Unmarshal(b[5:], &g) != nil {
		return nil, ErrCodeInvalid // another kind of one-time record
	}
	return &g, nil
}

// MarkRedeemed remembers that code created session sid, so that a replay can end it.
func (c *Codes) MarkRedeemed(ctx context.Context, code, sid string) error {
	return c.store.PutCode(ctx, replayKey(code), []byte(sid), c.now().Add(replayTTL))
}

func replayKey(code string) string { return "oidc-used:" + onetime.Key(code) }

// Pending is an authorization request waiting for the user (sign-in or consent).
type Pending struct {
	Query   string    `json:"query"`             // the original request parameters
	Started time.Time `json:"started"`           // a sign-in after this satisfies prompt=login and max_age
	UserID  string    `json:"user_id,omitempty"` // consent only: who is asked
	Session string    `json:"session,omitempty"` // consent only: the session that was asked
	Request *Request  `json:"request,omitempty"` // consent only: the validated request
}

// Park stores a pending request and returns its one-time handle.
func (c *Codes) Park(ctx context.Context, p *Pending) (secret.Redacted, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return "", err
	}
	return c.codes.Issue(ctx, append([]byte("pend:"), b...), PendingTTL)
}

// Resume consumes a pending request's handle.
func (c *Codes) Resume(ctx context.Context, handle string) (*Pending, error) {
	b, err := c.codes.Redeem(ctx, handle)
	if errors.Is(err, onetime.ErrNotFound) {
		return nil, ErrCodeInvalid
	}
	if err != nil {
		return nil, err
	}
	var p Pending
	if len(b) < 5 || string(b[:5]) != "pend:" || json.Unmarshal(b[5:], &p) != nil {
		return nil, ErrCodeInvalid
	}
	return &p, nil
}

// VerifyPKCE checks a code_verifier against the S256 challenge (RFC 7636 §4.6).
func VerifyPKCE(challenge, verifier string) bool {
	if len(verifier) < verifierMin || len(verifier) > 128 {
		return false
	}
	for i := 0; i < len(verifier); i++ {
		c := verifier[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	h := sha256.Sum256([]byte(verifier))
	return secret.Equal([]byte(base64.RawURLEncoding.EncodeToString(h[:])), []byte(challenge))
}
