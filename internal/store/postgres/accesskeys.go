package postgres

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-auth/gatehouse/internal/accesskeys"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
)

var _ accesskeys.Store = (*DB)(nil)

const accessKeyColumns = "id, name, key_hash, scopes, user_id, expires_at, created_at, updated_at, last_used_at, created_by, imported"

// ownedKeySelect reads a key with its owner's disabled flag, in one statement.
var ownedKeySelect = "SELECT k." + strings.ReplaceAll(accessKeyColumns, ", ", ", k.") +
	", coalesce(u.disabled, false) FROM access_keys k LEFT JOIN users u ON u.id = k.user_id WHERE "

func scanAccessKey(row pgx.Row, extra ...any) (*accesskeys.Key, error) {
	var k accesskeys.Key
	var userID *string
	var expires, used *time.Time
	if err := row.Scan(append([]any{&k.ID, &k.Name, &k.Hash, &k.Scopes, &userID, &expires, &k.CreatedAt, &k.UpdatedAt, &used, &k.CreatedBy, &k.Imported}, extra...)...); err != nil {
		return nil, err
	}
	if userID != nil {
		k.UserID = *userID
	}
	if len(k.Scopes) == 0 {
		k.Scopes = nil
	}
	k.ExpiresAt, k.LastUsedAt = fromNull(expires), fromNull(used)
	k.CreatedAt, k.UpdatedAt = k.CreatedAt.UTC(), k.UpdatedAt.UTC()
	return &k, nil
}

func nullText(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func scopesArray(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// CreateAccessKey implements accesskeys.Store.
func (db *DB) CreateAccessKey(ctx context.Context, k *accesskeys.Key) error {
	_, err := db.pool.Exec(ctx, "INSERT INTO access_keys ("+accessKeyColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
		k.ID, k.Name, k.Hash, scopesArray(k.Scopes), nullText(k.UserID), nullTime(k.ExpiresAt), k.CreatedAt, k.UpdatedAt,
		nullTime(k.LastUsedAt), k.CreatedBy, k.Imported)
	if isUnique(err) {
		return accesskeys.ErrConflict
	}
	return unavailable(err)
}

func (db *DB) accessKeyWhere(ctx context.Context, where string, arg any) (*accesskeys.Key, error) {
	var disabled bool
	k, err := scanAccessKey(db.pool.QueryRow(ctx, ownedKeySelect+where, arg), &disabled)
	if noRows(err) {
		return nil, accesskeys.ErrNotFound
	}
	if err != nil {
		return nil, unavailable(err)
	}
	k.OwnerDisabled = disabled
	return k, nil
}

// AccessKeyByHash implements accesskeys.Store.
func (db *DB) AccessKeyByHash(ctx context.Context, hash []byte) (*accesskeys.Key, error) {
	return db.accessKeyWhere(ctx, "k.key_hash = $1", hash)
}

// AccessKeyByID implements accesskeys.Store.
func (db *DB) AccessKeyByID(ctx context.Context, id string) (*accesskeys.Key, error) {
	return db.accessKeyWhere(ctx, "k.id = $1", id)
}

// ListAccessKeys implements accesskeys.Store.
func (db *DB) ListAccessKeys(ctx context.Context, f accesskeys.Filter) ([]*accesskeys.Key, error) {
	q := "SELECT " + accessKeyColumns + " FROM access_keys WHERE id > $1"
	args := []any{f.After}
	if f.UserID != "" {
		q += " AND user_id = $2"
		args = append(args, f.UserID)
	}
	args = append(args, f.Limit)
	q += " ORDER BY id LIMIT $" + strconv.Itoa(len(args))
	rows, err := db.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	var out []*accesskeys.Key
	for rows.Next() {
		k, err := scanAccessKey(rows)
		if err != nil {
			return nil, unavailable(err)
		}
		out = append(out, k)
	}
	return out, unavailable(rows.Err())
}

// UpdateAccessKey implements accesskeys.Store.
func (db *DB) UpdateAccessKey(ctx context.Context, k *accesskeys.Key) error {
	tag, err := db.pool.Exec(ctx, "UPDATE access_keys SET name = $1, scopes = $2, expires_at = $3, updated_at = $4 WHERE id = $5",
		k.Name, scopesArray(k.Scopes), nullTime(k.ExpiresAt), k.UpdatedAt, k.ID)
	return affected(tag, err, accesskeys.ErrNotFound)
}

// TouchAccessKey implements accesskeys.Store.
func (db *DB) TouchAccessKey(ctx context.Context, id string, at time.Time) error {
	tag, err := db.pool.Exec(ctx, "UPDATE access_keys SET last_used_at = GREATEST(COALESCE(last_used_at, $1), $1) WHERE id = $2", at, id)
	return affected(tag, err, accesskeys.ErrNotFound)
}

// DeleteAccessKey implements accesskeys.Store: the key and the revocation entry for the
// tokens minted from it, in one statement (so atomically).
func (db *DB) DeleteAccessKey(ctx context.Context, id string, rev sessions.Revocation) error {
	tag, err := db.pool.Exec(ctx, `WITH d AS (DELETE FROM access_keys WHERE id = $1 RETURNING id)
		INSERT INTO revocations (client_id, issued_before, user_id, until) SELECT id, $2, $3, $4 FROM d`,
		id, nullTime(rev.IssuedBefore), rev.UserID, rev.Until)
	return affected(tag, err, accesskeys.ErrNotFound)
}
