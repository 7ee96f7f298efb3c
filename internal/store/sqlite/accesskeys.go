package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/accesskeys"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
)

var _ accesskeys.Store = (*DB)(nil)

const accessKeyColumns = "id, name, key_hash, scopes, user_id, expires_at, created_at, updated_at, last_used_at, created_by, imported"

// ownedKeySelect reads a key with its owner's disabled flag, in one statement.
var ownedKeySelect = "SELECT k." + strings.ReplaceAll(accessKeyColumns, ", ", ", k.") +
	", coalesce(u.disabled, 0) FROM access_keys k LEFT JOIN users u ON u.id = k.user_id WHERE "

func scanAccessKey(row interface{ Scan(...any) error }, extra ...any) (*accesskeys.Key, error) {
	var k accesskeys.Key
	var scopes string
	var userID sql.NullString
	var expires, created, updated, used int64
	if err := row.Scan(append([]any{&k.ID, &k.Name, &k.Hash, &scopes, &userID, &expires, &created, &updated, &used, &k.CreatedBy, &k.Imported}, extra...)...); err != nil {
		return nil, err
	}
	if k.Scopes = strings.Fields(scopes); len(k.Scopes) == 0 {
		k.Scopes = nil
	}
	k.UserID = userID.String
	k.ExpiresAt, k.CreatedAt, k.UpdatedAt, k.LastUsedAt = fromDB(expires), fromDB(created), fromDB(updated), fromDB(used)
	return &k, nil
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// CreateAccessKey implements accesskeys.Store.
func (db *DB) CreateAccessKey(ctx context.Context, k *accesskeys.Key) error {
	_, err := db.exec(ctx, "INSERT INTO access_keys ("+accessKeyColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		k.ID, k.Name, k.Hash, strings.Join(k.Scopes, " "), nullString(k.UserID), toDB(k.ExpiresAt), toDB(k.CreatedAt),
		toDB(k.UpdatedAt), toDB(k.LastUsedAt), k.CreatedBy, k.Imported)
	if isUnique(err) {
		return accesskeys.ErrConflict
	}
	return unavailable(err)
}

func (db *DB) accessKeyWhere(ctx context.Context, where string, arg any) (*accesskeys.Key, error) {
	var disabled bool
	k, err := scanAccessKey(db.queryRow(ctx, false, ownedKeySelect+where, arg), &disabled)
	if errors.Is(err, sql.ErrNoRows) {
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
	return db.accessKeyWhere(ctx, "k.key_hash = ?", hash)
}

// AccessKeyByID implements accesskeys.Store.
func (db *DB) AccessKeyByID(ctx context.Context, id string) (*accesskeys.Key, error) {
	return db.accessKeyWhere(ctx, "k.id = ?", id)
}

// ListAccessKeys implements accesskeys.Store.
func (db *DB) ListAccessKeys(ctx context.Context, f accesskeys.Filter) ([]*accesskeys.Key, error) {
	q := "SELECT " + accessKeyColumns + " FROM access_keys WHERE id > ?"
	args := []any{f.After}
	if f.UserID != "" {
		q += " AND user_id = ?"
		args = append(args, f.UserID)
	}
	q += " ORDER BY id LIMIT ?"
	args = append(args, f.Limit)
	rows, err := db.query(ctx, false, q, args...)
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
	res, err := db.exec(ctx, "UPDATE access_keys SET name = ?, scopes = ?, expires_at = ?, updated_at = ? WHERE id = ?",
		k.Name, strings.Join(k.Scopes, " "), toDB(k.ExpiresAt), toDB(k.UpdatedAt), k.ID)
	return affected(res, err, accesskeys.ErrNotFound)
}

// TouchAccessKey implements accesskeys.Store.
func (db *DB) TouchAccessKey(ctx context.Context, id string, at time.Time) error {
	res, err := db.exec(ctx, "UPDATE access_keys SET last_used_at = max(last_used_at, ?) WHERE id = ?", toDB(at), id)
	return affected(res, err, accesskeys.ErrNotFound)
}

// DeleteAccessKey implements accesskeys.Store: the key and, in the same transaction, the
// revocation entry for the tokens minted from it.
func (db *DB) DeleteAccessKey(ctx context.Context, id string, rev sessions.Revocation) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return unavailable(err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, "DELETE FROM access_keys WHERE id = ?", id)
	if err := affected(res, err, accesskeys.ErrNotFound); err != nil {
		return err
	}
	if err := insertClientRevocations(ctx, tx, []sessions.Revocation{rev}); err != nil {
		return err
	}
	return unavailable(tx.Commit())
}
