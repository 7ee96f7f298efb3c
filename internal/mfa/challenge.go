package mfa

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"net/netip"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/secret"
)

// The mfa_token of a two-step sign-in (the 403 mfa_required answer): one-time, short-lived,
// a few wrong codes, and bound to where the first step came from.
const (
	ChallengeTTL         = 5 * time.Minute
	MaxChallengeFailures = 5
)

// ErrChallenge covers every mfa_token that cannot be used: malformed, unknown, expired,
// used, out of tries, or presented with another binding. Callers answer all the same way.
var ErrChallenge = errors.New("mfa: invalid or expired mfa_token")

// Binding is what an mfa_token is bound to: it is only accepted with the same values as the
// password step that issued it.
type Binding struct {
	// Delivery is how the first step asked for the session ("cookie" or "token"); the second
	// step answers the same way.
	Delivery string
	// IPClass is the client's network, as IPClass computes it.
	IPClass string
	// UserAgent is the User-Agent header of the request.
	UserAgent string
}

// IPClass is the network an mfa_token is bound to: the /24 of an IPv4 address, the /48 of
// an IPv6 one (an IPv4-mapped address counts as IPv4). A network, not the address, so that a
// phone that changes address within its carrier's block between the two steps still
// finishes, while a token replayed from another network does not.
func IPClass(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	a = a.Unmap()
	bits := 48
	if a.Is4() {
		bits = 24
	}
	p, _ := a.WithZone("").Prefix(bits) // fails only for the zero Addr
	return p.String()
}

// hash is SHA-256 over the length-prefixed fields, so no two bindings hash alike by moving
// bytes between fields.
func (b Binding) hash() []byte {
	h := sha256.New()
	h.Write([]byte("gatehouse mfa binding v1"))
	for _, f := range []string{b.Delivery, b.IPClass, b.UserAgent} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	return h.Sum(nil)
}

// Challenge is a pending second step as stored. Only hashes of the token's secret and of the
// binding are kept.
type Challenge struct {
	ID          string
	UserID      string
	Delivery    string // the first step's delivery, in clear for the HTTP layer
	Data        []byte // first-step state the HTTP layer needs to finish (opaque here)
	SecretHash  []byte // SHA-256 of the token's secret
	BindingHash []byte
	Failures    int
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// ChallengeStore keeps mfa_token challenges.
type ChallengeStore interface {
	CreateChallenge(ctx context.Context, c *Challenge) error
	// Challenge returns the challenge id; ErrNotFound when it is missing or expired at now.
	Challenge(ctx context.Context, id string, now time.Time) (*Challenge, error)
	// FailChallenge adds one failure to challenge id and returns the new count, atomically;
	// ErrNotFound when it is missing. The store may delete a challenge that reaches max.
	FailChallenge(ctx context.Context, id string, max int) (int, error)
	// ConsumeChallenge deletes challenge id if it is unexpired at now and has fewer than max
	// failures, atomically: of concurrent calls exactly one succeeds; ErrNotFound otherwise.
	ConsumeChallenge(ctx context.Context, id string, now time.Time, max int) error
}

// Challenges issues and checks mfa_tokens. Its methods are safe for concurrent use.
type Challenges struct {
	store ChallengeStore
	now   func() time.Time
}

// NewChallenges returns Challenges over store.
func NewChallenges(store ChallengeStore, now func() time.Time) *Challenges {
	return &Challenges{store: store, now: now}
}

// challengeTokenLen is the length of "<id>.<secret>".
const challengeTokenLen = secret.IDLen + 1 + secret.TokenLen

// ParseChallengeToken splits an mfa_token into its id and secret, and reports false for
// anything not made by Issue, which then never reaches the store.
func ParseChallengeToken(tok string) (id, sec string, ok bool) {
	if len(tok) != challengeTokenLen || tok[secret.IDLen] != '.' {
		return "", "", false
	}
	id, sec = tok[:secret.IDLen], tok[secret.IDLen+1:]
	if !secret.ValidID(id) || !secret.ValidToken(sec) {
		return "", "", false
	}
	return id, sec, true
}

// Issue stores a challenge for userID after a correct password and returns its mfa_token.
// data is kept for the HTTP layer (Challenge.Data).
func (c *Challenges) Issue(ctx context.Context, userID string, b Binding, data []byte) (secret.Redacted, error) {
	now := c.now()
	id, sec := secret.NewID(), secret.NewToken()
	ch := &Challenge{
		ID: id, UserID: userID, Delivery: b.Delivery, Data: data,
		SecretHash: secret.Hash(sec), BindingHash: b.hash(),
		CreatedAt: now, ExpiresAt: now.Add(ChallengeTTL),
	}
	if err := c.store.CreateChallenge(ctx, ch); err != nil {
		return "", err
	}
	return secret.Redacted(id + "." + sec), nil
}

// Challenge returns the challenge of token if it can still be used with binding b:
// ErrChallenge otherwise, or a store error (fail closed). It does not consume it: verify the
// second factor, then call Fail or Consume.
func (c *Challenges) Challenge(ctx context.Context, token string, b Binding) (*Challenge, error) {
	id, sec, ok := ParseChallengeToken(token)
	if !ok {
		return nil, ErrChallenge
	}
	now := c.now()
	ch, err := c.store.Challenge(ctx, id, now)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrChallenge
	}
	if err != nil {
		return nil, err
	}
	secretOK := secret.Equal(ch.SecretHash, secret.Hash(sec))
	bindingOK := secret.Equal(ch.BindingHash, b.hash())
	if !secretOK || !bindingOK || !now.Before(ch.ExpiresAt) || ch.Failures >= MaxChallengeFailures {
		return nil, ErrChallenge
	}
	return ch, nil
}

// Fail records a wrong second factor on ch and returns how many tries are left; at zero the
// token is dead.
func (c *Challenges) Fail(ctx context.Context, ch *Challenge) (int, error) {
	n, err := c.store.FailChallenge(ctx, ch.ID, MaxChallengeFailures)
	if errors.Is(err, ErrNotFound) {
		return 0, ErrChallenge
	}
	if err != nil {
		return 0, err
	}
	return max(0, MaxChallengeFailures-n), nil
}

// Consume uses ch up after a correct second factor; ErrChallenge when another request (or
// a fifth failure) got there first, in which case the caller must not mint a session.
func (c *Challenges) Consume(ctx context.Context, ch *Challenge) error {
	err := c.store.ConsumeChallenge(ctx, ch.ID, c.now(), MaxChallengeFailures)
	if errors.Is(err, ErrNotFound) {
		return ErrChallenge
	}
	return err
}
