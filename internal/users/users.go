// Package users is the user account: its record, the rules for emails, and the store methods
// the rest of Gatehouse needs to keep accounts.
package users

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Errors a Store returns for domain outcomes; everything else is a store failure.
var (
	ErrNotFound   = errors.New("user not found")
	ErrEmailTaken = errors.New("email already registered")
	// ErrStale is returned by UpdateUser for a write that would move CredentialEpoch back:
	// the user's credentials changed since the caller read it.
	ErrStale = errors.New("user changed meanwhile")
)

// ErrInvalidEmail is returned by NormalizeEmail for an address Gatehouse does not accept.
var ErrInvalidEmail = errors.New("invalid email address")

// ErrEmailInvisible is returned by NormalizeEmail for an address that contains an invisible
// character (a control, format or default-ignorable code point such as a zero-width space or
// joiner, a soft hyphen or a variation selector), a direction control (Bidi_Control) or white
// space. It is an ErrInvalidEmail, so the API answers it as one (400 invalid_email).
var ErrEmailInvisible = fmt.Errorf("%w: it contains an invisible or text-direction character", ErrInvalidEmail)

// ErrEmailConfusable is returned by a Store when a new or changed address has the same
// confusable skeleton (see EmailSkeleton) as another account's, such as "paypal@example.com"
// and "pаypal@example.com" with a Cyrillic а. It is an ErrEmailTaken, so the API answers it as
// one (409 email_taken): telling the two apart would say no more than email_taken already does.
var ErrEmailConfusable = fmt.Errorf("%w: it looks like the address of another account", ErrEmailTaken)

// User is an account. PasswordHash is a PHC string (or empty for accounts without a password)
// and never leaves the server.
type User struct {
	ID            string
	Email         string
	EmailVerified bool
	PasswordHash  string
	Disabled      bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
	// CredentialEpoch counts the changes that must end every sign-in made before them: a new
	// password, disabling, deletion (and second-factor changes). A sign-in checks the
	// password of one epoch and keeps its new session only if the epoch is unchanged once the
	// session is stored (see accounts).
	CredentialEpoch int64
	// Profile, set by the user (PATCH /v1/me): a display name, a BCP 47 language tag and the
	// URL of a picture. Empty when not set.
	Name    string
	Locale  string
	Picture string
	// Metadata is a JSON object set by administrators only ("" when none); the user sees it
	// but cannot change it.
	Metadata string
}

// ListFilter selects a page of users ordered by id. Email, when set, matches exactly after
// normalisation; EmailPrefix matches the start of the normalised address.
type ListFilter struct {
	Email       string
	EmailPrefix string
	After       string // id of the last user of the previous page
	Limit       int
}

// Store keeps users. Implementations return ErrNotFound and ErrEmailTaken for those outcomes,
// and keep EmailSkeleton(Email) in a unique index so that CreateUser and UpdateUser refuse an
// address that looks like another account's with ErrEmailConfusable. Rows without a skeleton
// (written before the index existed, or a look-alike pair that already existed) are given one
// when the store migrates, where it does not clash.
type Store interface {
	CreateUser(ctx context.Context, u *User) error
	UserByID(ctx context.Context, id string) (*User, error)
	UserByEmail(ctx context.Context, email string) (*User, error)
	// UpdateUser writes every field of u. It never moves CredentialEpoch back: when the
	// stored epoch is above u.CredentialEpoch it writes nothing and returns ErrStale, so a
	// write computed from a copy read before a credential change (a password rehash) cannot
	// undo that change.
	UpdateUser(ctx context.Context, u *User) error
	DeleteUser(ctx context.Context, id string) error
	ListUsers(ctx context.Context, f ListFilter) ([]*User, error)
}
