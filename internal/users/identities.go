package users

import (
	"context"
	"errors"
	"time"
)

// Identity links an account at an external issuer (the identity provider users migrate from,
// see docs/migration.md) to a Gatehouse user: the issuer's `iss` and the account's `sub`.
// An issuer and subject name at most one user; a user may have several identities.
type Identity struct {
	Issuer    string
	Subject   string
	UserID    string
	CreatedAt time.Time
}

// ErrIdentityTaken is returned when an issuer and subject are already linked to another user.
var ErrIdentityTaken = errors.New("identity already linked to another user")

// Limits of an identity's parts, checked by the importer and the token exchange before a
// store sees them.
const (
	MaxIssuerLen  = 2048
	MaxSubjectLen = 1024
)

// IdentityStore keeps the links between external identities and users. Links go with their
// user (deleting a user deletes its identities).
type IdentityStore interface {
	// LinkIdentity links id.Issuer and id.Subject to id.UserID. Linking them again to the
	// same user succeeds and changes nothing; to another user is ErrIdentityTaken; a user
	// that does not exist is ErrNotFound.
	LinkIdentity(ctx context.Context, id Identity) error
	// UserByIdentity returns the user linked to issuer and subject, or ErrNotFound.
	UserByIdentity(ctx context.Context, issuer, subject string) (*User, error)
}
