package sessions

import (
	"context"
	"slices"
)

// EndHook is told about sessions that were ended on purpose (Revoke, RevokeUser: logout,
// admin action, refresh-token reuse, password reset, a disabled or deleted user, ...) after
// they are gone. Sessions that merely expire are not reported. It runs in the request that
// ended them and must not wait on the network (OpenID Connect back-channel logout queues its
// notifications in the outbox). ctx may be cancelled soon after it returns.
type EndHook func(ctx context.Context, ended []*Session)

// WithEndHook installs h (once, at wiring time). Only sessions of registered clients
// (ClientID set) are loaded and reported, so first-party sign-ins cost nothing more.
func (m *Manager) WithEndHook(h EndHook) *Manager {
	m.endHook = h
	return m
}

// beforeRevoke loads the session about to be revoked, if the hook wants it.
func (m *Manager) beforeRevoke(ctx context.Context, id string) *Session {
	if m.endHook == nil {
		return nil
	}
	s, ok := m.cache.get(id, m.now())
	if !ok {
		var err error
		if s, err = m.store.SessionByID(ctx, id); err != nil {
			return nil
		}
	}
	if s.ClientID == "" {
		return nil
	}
	return s
}

// beforeRevokeUser lists the client sessions of userID about to be revoked.
func (m *Manager) beforeRevokeUser(ctx context.Context, userID string) []*Session {
	if m.endHook == nil {
		return nil
	}
	all, err := m.store.ListUserSessions(ctx, userID)
	if err != nil {
		return nil
	}
	return slices.DeleteFunc(all, func(s *Session) bool { return s.ClientID == "" })
}

// ended reports the sessions of before whose ids were removed.
func (m *Manager) ended(ctx context.Context, before []*Session, ids []string) {
	if m.endHook == nil || len(before) == 0 {
		return
	}
	gone := slices.DeleteFunc(before, func(s *Session) bool { return s == nil || !slices.Contains(ids, s.ID) })
	if len(gone) > 0 {
		m.endHook(ctx, gone)
	}
}
