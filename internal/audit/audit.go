// Package audit is the trail of security-relevant events: sign-ups, sign-ins and their
// failures, logouts, revocations, lockouts and admin actions. Events never carry a password,
// token or secret; they carry who, what, when, from where and why.
package audit

import (
	"context"
	"fmt"
	"time"
)

// Event types. They are API (admins filter on them): never rename one.
const (
	UserSignup       = "user.signup"
	LoginSucceeded   = "user.login"
	LoginFailed      = "user.login_failed"
	UserLocked       = "user.locked"
	Logout           = "user.logout"
	SessionRevoked   = "session.revoked"
	AdminUserCreate  = "admin.user.created"
	AdminUserUpdate  = "admin.user.updated"
	AdminUserDisable = "admin.user.disabled"
	AdminUserEnable  = "admin.user.enabled"
	AdminUserDelete  = "admin.user.deleted"
	AdminUserLogout  = "admin.user.logout"
	RefreshReused    = "refresh_token.reused"
	AdminKeysRotated = "admin.keys.rotated"
	// PasswordRehashed: a sign-in replaced the user's stored hash (an imported scheme, or
	// argon2id with weaker parameters) by a fresh argon2id hash; Reason names the old scheme.
	PasswordRehashed = "user.password_rehashed"
	// PasswordMigrated: the legacy password endpoint confirmed a password at sign-in and the
	// user got an argon2id hash; Reason is "created" (a new user) or "existing".
	PasswordMigrated = "user.password_migrated"
	// AdminUsersImported: a bulk import ran (HTTP or CLI); Reason says how it ended.
	AdminUsersImported = "admin.users.imported"
)

// Outcomes.
const (
	Success = "success"
	Failure = "failure"
)

// Event is one entry of the trail.
type Event struct {
	ID        int64
	Type      string
	Time      time.Time
	UserID    string
	SessionID string
	ClientID  string // the access key the event is about (its id, never the key)
	Actor     string // "user", "admin", "system"
	IP        string
	UserAgent string
	Outcome   string
	Reason    string // a stable code (e.g. "bad_password"), never user input or secrets
}

// Filter selects a page of events in id order.
type Filter struct {
	Type   string
	UserID string
	After  int64 // id of the last event of the previous page
	Limit  int
}

// Store keeps events.
type Store interface {
	AppendEvent(ctx context.Context, e *Event) error
	ListEvents(ctx context.Context, f Filter) ([]*Event, error)
}

// Log records events with the current time.
type Log struct {
	store Store
	now   func() time.Time
}

// NewLog returns a Log writing to store.
func NewLog(store Store, now func() time.Time) *Log {
	return &Log{store: store, now: now}
}

// Record writes e, stamping its time. A failure is returned: an action whose event cannot be
// written does not happen silently.
func (l *Log) Record(ctx context.Context, e Event) error {
	e.Time = l.now()
	if err := l.store.AppendEvent(ctx, &e); err != nil {
		return fmt.Errorf("audit %s: %w", e.Type, err)
	}
	return nil
}

// List returns events matching f.
func (l *Log) List(ctx context.Context, f Filter) ([]*Event, error) {
	return l.store.ListEvents(ctx, f)
}
