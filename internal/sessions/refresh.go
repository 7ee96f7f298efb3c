package sessions

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/secret"
)

// ErrRefreshReused is returned (wrapping ErrInvalid) when a refresh token older than the
// grace rules allow is presented: the session has been revoked because of it, and the caller
// must record an audit event refresh_token.reused.
var ErrRefreshReused = fmt.Errorf("%w: refresh token reused", ErrInvalid)

// RefreshTokenPrefix starts every refresh token, so that it is recognisable (by us, by
// introspection, by secret scanners) and never mistaken for a session token or a JWT.
const RefreshTokenPrefix = "ghr_"

// RefreshToken is an opaque refresh token "ghr_<session id>.<generation>.<mac>". It redacts
// itself when printed or logged.
type RefreshToken = secret.Redacted

// DefaultRefreshGrace is how long after a rotation the previous token still yields the same
// successor (docs/architecture.md: several tabs, a lost response).
const DefaultRefreshGrace = 30 * time.Second

// WithRefresh configures refresh tokens: key is the server secret that makes them unforgeable
// (derived from the key-encryption key, never stored in the database) and grace the
// idempotency window. Without it, sessions carry no refresh token.
func (m *Manager) WithRefresh(key []byte, grace time.Duration) *Manager {
	if grace <= 0 {
		grace = DefaultRefreshGrace
	}
	m.refreshKey, m.refreshGrace = key, grace
	return m
}

// RefreshGrace returns the configured grace interval.
func (m *Manager) RefreshGrace() time.Duration { return m.refreshGrace }

// newRefreshState is the state of a session created with a refresh token.
func (m *Manager) newRefreshState(now time.Time) RefreshState {
	salt := make([]byte, 16)
	rand.Read(salt)
	return RefreshState{Gen: 1, RotatedAt: now, Salt: salt}
}

// refreshMAC binds session id, generation and the session's salt under the server key. The
// token is therefore deterministic for (session, generation): the grace rule can hand out the
// same successor again without storing it.
func (m *Manager) refreshMAC(id string, gen int64, salt []byte) []byte {
	h := hmac.New(sha256.New, m.refreshKey)
	h.Write([]byte("gatehouse refresh v1\x00"))
	h.Write([]byte(id))
	h.Write([]byte{0})
	h.Write([]byte(strconv.FormatInt(gen, 10)))
	h.Write([]byte{0})
	h.Write(salt)
	return h.Sum(nil)
}

func (m *Manager) refreshToken(id string, st RefreshState) RefreshToken {
	return RefreshToken(RefreshTokenPrefix + id + "." + strconv.FormatInt(st.Gen, 10) + "." +
		base64.RawURLEncoding.EncodeToString(m.refreshMAC(id, st.Gen, st.Salt)))
}

// MaxRefreshTokenLen bounds what ParseRefreshToken looks at.
const MaxRefreshTokenLen = len(RefreshTokenPrefix) + secret.IDLen + 1 + 19 + 1 + 43

// ParseRefreshToken splits a refresh token, checking its exact shape.
func ParseRefreshToken(tok string) (id string, gen int64, mac []byte, ok bool) {
	if len(tok) > MaxRefreshTokenLen {
		return "", 0, nil, false
	}
	rest, found := strings.CutPrefix(tok, RefreshTokenPrefix)
	if !found {
		return "", 0, nil, false
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 3 || !secret.ValidID(parts[0]) || parts[1] == "" || parts[1][0] == '0' || len(parts[2]) != 43 {
		return "", 0, nil, false
	}
	for _, c := range parts[1] {
		if c < '0' || c > '9' {
			return "", 0, nil, false
		}
	}
	gen, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return "", 0, nil, false
	}
	mac, err = base64.RawURLEncoding.Strict().DecodeString(parts[2])
	if err != nil {
		return "", 0, nil, false
	}
	return parts[0], gen, mac, true
}

// CreateWithRefresh starts a session that also has a refresh token (token delivery).
func (m *Manager) CreateWithRefresh(ctx context.Context, userID string, meta Meta) (*Session, Token, RefreshToken, error) {
	if m.refreshKey == nil {
		return nil, "", "", errors.New("sessions: refresh tokens are not configured")
	}
	meta.withRefresh = true
	s, tok, err := m.Create(ctx, userID, meta)
	if err != nil {
		return nil, "", "", err
	}
	return s, tok, m.refreshToken(s.ID, s.Refresh), nil
}

// RefreshOutcome says how a refresh was answered.
type RefreshOutcome int

// Outcomes of Refresh.
const (
	Rotated  RefreshOutcome = iota + 1 // the presented token was current: a new generation
	Replayed                           // the previous generation within grace: the same successor again
)

// Refresh checks a refresh token and rotates it (docs/architecture.md "Refresh rotation"):
//   - generation == current: advance to current+1 and return its token;
//   - generation == current-1 within the grace interval after that rotation: return the token
//     of current again (idempotent; never a second branch);
//   - anything else: reuse. The whole session is revoked and ErrRefreshReused returned.
//
// Forged, malformed and unknown tokens, and expired sessions, return ErrInvalid without
// touching any session. The access tokens issued before a refresh stay valid.
func (m *Manager) Refresh(ctx context.Context, tok string) (*Session, RefreshToken, RefreshOutcome, error) {
	if m.refreshKey == nil {
		return nil, "", 0, fmt.Errorf("%w: refresh tokens are not configured", ErrInvalid)
	}
	id, gen, mac, ok := ParseRefreshToken(tok)
	if !ok {
		return nil, "", 0, fmt.Errorf("%w: malformed refresh token", ErrInvalid)
	}
	now := m.now()
	// The session may come from the cache: its id, salt and limits never change, and the
	// generation is re-checked atomically by AdvanceRefresh. Only a verdict against the token
	// (expired, reuse) is confirmed on the stored row first, since the cached generation and
	// last use may be behind another instance's.
	s, fresh := m.cache.get(id, now)
	fresh = !fresh
	if fresh {
		var err error
		if s, err = m.load(ctx, id); err != nil {
			return nil, "", 0, err
		}
	}
	if s.Refresh.Gen == 0 || !hmac.Equal(mac, m.refreshMAC(id, gen, s.Refresh.Salt)) {
		return nil, "", 0, fmt.Errorf("%w: refresh token signature mismatch", ErrInvalid)
	}
	for {
		if err := m.checkLive(s, now); err != nil {
			if fresh {
				return nil, "", 0, err
			}
		} else {
			st, stored := s.Refresh, fresh
			if gen == st.Gen {
				next, advanced, err := m.store.AdvanceRefresh(ctx, id, gen, now)
				if errors.Is(err, ErrNotFound) {
					m.cache.evict(id)
					return nil, "", 0, fmt.Errorf("%w: revoked", ErrInvalid)
				}
				if err != nil {
					return nil, "", 0, err
				}
				if advanced {
					cp := *s
					cp.Refresh, cp.LastSeenAt = next, now
					m.cache.put(&cp, now)
					return &cp, m.refreshToken(id, next), Rotated, nil
				}
				st, stored = next, true // somebody rotated concurrently: judge against the new state
			}
			if gen == st.Gen-1 && now.Before(st.RotatedAt.Add(m.refreshGrace)) {
				cp := *s
				cp.Refresh = st
				return &cp, m.refreshToken(id, st), Replayed, nil
			}
			if stored {
				break // judged on the store's state: reuse
			}
		}
		// A verdict against the token from cached data: confirm it on the stored row.
		var err error
		if s, err = m.load(ctx, id); err != nil {
			return nil, "", 0, err
		}
		fresh = true
	}
	if err := m.Revoke(ctx, id); err != nil && !errors.Is(err, ErrNotFound) {
		return nil, "", 0, err
	}
	return s, "", 0, ErrRefreshReused
}

// PeekRefresh returns the session of a refresh token that would be accepted now (current
// generation, or the previous one within grace), without rotating it: for introspection and
// RFC 7009 revocation. Everything else is ErrInvalid; nothing is revoked.
func (m *Manager) PeekRefresh(ctx context.Context, tok string) (*Session, error) {
	if m.refreshKey == nil {
		return nil, fmt.Errorf("%w: refresh tokens are not configured", ErrInvalid)
	}
	id, gen, mac, ok := ParseRefreshToken(tok)
	if !ok {
		return nil, fmt.Errorf("%w: malformed refresh token", ErrInvalid)
	}
	s, err := m.store.SessionByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: unknown session", ErrInvalid)
	}
	if err != nil {
		return nil, err
	}
	if s.Refresh.Gen == 0 || !hmac.Equal(mac, m.refreshMAC(id, gen, s.Refresh.Salt)) {
		return nil, fmt.Errorf("%w: refresh token signature mismatch", ErrInvalid)
	}
	now := m.now()
	if err := m.checkLive(s, now); err != nil {
		return nil, err
	}
	st := s.Refresh
	if gen == st.Gen || (gen == st.Gen-1 && now.Before(st.RotatedAt.Add(m.refreshGrace))) {
		return s, nil
	}
	return nil, fmt.Errorf("%w: superseded refresh token", ErrInvalid)
}
