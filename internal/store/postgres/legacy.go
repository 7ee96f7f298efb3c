package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-auth/gatehouse/internal/legacy"
	"github.com/gatehouse-auth/gatehouse/jws"
)

var _ legacy.Store = (*DB)(nil)

const legacyIssuerColumns = "id, issuer, jwks_uri, audiences, token_types, algorithms, match, create_users, claim_email, claim_email_verified, claim_name, accept_until, created_at, updated_at"

func scanLegacyIssuer(row pgx.Row) (*legacy.Issuer, error) {
	var is legacy.Issuer
	var algs []string
	var until *time.Time
	if err := row.Scan(&is.ID, &is.Issuer, &is.JWKSURI, &is.Audiences, &is.TokenTypes, &algs, &is.Match, &is.CreateUsers,
		&is.Claims.Email, &is.Claims.EmailVerified, &is.Claims.Name, &until, &is.CreatedAt, &is.UpdatedAt); err != nil {
		return nil, err
	}
	for _, a := range algs {
		is.Algorithms = append(is.Algorithms, jws.Algorithm(a))
	}
	is.AcceptUntil = fromNull(until)
	is.CreatedAt, is.UpdatedAt = is.CreatedAt.UTC(), is.UpdatedAt.UTC()
	return &is, nil
}

func algStrings(algs []jws.Algorithm) []string {
	out := make([]string, len(algs))
	for i, a := range algs {
		out[i] = string(a)
	}
	return out
}

// CreateLegacyIssuer implements legacy.Store.
func (db *DB) CreateLegacyIssuer(ctx context.Context, is *legacy.Issuer) error {
	_, err := db.pool.Exec(ctx, "INSERT INTO legacy_issuers ("+legacyIssuerColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
		is.ID, is.Issuer, is.JWKSURI, scopesArray(is.Audiences), scopesArray(is.TokenTypes), algStrings(is.Algorithms), scopesArray(is.Match),
		is.CreateUsers, is.Claims.Email, is.Claims.EmailVerified, is.Claims.Name, nullTime(is.AcceptUntil), is.CreatedAt, is.UpdatedAt)
	if isUnique(err) {
		return legacy.ErrConflict
	}
	return unavailable(err)
}

func (db *DB) legacyIssuerWhere(ctx context.Context, where string, arg any) (*legacy.Issuer, error) {
	is, err := scanLegacyIssuer(db.pool.QueryRow(ctx, "SELECT "+legacyIssuerColumns+" FROM legacy_issuers WHERE "+where, arg))
	if noRows(err) {
		return nil, legacy.ErrNotFound
	}
	return is, unavailable(err)
}

// LegacyIssuerByID implements legacy.Store.
func (db *DB) LegacyIssuerByID(ctx context.Context, id string) (*legacy.Issuer, error) {
	return db.legacyIssuerWhere(ctx, "id = $1", id)
}

// LegacyIssuerByIssuer implements legacy.Store.
func (db *DB) LegacyIssuerByIssuer(ctx context.Context, issuer string) (*legacy.Issuer, error) {
	return db.legacyIssuerWhere(ctx, "issuer = $1", issuer)
}

// ListLegacyIssuers implements legacy.Store.
func (db *DB) ListLegacyIssuers(ctx context.Context) ([]*legacy.Issuer, error) {
	rows, err := db.pool.Query(ctx, "SELECT "+legacyIssuerColumns+" FROM legacy_issuers ORDER BY issuer")
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	var out []*legacy.Issuer
	for rows.Next() {
		is, err := scanLegacyIssuer(rows)
		if err != nil {
			return nil, unavailable(err)
		}
		out = append(out, is)
	}
	return out, unavailable(rows.Err())
}

// UpdateLegacyIssuer implements legacy.Store.
func (db *DB) UpdateLegacyIssuer(ctx context.Context, is *legacy.Issuer) error {
	tag, err := db.pool.Exec(ctx, `UPDATE legacy_issuers SET issuer = $1, jwks_uri = $2, audiences = $3, token_types = $4, algorithms = $5, match = $6,
		create_users = $7, claim_email = $8, claim_email_verified = $9, claim_name = $10, accept_until = $11, updated_at = $12 WHERE id = $13`,
		is.Issuer, is.JWKSURI, scopesArray(is.Audiences), scopesArray(is.TokenTypes), algStrings(is.Algorithms), scopesArray(is.Match),
		is.CreateUsers, is.Claims.Email, is.Claims.EmailVerified, is.Claims.Name, nullTime(is.AcceptUntil), is.UpdatedAt, is.ID)
	if isUnique(err) {
		return legacy.ErrConflict
	}
	return affected(tag, err, legacy.ErrNotFound)
}

// DeleteLegacyIssuer implements legacy.Store.
func (db *DB) DeleteLegacyIssuer(ctx context.Context, id string) error {
	tag, err := db.pool.Exec(ctx, "DELETE FROM legacy_issuers WHERE id = $1", id)
	return affected(tag, err, legacy.ErrNotFound)
}

// MarkLegacyToken implements legacy.Store: one upsert that only replaces an expired mark; the
// row lock it takes makes exactly one of concurrent marks of a key change a row.
func (db *DB) MarkLegacyToken(ctx context.Context, key string, expires, now time.Time) (bool, error) {
	tag, err := db.pool.Exec(ctx, `INSERT INTO legacy_token_marks (key, expires_at) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE legacy_token_marks.expires_at <= $3`,
		key, expires, now)
	if err != nil {
		return false, unavailable(err)
	}
	return tag.RowsAffected() == 1, nil
}

// DeleteExpiredLegacyMarks implements legacy.Store. SKIP LOCKED lets instances that sweep at
// the same moment share the work.
func (db *DB) DeleteExpiredLegacyMarks(ctx context.Context, now time.Time, limit int) (int, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM legacy_token_marks WHERE key IN (
		SELECT key FROM legacy_token_marks WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, now, limit)
	if err != nil {
		return 0, unavailable(err)
	}
	return int(tag.RowsAffected()), nil
}
