package accounts

import (
	"context"
	"errors"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

// LegacyPasswords asks the system users are migrating from whether a password is right, for
// lazy password migration (docs/migration.md): userimport.PasswordEndpoint in production.
// err reports that no answer could be had (endpoint down, timeout, a malformed answer); the
// sign-in then fails exactly as with a wrong password.
type LegacyPasswords interface {
	CheckPassword(ctx context.Context, email, password string) (ok, emailVerified bool, err error)
}

// WithLegacyPasswords turns on lazy password migration: a sign-in for an unknown email, or for
// an enabled user without a password hash (imported without one), asks l, and a confirmed
// password becomes the user's argon2id hash, so l is never asked about that user again.
func (s *Service) WithLegacyPasswords(l LegacyPasswords) { s.legacy = l }

// lazyMigrate asks the legacy system about email and pw, for a sign-in that already spent its
// dummy hash (so the failure answer costs what a wrong password costs, plus the endpoint's
// round trip). u is the user as read (nil when unknown). It returns the user to sign in and
// whether the password was confirmed; err is only for a failure to store the result that
// must not look like a wrong password (hashing saturated, store down).
func (s *Service) lazyMigrate(ctx context.Context, u *users.User, email, pw string, c Client) (*users.User, bool, error) {
	ok, verified, err := s.legacy.CheckPassword(ctx, email, pw)
	if err != nil {
		s.log.WarnContext(ctx, "legacy password endpoint gave no answer; sign-in refused as a wrong password", "err", err)
		return u, false, nil
	}
	if !ok {
		return u, false, nil
	}
	hash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return u, false, err
	}
	now := s.now()
	reason := "existing"
	var nu users.User
	if u == nil {
		reason = "created"
		nu = users.User{ID: secret.NewID(), Email: email, EmailVerified: verified, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
		err = s.users.CreateUser(ctx, &nu)
	} else {
		nu = *u
		nu.PasswordHash, nu.UpdatedAt = hash, now
		nu.EmailVerified = nu.EmailVerified || verified
		s.userCache.Delete(u.ID)
		err = s.users.UpdateUser(ctx, &nu)
	}
	switch {
	case errors.Is(err, users.ErrEmailTaken), errors.Is(err, users.ErrStale), errors.Is(err, users.ErrNotFound):
		// A concurrent sign-in or an administrator got there first (or the address looks
		// like another account's): refuse this attempt; the next one sees the new state.
		s.log.WarnContext(ctx, "lazy password migration lost a race; sign-in refused", "err", err)
		return u, false, nil
	case err != nil:
		return u, false, err
	}
	if err := s.audit.Record(ctx, audit.Event{Type: audit.PasswordMigrated, UserID: nu.ID, Actor: "user", IP: c.IP, UserAgent: c.UserAgent,
		Outcome: audit.Success, Reason: reason}); err != nil {
		return u, false, err
	}
	return &nu, true, nil
}
