// Package sessions is the server-side session: one per sign-in, identified to the client by an
// opaque "<id>.<secret>" token of which only SHA-256(secret) is stored. Expiry (idle and
// absolute) is decided here, when a token is checked, not by a cleanup job.
package sessions

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/secret"
)

// ErrNotFound is returned by a Store for a session that does not exist.
var ErrNotFound = errors.New("session not found")

// ErrInvalid is returned by Validate for every token that does not name a live session:
// malformed, unknown, wrong secret, expired or revoked. The wrapped detail is for logs only.
var ErrInvalid = errors.New("invalid session")

// Session is one sign-in. SecretHash is SHA-256 of the token secret.
type Session struct {
	ID         string
	UserID     string
	SecretHash []byte
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // absolute limit
	AuthTime   time.Time
	AMR        []string // how the user authenticated (RFC 8176 values: "pwd", "mfa", ...)
	IP         string
	UserAgent  string
	ClientID   string
	// Purpose is empty for a full session. PurposeMFAEnrolment marks a session that the
	// "required" MFA policy gave a user without a second factor: only enrolment accepts it.
	Purpose string
	// RequestedScope is the space-separated scope a first-party token sign-in asked for
	// (empty: none). Each access token of the session carries the part of it that the
	// user's roles grant when the token is issued (internal/roles, docs/roles.md).
	RequestedScope string

	// Refresh is the rotation state of the session's refresh token; zero for cookie-only
	// sessions.
	Refresh RefreshState
}

// RefreshState is where a session's refresh-token rotation stands.
type RefreshState struct {
	Gen       int64     // current generation; 0 = no refresh token issued
	RotatedAt time.Time // when Gen last advanced
	Salt      []byte    // per-session random salt mixed into the token MAC
}

// PurposeMFAEnrolment is the Purpose of a session limited to enrolling a second factor.
const PurposeMFAEnrolment = "mfa_enrolment"

// IdleExpiresAt is when the session ends if it is not used again.
func (s *Session) IdleExpiresAt(idle time.Duration) time.Time {
	t := s.LastSeenAt.Add(idle)
	if t.After(s.ExpiresAt) {
		return s.ExpiresAt
	}
	return t
}

// Store keeps sessions. Implementations return ErrNotFound for a missing session.
type Store interface {
	CreateSession(ctx context.Context, s *Session) error
	SessionByID(ctx context.Context, id string) (*Session, error)
	// TouchSession sets LastSeenAt if at is later than the stored value.
	TouchSession(ctx context.Context, id string, at time.Time) error
	// DeleteSession removes a session and, in the same transaction, records a revocation
	// entry for it that lives until `until`.
	DeleteSession(ctx context.Context, id string, until time.Time) error
	// DeleteUserSessions removes every session of userID except the one named except (which
	// may be empty), records a revocation entry for each, and returns the ids it removed.
	DeleteUserSessions(ctx context.Context, userID, except string, until time.Time) ([]string, error)
	// RevokeTokenID records a revocation entry for one access-token id, r.TokenID (r names
	// no session), unless the log already has one for that id, or sid (the token's session,
	// may be empty) has an entry lasting at least until r.Until, which already covers the
	// token. It reports whether it recorded an entry.
	RevokeTokenID(ctx context.Context, r Revocation, sid string) (bool, error)
	// TokenRevoked reports whether a live revocation entry names the access-token id jti.
	TokenRevoked(ctx context.Context, jti string, now time.Time) (bool, error)
	// RevokeClients records the entries rs, each naming a ClientID (and no session or
	// token), in one transaction.
	RevokeClients(ctx context.Context, rs []Revocation) error
	// ClientRevoked reports whether a live entry (Until >= now) names clientID with an
	// IssuedBefore that is zero or after issuedAt.
	ClientRevoked(ctx context.Context, clientID string, issuedAt, now time.Time) (bool, error)
	// RevocationsAfter returns entries with Cursor > cursor that have not expired at now,
	// in cursor order, at most limit.
	RevocationsAfter(ctx context.Context, cursor int64, now time.Time, limit int) ([]Revocation, error)
	// LastRevocation returns the highest cursor (0 when there is none).
	LastRevocation(ctx context.Context) (int64, error)
	// DeleteExpiredRevocations removes entries whose Until is before now.
	DeleteExpiredRevocations(ctx context.Context, now time.Time) (int, error)
	ListUserSessions(ctx context.Context, userID string) ([]*Session, error)
	// AdvanceRefresh moves the session's refresh generation from `from` to from+1, stamping
	// at, if and only if it is still `from` (compare-and-swap). Either way it returns the state
	// after the call and whether this call advanced it. ErrNotFound if the session is gone.
	AdvanceRefresh(ctx context.Context, id string, from int64, at time.Time) (RefreshState, bool, error)
	// DeleteExpiredSessions removes sessions past their absolute limit (expires_at <= now)
	// or unused since idleCutoff (last_seen_at <= idleCutoff).
	DeleteExpiredSessions(ctx context.Context, now, idleCutoff time.Time) (int, error)
	CountActiveSessions(ctx context.Context, now, idleCutoff time.Time) (int, error)
}

// Revocation is an entry of the revocation log: a session, one access token (TokenID), or
// the tokens minted from one access key (ClientID), that ended. It lives until Until, when
// every credential it can affect has expired.
type Revocation struct {
	Cursor    int64
	SessionID string
	TokenID   string
	// ClientID names an access key: every access token with that client_id issued before
	// IssuedBefore (zero: whenever) is revoked. A deleted key's entry has no IssuedBefore (its
	// id is never used again); an entry for a disabled owner has one, so that the key works
	// again once the owner is enabled.
	ClientID     string
	IssuedBefore time.Time
	UserID       string
	Until        time.Time
}

// Covers reports whether r revokes an access token of clientID issued at iat.
func (r *Revocation) Covers(clientID string, iat time.Time) bool {
	return r.ClientID != "" && r.ClientID == clientID && (r.IssuedBefore.IsZero() || iat.Before(r.IssuedBefore))
}

// Config holds the session lifetimes.
type Config struct {
	IdleTimeout     time.Duration // default 7 days
	AbsoluteTimeout time.Duration // default 30 days
	// TouchInterval is how stale LastSeenAt may get before a request writes it: requests
	// closer together than this cost no write. Default: one minute, at most IdleTimeout/10.
	TouchInterval time.Duration
	// RevocationRetention is how long a revocation entry is kept: at least the lifetime of the
	// longest access token (default 15 minutes).
	RevocationRetention time.Duration
	// CacheTTL bounds how long a validated session is served from memory without re-reading
	// the store (default 10 s; negative disables the cache). Revocations made through this
	// Manager evict at once; those made elsewhere arrive through FollowRevocations.
	CacheTTL time.Duration
}

func (c Config) withDefaults() Config {
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 7 * 24 * time.Hour
	}
	if c.AbsoluteTimeout <= 0 {
		c.AbsoluteTimeout = 30 * 24 * time.Hour
	}
	if c.TouchInterval <= 0 {
		c.TouchInterval = time.Minute
	}
	if c.RevocationRetention <= 0 {
		c.RevocationRetention = 15 * time.Minute
	}
	if c.CacheTTL == 0 {
		c.CacheTTL = 10 * time.Second
	}
	if c.TouchInterval > c.IdleTimeout/10 {
		c.TouchInterval = c.IdleTimeout / 10
	}
	return c
}

// Manager creates, checks and ends sessions.
type Manager struct {
	store Store
	cfg   Config
	now   func() time.Time

	refreshKey   []byte
	refreshGrace time.Duration

	cache *cache
	feed  feed

	subMu sync.Mutex
	subs  map[chan struct{}]struct{}

	poke   chan struct{}
	fanout func()

	endHook EndHook // see ended.go
}

// NewManager returns a Manager over store. now is the clock (time.Now in production).
func NewManager(store Store, cfg Config, now func() time.Time) *Manager {
	cfg = cfg.withDefaults()
	return &Manager{store: store, cfg: cfg, now: now, cache: newCache(cfg.CacheTTL), poke: make(chan struct{}, 1)}
}

// Config returns the effective configuration (defaults applied).
func (m *Manager) Config() Config { return m.cfg }

// Meta describes how and from where a session was created.
type Meta struct {
	AMR       []string
	AuthTime  time.Time // zero means now
	IP        string
	UserAgent string
	ClientID  string
	Purpose   string // see Session.Purpose
	Scope     string // see Session.RequestedScope

	withRefresh bool
}

// Token is a session token "<id>.<secret>". It redacts itself when printed or logged.
type Token = secret.Redacted

// Create starts a new session for userID and returns it with its token. The id and secret
// are always fresh: an id presented by a client is never adopted.
func (m *Manager) Create(ctx context.Context, userID string, meta Meta) (*Session, Token, error) {
	now := m.now()
	sec := secret.NewToken()
	auth := meta.AuthTime
	if auth.IsZero() {
		auth = now
	}
	s := &Session{
		ID:         secret.NewID(),
		UserID:     userID,
		SecretHash: secret.Hash(sec),
		CreatedAt:  now,
		LastSeenAt: now,
		ExpiresAt:  now.Add(m.cfg.AbsoluteTimeout),
		AuthTime:   auth,
		AMR:        meta.AMR,
		IP:         meta.IP,
		UserAgent:  meta.UserAgent,
		ClientID:   meta.ClientID,
		Purpose:    meta.Purpose,
	}
	s.RequestedScope = meta.Scope
	if meta.withRefresh {
		s.Refresh = m.newRefreshState(now)
	}
	if err := m.store.CreateSession(ctx, s); err != nil {
		return nil, "", fmt.Errorf("create session: %w", err)
	}
	return s, Token(s.ID + "." + sec), nil
}

// MaxTokenLen bounds what ParseToken looks at.
const MaxTokenLen = secret.IDLen + 1 + secret.TokenLen

// ParseToken splits a session token into id and secret, checking their exact shape.
func ParseToken(tok string) (id, sec string, ok bool) {
	if len(tok) != MaxTokenLen {
		return "", "", false
	}
	id, sec, found := strings.Cut(tok, ".")
	if !found || !secret.ValidID(id) || !secret.ValidToken(sec) {
		return "", "", false
	}
	return id, sec, true
}

// Validate returns the live session a token names, or an error wrapping ErrInvalid. It
// enforces the absolute and idle limits and records use (at most one write per
// TouchInterval). Store failures are returned as they are, never as ErrInvalid.
func (m *Manager) Validate(ctx context.Context, tok string) (*Session, error) {
	id, sec, ok := ParseToken(tok)
	if !ok {
		return nil, fmt.Errorf("%w: malformed token", ErrInvalid)
	}
	now := m.now()
	s, cached := m.cache.get(id, now)
	if !cached {
		var err error
		if s, err = m.load(ctx, id); err != nil {
			if errors.Is(err, ErrInvalid) {
				// Hash anyway so that unknown ids cost the same as wrong secrets.
				secret.Equal(secret.Hash(sec), make([]byte, 32))
			}
			return nil, err
		}
	}
	if !secret.Equal(secret.Hash(sec), s.SecretHash) {
		return nil, fmt.Errorf("%w: secret mismatch", ErrInvalid)
	}
	if err := m.checkLive(s, now); err != nil {
		if !cached {
			return nil, err
		}
		// Another instance may have seen more recent use: decide on the stored row.
		if s, err = m.load(ctx, id); err != nil {
			return nil, err
		}
		if err := m.checkLive(s, now); err != nil {
			return nil, err
		}
	}
	if now.Sub(s.LastSeenAt) >= m.cfg.TouchInterval {
		if err := m.store.TouchSession(ctx, s.ID, now); err != nil {
			m.cache.evict(s.ID)
			if errors.Is(err, ErrNotFound) {
				return nil, fmt.Errorf("%w: revoked", ErrInvalid)
			}
			return nil, err
		}
		cp := *s
		cp.LastSeenAt = now
		s = &cp
		m.cache.put(s, now)
	}
	cp := *s
	return &cp, nil
}

// load reads a session from the store and caches it.
func (m *Manager) load(ctx context.Context, id string) (*Session, error) {
	s, err := m.store.SessionByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: unknown session", ErrInvalid)
	}
	if err != nil {
		return nil, err
	}
	m.cache.put(s, m.now())
	return s, nil
}

func (m *Manager) checkLive(s *Session, now time.Time) error {
	if !now.Before(s.ExpiresAt) {
		return fmt.Errorf("%w: absolute lifetime over", ErrInvalid)
	}
	if !now.Before(s.LastSeenAt.Add(m.cfg.IdleTimeout)) {
		return fmt.Errorf("%w: idle timeout", ErrInvalid)
	}
	return nil
}

// Live reports whether s is within its lifetimes at the current time.
func (m *Manager) Live(s *Session) bool { return m.checkLive(s, m.now()) == nil }

// Get returns a live session by id (no token check: for callers already holding a credential
// for it, such as a verified access token). It is served from the cache like Validate.
func (m *Manager) Get(ctx context.Context, id string) (*Session, error) {
	now := m.now()
	s, cached := m.cache.get(id, now)
	if !cached || m.checkLive(s, now) != nil {
		var err error
		if s, err = m.load(ctx, id); err != nil {
			return nil, err
		}
		if err := m.checkLive(s, now); err != nil {
			return nil, err
		}
	}
	cp := *s
	return &cp, nil
}

// RevokeTokenID records that one access token (by jti; sid is its session) is revoked until
// it expires. It is idempotent: a token already revoked, or whose session has already ended
// (the session's entry covers the token), adds no entry to the log. The entry names no
// session: consumers of the feed must not end the session for it.
func (m *Manager) RevokeTokenID(ctx context.Context, jti, sid, userID string, until time.Time) error {
	if revoked, ok := m.feed.revoked(jti, m.now()); ok && revoked {
		return nil
	}
	added, err := m.store.RevokeTokenID(ctx, Revocation{TokenID: jti, UserID: userID, Until: until}, sid)
	if err != nil {
		return err
	}
	m.feed.addJTI(jti, until)
	if added {
		m.revoked(ctx)
	}
	return nil
}

// IsRevoked reports whether an access-token id has been revoked. While FollowRevocations
// keeps up it is answered from memory; otherwise from the store.
func (m *Manager) IsRevoked(ctx context.Context, jti string) (bool, error) {
	now := m.now()
	if revoked, ok := m.feed.revoked(jti, now); ok {
		return revoked, nil
	}
	return m.store.TokenRevoked(ctx, jti, now)
}

// RevokeClients revokes every access token minted so far from the access keys clientIDs
// (owned by userID, may be empty): used when their owner is disabled or deleted. The entries
// last RevocationRetention (at least the longest access token) and cover tokens issued up to
// the current second; tokens minted later are not covered, so the keys of an owner who is
// enabled again work again.
func (m *Manager) RevokeClients(ctx context.Context, userID string, clientIDs []string) error {
	if len(clientIDs) == 0 {
		return nil
	}
	now := m.now()
	before := now.Truncate(time.Second).Add(time.Second)
	rs := make([]Revocation, 0, len(clientIDs))
	for _, id := range clientIDs {
		rs = append(rs, Revocation{ClientID: id, IssuedBefore: before, UserID: userID, Until: now.Add(m.cfg.RevocationRetention)})
	}
	if err := m.store.RevokeClients(ctx, rs); err != nil {
		return err
	}
	m.revoked(ctx)
	return nil
}

// ClientRevoked reports whether the access tokens of clientID issued at iat have been
// revoked (their key deleted, or its owner disabled). While FollowRevocations keeps up it is
// answered from memory; otherwise from the store.
func (m *Manager) ClientRevoked(ctx context.Context, clientID string, iat time.Time) (bool, error) {
	now := m.now()
	if revoked, ok := m.feed.clientRevoked(clientID, iat, now); ok {
		return revoked, nil
	}
	return m.store.ClientRevoked(ctx, clientID, iat, now)
}

// Announce tells this instance's feed, its streams and the other instances that the log has
// an entry written outside the Manager (the access-key store records a deleted key's entry in
// the transaction that deletes it).
func (m *Manager) Announce(ctx context.Context) { m.revoked(ctx) }

// Revoke ends one session. Revoking a session that no longer exists returns ErrNotFound.
func (m *Manager) Revoke(ctx context.Context, id string) error {
	before := m.beforeRevoke(ctx, id)
	m.cache.evict(id)
	err := m.store.DeleteSession(ctx, id, m.now().Add(m.cfg.RevocationRetention))
	m.cache.evict(id) // a concurrent Validate may have cached it meanwhile
	if err == nil {
		m.revoked(ctx)
		m.ended(ctx, []*Session{before}, []string{id})
	}
	return err
}

// RevokeUser ends every session of userID except the one named except (empty for all) and
// returns the ids it ended.
func (m *Manager) RevokeUser(ctx context.Context, userID, except string) ([]string, error) {
	before := m.beforeRevokeUser(ctx, userID)
	ids, err := m.store.DeleteUserSessions(ctx, userID, except, m.now().Add(m.cfg.RevocationRetention))
	m.cache.evictUser(userID, except)
	if len(ids) > 0 {
		m.revoked(ctx)
		m.ended(ctx, before, ids)
	}
	return ids, err
}

// List returns the user's live sessions, newest first.
func (m *Manager) List(ctx context.Context, userID string) ([]*Session, error) {
	all, err := m.store.ListUserSessions(ctx, userID)
	if err != nil {
		return nil, err
	}
	now := m.now()
	live := all[:0]
	for _, s := range all {
		if m.checkLive(s, now) == nil {
			live = append(live, s)
		}
	}
	return live, nil
}

// Sweep deletes sessions that have expired. Correctness never depends on it: expiry is
// enforced by Validate; this only keeps the table small.
func (m *Manager) Sweep(ctx context.Context) (int, error) {
	now := m.now()
	return m.store.DeleteExpiredSessions(ctx, now, now.Add(-m.cfg.IdleTimeout))
}

// CountActive returns the number of live sessions.
func (m *Manager) CountActive(ctx context.Context) (int, error) {
	now := m.now()
	return m.store.CountActiveSessions(ctx, now, now.Add(-m.cfg.IdleTimeout))
}

// SweepRevocations deletes revocation entries whose credentials have all expired.
func (m *Manager) SweepRevocations(ctx context.Context) (int, error) {
	return m.store.DeleteExpiredRevocations(ctx, m.now())
}

// RevocationsAfter pages the live revocation log (the feed resource servers follow): entries
// after cursor in cursor order, at most limit. While FollowRevocations keeps up, a cursor
// within the recent tail is answered from memory, up to the last entry this instance has
// read (at most one follow interval behind the store, and never behind a revocation made
// here); any other cursor is read from the store.
func (m *Manager) RevocationsAfter(ctx context.Context, cursor int64, limit int) ([]Revocation, error) {
	now := m.now()
	if list, ok := m.feed.after(cursor, now, limit); ok {
		return list, nil
	}
	return m.store.RevocationsAfter(ctx, cursor, now, limit)
}
