// Package users is the user account: its record, the rules for emails, and the store methods
// the rest of Gatehouse needs to keep accounts.
package users

import (
	"context"
	"errors"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
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
}

// ListFilter selects a page of users ordered by id. Email, when set, matches exactly after
// normalisation; EmailPrefix matches the start of the normalised address.
type ListFilter struct {
	Email       string
	EmailPrefix string
	After       string // id of the last user of the previous page
	Limit       int
}

// Store keeps users. Implementations return ErrNotFound and ErrEmailTaken for those outcomes.
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

// MaxEmailLen is the longest address accepted (RFC 5321 §4.5.3.1.3 path limit).
const MaxEmailLen = 254

// NormalizeEmail validates an address and returns its canonical form: surrounding space
// removed and lower-cased. Lower-casing the local part is technically wrong per RFC 5321 but
// matches what every mail provider does and prevents two accounts for one mailbox. Display
// names, comments, quoted local parts and addresses without a dot in the domain are refused.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > MaxEmailLen || !utf8.ValidString(s) {
		return "", ErrInvalidEmail
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", ErrInvalidEmail
	}
	at := strings.LastIndexByte(s, '@')
	local, domain := s[:at], s[at+1:]
	if local == "" || strings.HasPrefix(local, `"`) || !strings.Contains(domain, ".") ||
		strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return "", ErrInvalidEmail
	}
	for _, r := range s {
		if r < 0x21 || r == 0x7f {
			return "", ErrInvalidEmail
		}
	}
	return strings.ToLower(s), nil
}
