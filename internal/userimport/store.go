package userimport

import (
	"context"

	"github.com/gatehouse-auth/gatehouse/internal/mfa"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

// Status is the outcome of one import line (API: never rename one).
type Status string

// Statuses.
const (
	Created Status = "created" // a new user
	Updated Status = "updated" // upsert: an existing user (same email) was updated
	Exists  Status = "exists"  // create mode: a user with this email exists; left untouched
	Invalid Status = "invalid" // the line was refused; nothing of it was written
)

// Row is one valid line, ready for the store, with the outcome the store sets.
type Row struct {
	// User holds what to write: a fresh ID, the normalised Email, EmailVerified,
	// PasswordHash (as imported, or ""), Disabled, CreatedAt, UpdatedAt, Name and Metadata
	// (a compact JSON object, or "").
	User users.User
	// SetVerified, SetDisabled, SetPassword, SetName and SetMetadata say which fields the
	// line gave: an upsert changes only those on an existing user.
	SetVerified, SetDisabled, SetPassword, SetName, SetMetadata bool
	// TOTP, when the line gave a totp_secret, is the user's confirmed factor, its seed
	// sealed (UserID unset): written with a new user; with upsert, given to an existing user
	// who has no confirmed factor (a pending enrolment is replaced), else left out and
	// TOTPKept set.
	TOTP *mfa.Factor
	// Identities to link to the user (Issuer and Subject set).
	Identities []users.Identity

	// Set by Store.ImportUsers:
	Status Status
	ID     string // the user's id: new (Created) or existing (Updated, Exists)
	// Err says why a row is Invalid: users.ErrEmailConfusable (the address looks like
	// another account's) or users.ErrIdentityTaken.
	Err error
	// CredentialsChanged reports that an upsert replaced the password hash with another or
	// disabled the user: the store moved CredentialEpoch, and the importer ends the user's
	// sessions.
	CredentialsChanged bool
	// TOTPKept reports that an upsert left the existing user's confirmed factor in place of
	// the line's totp_secret.
	TOTPKept bool
}

// Store writes batches of imported users.
type Store interface {
	// ImportUsers writes rows in one transaction, in order, and sets each row's outcome. A
	// new email is inserted with its identities (Created). An existing email is Exists and
	// untouched, or with upsert Updated: the Set* fields replace the stored ones, the
	// identities are linked, the TOTP factor is written unless the user has a confirmed
	// one (TOTPKept), and CredentialEpoch moves by one when the password hash changes
	// or the user becomes disabled. A row whose address looks like another account's, or one
	// of whose identities belongs to another user, is Invalid and writes nothing. With
	// dryRun the transaction is rolled back after the outcomes are known, so they are exact
	// and nothing is written. Only a store failure returns an error (then nothing of the
	// batch was written).
	ImportUsers(ctx context.Context, rows []*Row, upsert, dryRun bool) error
}
