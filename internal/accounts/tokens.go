package accounts

import (
	"context"
	"errors"
	"time"
)

// Token purposes. One live token per user and purpose: issuing a new one replaces the last.
const (
	PurposeVerifyEmail   = "verify_email"   // link + code to the address being verified (24 h)
	PurposePasswordReset = "password_reset" // link (30 min)
	PurposeEmailChange   = "email_change"   // link + code to the new address (24 h)
	PurposeEmailUndo     = "email_undo"     // link to the old address, undoing a change (72 h)
	PurposeLoginCode     = "login_code"     // code (+ link) for an email sign-in (10 min)
)

// ErrTokenNotFound is returned by a TokenStore for a token that does not exist, expired, was
// used, or (for CountTokenAttempt) has no attempt left.
var ErrTokenNotFound = errors.New("token not found")

// Token is the stored half of a single-use email token. The client holds "<id>.<secret>"
// (a link) or a 6-digit code; only SHA-256 of the secret and an HMAC of the code (keyed with
// a key derived from the key-encryption key, so that a copy of the database cannot brute
// force the million codes) are stored.
type Token struct {
	ID         string
	UserID     string
	Purpose    string
	Email      string // the address it was sent to, or (undo) the address to restore
	SecretHash []byte
	CodeHash   []byte // nil: no code
	Attempts   int    // wrong codes tried so far
	CreatedAt  time.Time
	ExpiresAt  time.Time
}

// TokenStore keeps email tokens; storetest.RunAccountTokens is its conformance suite.
type TokenStore interface {
	// PutAccountToken stores t, replacing the token of the same user and purpose if any.
	PutAccountToken(ctx context.Context, t *Token) error
	// AccountToken returns the token id if it has not expired at now.
	AccountToken(ctx context.Context, id string, now time.Time) (*Token, error)
	// AccountTokenFor returns the user's token for purpose if it has not expired at now.
	AccountTokenFor(ctx context.Context, userID, purpose string, now time.Time) (*Token, error)
	// CountTokenAttempt atomically counts one code attempt against token id if it has fewer
	// than max attempts and has not expired, returning the new count; ErrTokenNotFound
	// otherwise. Of concurrent attempts, at most max are ever counted.
	CountTokenAttempt(ctx context.Context, id string, max int, now time.Time) (int, error)
	// ConsumeAccountToken deletes token id and returns it, atomically: of concurrent
	// consumers exactly one gets it. ErrTokenNotFound when missing or expired at now.
	ConsumeAccountToken(ctx context.Context, id string, now time.Time) (*Token, error)
	// DeleteAccountTokens deletes the user's tokens of purpose, or all of them when
	// purpose is "".
	DeleteAccountTokens(ctx context.Context, userID, purpose string) error
}
