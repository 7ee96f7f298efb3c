package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/legacy"
	"github.com/gatehouse-auth/gatehouse/jws"
)

var _ legacy.Store = (*DB)(nil)

const legacyIssuerColumns = "id, issuer, jwks_uri, audiences, token_types, algorithms, match, create_users, claim_email, claim_email_verified, claim_name, accept_until, created_at, updated_at"

func scanLegacyIssuer(row interface{ Scan(...any) error }) (*legacy.Issuer, error) {
	var is legacy.Issuer
	var aud, types, algs, match string
	var until, created, updated int64
	if err := row.Scan(&is.ID, &is.Issuer, &is.JWKSURI, &aud, &types, &algs, &match, &is.CreateUsers,
		&is.Claims.Email, &is.Claims.EmailVerified, &is.Claims.Name, &until, &created, &updated); err != nil {
		return nil, err
	}
	var a []string
	for _, f := range []struct {
		src string
		dst *[]string
	}{{aud, &is.Audiences}, {types, &is.TokenTypes}, {algs, &a}, {match, &is.Match}} {
		if err := json.Unmarshal([]byte(f.src), f.dst); err != nil {
			return nil, err
		}
	}
	for _, s := range a {
		is.Algorithms = append(is.Algorithms, jws.Algorithm(s))
	}
	is.AcceptUntil, is.CreatedAt, is.UpdatedAt = fromDB(until), fromDB(created), fromDB(updated)
	return &is, nil
}

func jsonList[T ~string](list []T) string {
	if list == nil {
		list = []T{}
	}
	b, _ := json.Marshal(list) // a list of strings always marshals
	return string(b)
}

// CreateLegacyIssuer implements legacy.Store.
func (db *DB) CreateLegacyIssuer(ctx context.Context, is *legacy.Issuer) error {
	_, err := db.exec(ctx, "INSERT INTO legacy_issuers ("+legacyIssuerColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		is.ID, is.Issuer, is.JWKSURI, jsonList(is.Audiences), jsonList(is.TokenTypes), jsonList(is.Algorithms), jsonList(is.Match),
		is.CreateUsers, is.Claims.Email, is.Claims.EmailVerified, is.Claims.Name, toDB(is.AcceptUntil), toDB(is.CreatedAt), toDB(is.UpdatedAt))
	if isUnique(err) {
		return legacy.ErrConflict
	}
	return unavailable(err)
}

func (db *DB) legacyIssuerWhere(ctx context.Context, where string, arg any) (*legacy.Issuer, error) {
	is, err := scanLegacyIssuer(db.queryRow(ctx, false, "SELECT "+legacyIssuerColumns+" FROM legacy_issuers WHERE "+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, legacy.ErrNotFound
	}
	return is, unavailable(err)
}

// LegacyIssuerByID implements legacy.Store.
func (db *DB) LegacyIssuerByID(ctx context.Context, id string) (*legacy.Issuer, error) {
	return db.legacyIssuerWhere(ctx, "id = ?", id)
}

// LegacyIssuerByIssuer implements legacy.Store.
func (db *DB) LegacyIssuerByIssuer(ctx context.Context, issuer string) (*legacy.Issuer, error) {
	return db.legacyIssuerWhere(ctx, "issuer = ?", issuer)
}

// ListLegacyIssuers implements legacy.Store.
func (db *DB) ListLegacyIssuers(ctx context.Context) ([]*legacy.Issuer, error) {
	rows, err := db.query(ctx, false, "SELECT "+legacyIssuerColumns+" FROM legacy_issuers ORDER BY issuer")
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
	res, err := db.exec(ctx, `UPDATE legacy_issuers SET issuer = ?, jwks_uri = ?, audiences = ?, token_types = ?, algorithms = ?, match = ?,
		create_users = ?, claim_email = ?, claim_email_verified = ?, claim_name = ?, accept_until = ?, updated_at = ? WHERE id = ?`,
		is.Issuer, is.JWKSURI, jsonList(is.Audiences), jsonList(is.TokenTypes), jsonList(is.Algorithms), jsonList(is.Match),
		is.CreateUsers, is.Claims.Email, is.Claims.EmailVerified, is.Claims.Name, toDB(is.AcceptUntil), toDB(is.UpdatedAt), is.ID)
	if isUnique(err) {
		return legacy.ErrConflict
	}
	return affected(res, err, legacy.ErrNotFound)
}

// DeleteLegacyIssuer implements legacy.Store.
func (db *DB) DeleteLegacyIssuer(ctx context.Context, id string) error {
	res, err := db.exec(ctx, "DELETE FROM legacy_issuers WHERE id = ?", id)
	return affected(res, err, legacy.ErrNotFound)
}

// MarkLegacyToken implements legacy.Store: one upsert that only replaces an expired mark, so
// of concurrent marks of one key exactly one changes a row.
func (db *DB) MarkLegacyToken(ctx context.Context, key string, expires, now time.Time) (bool, error) {
	res, err := db.exec(ctx, `INSERT INTO legacy_token_marks (key, expires_at) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE legacy_token_marks.expires_at <= ?`,
		key, toDB(expires), toDB(now))
	if err != nil {
		return false, unavailable(err)
	}
	n, err := res.RowsAffected()
	return n == 1, unavailable(err)
}

// DeleteExpiredLegacyMarks implements legacy.Store.
func (db *DB) DeleteExpiredLegacyMarks(ctx context.Context, now time.Time, limit int) (int, error) {
	res, err := db.exec(ctx, `DELETE FROM legacy_token_marks WHERE key IN (
		SELECT key FROM legacy_token_marks WHERE expires_at <= ? LIMIT ?)`, toDB(now), limit)
	if err != nil {
		return 0, unavailable(err)
	}
	n, err := res.RowsAffected()
	return int(n), unavailable(err)
}
