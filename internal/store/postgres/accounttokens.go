package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
)

var _ accounts.TokenStore = (*DB)(nil)

const tokenColumns = "id, user_id, purpose, email, secret_hash, code_hash, attempts, created_at, expires_at"

func scanToken(r pgx.Row) (*accounts.Token, error) {
	var t accounts.Token
	err := r.Scan(&t.ID, &t.UserID, &t.Purpose, &t.Email, &t.SecretHash, &t.CodeHash, &t.Attempts, &t.CreatedAt, &t.ExpiresAt)
	if noRows(err) {
		return nil, accounts.ErrTokenNotFound
	}
	if err != nil {
		return nil, unavailable(err)
	}
	t.CreatedAt, t.ExpiresAt = t.CreatedAt.UTC(), t.ExpiresAt.UTC()
	return &t, nil
}

// PutAccountToken implements accounts.TokenStore: one upsert on (user_id, purpose)
// replaces the previous token of that user and purpose.
func (db *DB) PutAccountToken(ctx context.Context, t *accounts.Token) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO account_tokens (`+tokenColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (user_id, purpose) DO UPDATE SET id = EXCLUDED.id, email = EXCLUDED.email, secret_hash = EXCLUDED.secret_hash,
		code_hash = EXCLUDED.code_hash, attempts = EXCLUDED.attempts, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at`,
		t.ID, t.UserID, t.Purpose, t.Email, t.SecretHash, t.CodeHash, t.Attempts, t.CreatedAt, t.ExpiresAt)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23503" { // foreign_key_violation: the user is gone
		return accounts.ErrTokenNotFound
	}
	return unavailable(err)
}

// AccountToken implements accounts.TokenStore.
func (db *DB) AccountToken(ctx context.Context, id string, now time.Time) (*accounts.Token, error) {
	return scanToken(db.pool.QueryRow(ctx, "SELECT "+tokenColumns+" FROM account_tokens WHERE id = $1 AND expires_at > $2", id, now))
}

// AccountTokenFor implements accounts.TokenStore.
func (db *DB) AccountTokenFor(ctx context.Context, userID, purpose string, now time.Time) (*accounts.Token, error) {
	return scanToken(db.pool.QueryRow(ctx, "SELECT "+tokenColumns+" FROM account_tokens WHERE user_id = $1 AND purpose = $2 AND expires_at > $3",
		userID, purpose, now))
}

// CountTokenAttempt implements accounts.TokenStore (the row lock serialises attempts).
func (db *DB) CountTokenAttempt(ctx context.Context, id string, limit int, now time.Time) (int, error) {
	var n int
	err := db.pool.QueryRow(ctx, "UPDATE account_tokens SET attempts = attempts + 1 WHERE id = $1 AND attempts < $2 AND expires_at > $3 RETURNING attempts",
		id, limit, now).Scan(&n)
	if noRows(err) {
		return 0, accounts.ErrTokenNotFound
	}
	return n, unavailable(err)
}

// ConsumeAccountToken implements accounts.TokenStore: one DELETE … RETURNING.
func (db *DB) ConsumeAccountToken(ctx context.Context, id string, now time.Time) (*accounts.Token, error) {
	return scanToken(db.pool.QueryRow(ctx, "DELETE FROM account_tokens WHERE id = $1 AND expires_at > $2 RETURNING "+tokenColumns, id, now))
}

// DeleteAccountTokens implements accounts.TokenStore.
func (db *DB) DeleteAccountTokens(ctx context.Context, userID, purpose string) error {
	var err error
	if purpose == "" {
		_, err = db.pool.Exec(ctx, "DELETE FROM account_tokens WHERE user_id = $1", userID)
	} else {
		_, err = db.pool.Exec(ctx, "DELETE FROM account_tokens WHERE user_id = $1 AND purpose = $2", userID, purpose)
	}
	return unavailable(err)
}
