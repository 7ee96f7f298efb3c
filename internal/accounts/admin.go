package accounts

import (
	"context"
	"errors"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

// NewUser is what an administrator supplies to create an account. Password may be empty: the
// account then cannot sign in with a password.
type NewUser struct {
	Email         string
	Password      string
	EmailVerified bool
}

// CreateUser creates an account on behalf of an administrator.
func (s *Service) CreateUser(ctx context.Context, nu NewUser, c Client) (*users.User, error) {
	email, err := users.NormalizeEmail(nu.Email)
	if err != nil {
		return nil, err
	}
	var hash string
	if nu.Password != "" {
		if err := s.policy.Check(nu.Password, email); err != nil {
			return nil, err
		}
		if hash, err = s.hasher.Hash(ctx, nu.Password); err != nil {
			return nil, err
		}
	}
	now := s.now()
	u := &users.User{ID: secret.NewID(), Email: email, EmailVerified: nu.EmailVerified, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	if err := s.users.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	return u, s.adminEvent(ctx, audit.AdminUserCreate, u.ID, "", c)
}

// UserPatch is a partial update; nil fields are left as they are.
type UserPatch struct {
	Email         *string
	Password      *string
	EmailVerified *bool
	Disabled      *bool
	// Metadata replaces the administrator's JSON object ("" clears it).
	Metadata *string
}

// UpdateUser applies p. Changing the password or disabling the account moves the user's
// CredentialEpoch, then ends every session of the user (the order startSession relies on).
func (s *Service) UpdateUser(ctx context.Context, id string, p UserPatch, c Client) (*users.User, error) {
	var email, hash string
	var err error
	if p.Email != nil {
		if email, err = users.NormalizeEmail(*p.Email); err != nil {
			return nil, err
		}
	}
	if p.Password != nil {
		// The policy refuses a password made of the address's words: the new address if the
		// patch changes it, else the current one.
		ctxEmail := email
		if ctxEmail == "" {
			cur, err := s.users.UserByID(ctx, id)
			if err != nil {
				return nil, err
			}
			ctxEmail = cur.Email
		}
		if err := s.policy.Check(*p.Password, ctxEmail); err != nil {
			return nil, err
		}
		if hash, err = s.hasher.Hash(ctx, *p.Password); err != nil {
			return nil, err
		}
	}
	// A concurrent credential change makes the write stale (users.ErrStale): apply the patch
	// again to the fresh copy, a few times at most.
	for attempt := 0; ; attempt++ {
		u, err := s.users.UserByID(ctx, id)
		if err != nil {
			return nil, err
		}
		revoke, reason := false, ""
		if p.Email != nil {
			u.Email = email
		}
		if p.Password != nil {
			u.PasswordHash = hash
			revoke, reason = true, "password_changed"
		}
		if p.EmailVerified != nil {
			u.EmailVerified = *p.EmailVerified
		}
		if p.Metadata != nil {
			u.Metadata = *p.Metadata
		}
		typ := audit.AdminUserUpdate
		if p.Disabled != nil && *p.Disabled != u.Disabled {
			u.Disabled = *p.Disabled
			typ = audit.AdminUserEnable
			if u.Disabled {
				typ, revoke, reason = audit.AdminUserDisable, true, "user_disabled"
			}
		}
		if revoke {
			u.CredentialEpoch++
		}
		u.UpdatedAt = s.now()
		s.userCache.Delete(u.ID)
		err = s.users.UpdateUser(ctx, u)
		if errors.Is(err, users.ErrStale) && attempt < 3 {
			continue
		}
		if err != nil {
			return nil, err
		}
		if revoke {
			if _, err := s.sessions.RevokeUser(ctx, u.ID, ""); err != nil {
				return nil, err
			}
		}
		return u, s.adminEvent(ctx, typ, u.ID, reason, c)
	}
}

// DeleteUser removes an account and, with it, every session. The user is first disabled
// with a new CredentialEpoch, so that a sign-in racing the delete either sees the change and
// ends its own session or stored it early enough for RevokeUser to end it (see
// startSession); then the sessions end with revocation entries, then the user goes. (The
// store's cascade would remove a session stored later without a revocation entry, leaving
// its access tokens alive.)
func (s *Service) DeleteUser(ctx context.Context, id string, c Client) error {
	for attempt := 0; ; attempt++ {
		u, err := s.users.UserByID(ctx, id)
		if err != nil {
			return err
		}
		u.CredentialEpoch++
		u.Disabled, u.UpdatedAt = true, s.now()
		s.userCache.Delete(id)
		err = s.users.UpdateUser(ctx, u)
		if errors.Is(err, users.ErrStale) && attempt < 3 {
			continue
		}
		if err != nil {
			return err
		}
		break
	}
	if _, err := s.sessions.RevokeUser(ctx, id, ""); err != nil {
		return err
	}
	s.userCache.Delete(id)
	if err := s.users.DeleteUser(ctx, id); err != nil {
		return err
	}
	return s.adminEvent(ctx, audit.AdminUserDelete, id, "", c)
}

// LogoutUser ends every session of a user and returns how many.
func (s *Service) LogoutUser(ctx context.Context, id string, c Client) (int, error) {
	if _, err := s.users.UserByID(ctx, id); err != nil {
		return 0, err
	}
	ids, err := s.sessions.RevokeUser(ctx, id, "")
	if err != nil {
		return 0, err
	}
	return len(ids), s.adminEvent(ctx, audit.AdminUserLogout, id, "", c)
}

func (s *Service) adminEvent(ctx context.Context, typ, userID, reason string, c Client) error {
	return s.audit.Record(ctx, audit.Event{Type: typ, UserID: userID, Actor: "admin", IP: c.IP, UserAgent: c.UserAgent, Outcome: audit.Success, Reason: reason})
}
