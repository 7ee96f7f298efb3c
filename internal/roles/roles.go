// Package roles lets a deployment grant scopes to its own users. A role is a name with a set
// of scopes; an administrator assigns roles to users. A first-party sign-in with token
// delivery may ask for scopes, and its access token's scope claim carries those of them that
// the user's roles grant (Grant): never more, and an ungranted scope is left out rather than
// refused, as an OAuth authorization server narrows a request (RFC 6749 §3.3). See
// docs/roles.md.
package roles

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/accesskeys"
	"github.com/gatehouse-auth/gatehouse/internal/audit"
)

// Errors of the package.
var (
	ErrNotFound = errors.New("roles: no such role")
	ErrConflict = errors.New("roles: a role with this name exists")
	// ErrUnknownUser is returned by a Store's SetUserRoles for a user that does not exist.
	ErrUnknownUser = errors.New("roles: no such user")
)

// InputError is a request that cannot be carried out as given; its text is safe to show.
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

// Audit event types.
const (
	EventCreated      = "role.created"
	EventUpdated      = "role.updated"
	EventDeleted      = "role.deleted"
	EventUserAssigned = "user.roles_changed"
)

// Limits on what a role may hold.
const (
	MaxNameLen     = 64
	MaxRolesByUser = 50
	// MaxAsked bounds how many scopes a sign-in may ask for.
	MaxAsked = 50
)

// Role is a named set of scopes.
type Role struct {
	Name      string
	Scopes    []string // sorted, no duplicates
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Store keeps roles and their assignment to users; storetest.RunRoles is its conformance
// suite.
type Store interface {
	// CreateRole stores r; ErrConflict if the name is taken.
	CreateRole(ctx context.Context, r *Role) error
	// RoleByName returns a role or ErrNotFound.
	RoleByName(ctx context.Context, name string) (*Role, error)
	// ListRoles returns every role ordered by name.
	ListRoles(ctx context.Context) ([]*Role, error)
	// UpdateRole writes Scopes and UpdatedAt of the role r.Name; ErrNotFound if missing.
	UpdateRole(ctx context.Context, r *Role) error
	// DeleteRole removes a role and its assignments; ErrNotFound if missing.
	DeleteRole(ctx context.Context, name string) error
	// SetUserRoles replaces the roles of a user, atomically. A name that is not a role gives
	// ErrNotFound and a missing user ErrUnknownUser, changing nothing.
	SetUserRoles(ctx context.Context, userID string, names []string) error
	// UserRoles returns the names of the user's roles, sorted (none for an unknown user).
	UserRoles(ctx context.Context, userID string) ([]string, error)
	// UserRoleScopes returns the union of the scopes of the user's roles, sorted.
	UserRoleScopes(ctx context.Context, userID string) ([]string, error)
}

// Service manages roles for the admin API and computes the scopes a sign-in gets.
type Service struct {
	store Store
	audit *audit.Log
	now   func() time.Time
}

// New returns a Service. Changes are recorded in log.
func New(store Store, log *audit.Log, now func() time.Time) *Service {
	return &Service{store: store, audit: log, now: now}
}

// CheckName checks a role name: 1 to MaxNameLen characters of [A-Za-z0-9_.:-], not starting
// with a punctuation mark.
func CheckName(name string) error {
	if name == "" || len(name) > MaxNameLen {
		return &InputError{Msg: fmt.Sprintf("role names have 1 to %d characters", MaxNameLen)}
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || !strings.ContainsRune("_.:-", rune(c))) {
			return &InputError{Msg: fmt.Sprintf("role %q: only letters, digits and _ . : - (not first)", name)}
		}
	}
	return nil
}

func cleanScopes(scopes []string) ([]string, error) {
	out, err := accesskeys.CleanScopes(scopes)
	var ie *accesskeys.InputError
	if errors.As(err, &ie) {
		return nil, &InputError{Msg: ie.Msg}
	}
	return out, err
}

func (s *Service) record(ctx context.Context, typ, userID string) error {
	return s.audit.Record(ctx, audit.Event{Type: typ, UserID: userID, Actor: "admin", Outcome: audit.Success})
}

// Create makes a role.
func (s *Service) Create(ctx context.Context, name string, scopes []string) (*Role, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	sc, err := cleanScopes(scopes)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	r := &Role{Name: name, Scopes: sc, CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreateRole(ctx, r); err != nil {
		return nil, err
	}
	return r, s.record(ctx, EventCreated, "")
}

// Role returns one role.
func (s *Service) Role(ctx context.Context, name string) (*Role, error) {
	return s.store.RoleByName(ctx, name)
}

// List returns every role ordered by name.
func (s *Service) List(ctx context.Context) ([]*Role, error) { return s.store.ListRoles(ctx) }

// Update replaces a role's scopes. Sessions already holding tokens keep their scopes until
// their next refresh (docs/roles.md).
func (s *Service) Update(ctx context.Context, name string, scopes []string) (*Role, error) {
	sc, err := cleanScopes(scopes)
	if err != nil {
		return nil, err
	}
	r, err := s.store.RoleByName(ctx, name)
	if err != nil {
		return nil, err
	}
	r.Scopes, r.UpdatedAt = sc, s.now().UTC()
	if err := s.store.UpdateRole(ctx, r); err != nil {
		return nil, err
	}
	return r, s.record(ctx, EventUpdated, "")
}

// Delete removes a role and takes it from every user who had it.
func (s *Service) Delete(ctx context.Context, name string) error {
	if err := s.store.DeleteRole(ctx, name); err != nil {
		return err
	}
	return s.record(ctx, EventDeleted, "")
}

// SetUserRoles replaces a user's roles and returns them sorted.
func (s *Service) SetUserRoles(ctx context.Context, userID string, names []string) ([]string, error) {
	if len(names) > MaxRolesByUser {
		return nil, &InputError{Msg: fmt.Sprintf("at most %d roles", MaxRolesByUser)}
	}
	out := slices.Clone(names)
	for _, n := range out {
		if err := CheckName(n); err != nil {
			return nil, err
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if err := s.store.SetUserRoles(ctx, userID, out); err != nil {
		return nil, err
	}
	return out, s.record(ctx, EventUserAssigned, userID)
}

// UserRoles returns the names of a user's roles.
func (s *Service) UserRoles(ctx context.Context, userID string) ([]string, error) {
	return s.store.UserRoles(ctx, userID)
}

// ParseAsked splits a space-separated scope request (RFC 6749 §3.3) and checks its tokens.
// The empty string asks for nothing.
func ParseAsked(scope string) ([]string, error) {
	f := strings.Fields(scope)
	if len(f) > MaxAsked {
		return nil, &InputError{Msg: fmt.Sprintf("scope: at most %d scopes", MaxAsked)}
	}
	return cleanScopes(f)
}

// Grant returns the scopes of asked (a space-separated request) that the user's roles grant
// now, space-separated and sorted: the intersection, never more than asked. Nothing asked
// costs no store read.
func (s *Service) Grant(ctx context.Context, userID, asked string) (string, error) {
	if strings.TrimSpace(asked) == "" {
		return "", nil
	}
	want, err := ParseAsked(asked)
	if err != nil {
		return "", err
	}
	have, err := s.store.UserRoleScopes(ctx, userID)
	if err != nil {
		return "", err
	}
	var out []string
	for _, sc := range want {
		if _, ok := slices.BinarySearch(have, sc); ok {
			out = append(out, sc)
		}
	}
	return strings.Join(out, " "), nil
}
