package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
)

var _ accounts.TokenStore = (*DB)(nil)

const tokenColumns = "id, user_id, purpose, email, secret_hash, code_hash, attempts, created_at, expires_at"

func scanToken(r interface{ Scan(...any) error }) (*accounts.Token, error) {
	var t accounts.Token
	var created, expires int64
	err := r.Scan(&t.ID, &t.UserID, &t.Purpose, &t.Email, &t.SecretHash, &t.CodeHash, &t.Attempts, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, accounts.ErrTokenNotFound
	}
	if err != nil {
		return nil, unavailable(err)
	}
	t.CreatedAt, t.ExpiresAt = fromDB(created), fromDB(expires)
	return &t, nil
}

// PutAccountToken implements accounts.TokenStore: one upsert on (user_id, purpose)
// replaces the previous token of that user and purpose.
func (db *DB) PutAccountToken(ctx context.Context, t *accounts.Token) error {
	_, err := db.exec(ctx, `INSERT INTO account_tokens (`+tokenColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (user_id, purpose) DO UPDATE SET id = excluded.id, email = excluded.email, secret_hash = excluded.secret_hash,
		code_hash = excluded.code_hash, attempts = excluded.attempts, created_at = excluded.created_at, expires_at = excluded.expires_at`,
		t.ID, t.UserID, t.Purpose, t.Email, t.SecretHash, t.CodeHash, t.Attempts, toDB(t.CreatedAt), toDB(t.ExpiresAt))
	if isForeignKey(err) {
		return accounts.ErrTokenNotFound
	}
	return unavailable(err)
}

// AccountToken implements accounts.TokenStore.
func (db *DB) AccountToken(ctx context.Context, id string, now time.Time) (*accounts.Token, error) {
	return scanToken(db.queryRow(ctx, false, "SELECT "+tokenColumns+" FROM account_tokens WHERE id = ? AND expires_at > ?", id, toDB(now)))
}

// AccountTokenFor implements accounts.TokenStore.
func (db *DB) AccountTokenFor(ctx context.Context, userID, purpose string, now time.Time) (*accounts.Token, error) {
	return scanToken(db.queryRow(ctx, false, "SELECT "+tokenColumns+" FROM account_tokens WHERE user_id = ? AND purpose = ? AND expires_at > ?",
		userID, purpose, toDB(now)))
}

// CountTokenAttempt implements accounts.TokenStore.
func (db *DB) CountTokenAttempt(ctx context.Context, id string, limit int, now time.Time) (int, error) {
	var n int
	err := db.queryRow(ctx, true, "UPDATE account_tokens SET attempts = attempts + 1 WHERE id = ? AND attempts < ? AND expires_at > ? RETURNING attempts",
		id, limit, toDB(now)).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, accounts.ErrTokenNotFound
	}
	return n, unavailable(err)
}

// ConsumeAccountToken implements accounts.TokenStore: one DELETE … RETURNING.
func (db *DB) ConsumeAccountToken(ctx context.Context, id string, now time.Time) (*accounts.Token, error) {
	return scanToken(db.queryRow(ctx, true, "DELETE FROM account_tokens WHERE id = ? AND expires_at > ? RETURNING "+tokenColumns, id, toDB(now)))
}

// DeleteAccountTokens implements accounts.TokenStore.
func (db *DB) DeleteAccountTokens(ctx context.Context, userID, purpose string) error {
	var err error
	if purpose == "" {
		_, err = db.exec(ctx, "DELETE FROM account_tokens WHERE user_id = ?", userID)
	} else {
		_, err = db.exec(ctx, "DELETE FROM account_tokens WHERE user_id = ? AND purpose = ?", userID, purpose)
	}
	return unavailable(err)
}

func isForeignKey(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}
