package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-auth/gatehouse/internal/passkeys"
)

var _ passkeys.Store = (*DB)(nil)

const passkeyColumns = "id, user_id, credential_id, public_key, attestation_format, sign_count, backup_eligible, backup_state, " +
	"user_verified, transports, aaguid, attachment, name, created_at, last_used_at"

func scanPasskey(row pgx.Row) (*passkeys.Passkey, error) {
	var p passkeys.Passkey
	var count int64
	var used *time.Time
	if err := row.Scan(&p.ID, &p.UserID, &p.CredentialID, &p.PublicKey, &p.AttestationFormat, &count, &p.BackupEligible, &p.BackupState,
		&p.UserVerified, &p.Transports, &p.AAGUID, &p.Attachment, &p.Name, &p.CreatedAt, &used); err != nil {
		return nil, err
	}
	p.SignCount = uint32(count)
	if len(p.Transports) == 0 {
		p.Transports = nil
	}
	p.CreatedAt, p.LastUsedAt = p.CreatedAt.UTC(), fromNull(used)
	return &p, nil
}

// CreatePasskey implements passkeys.Store.
func (db *DB) CreatePasskey(ctx context.Context, p *passkeys.Passkey) error {
	_, err := db.pool.Exec(ctx, "INSERT INTO passkeys ("+passkeyColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
		p.ID, p.UserID, p.CredentialID, p.PublicKey, p.AttestationFormat, int64(p.SignCount), p.BackupEligible, p.BackupState,
		p.UserVerified, scopesArray(p.Transports), p.AAGUID, p.Attachment, p.Name, p.CreatedAt, nullTime(p.LastUsedAt))
	if isUnique(err) {
		return passkeys.ErrConflict
	}
	return unavailable(err)
}

// PasskeysByUser implements passkeys.Store.
func (db *DB) PasskeysByUser(ctx context.Context, userID string) ([]*passkeys.Passkey, error) {
	rows, err := db.pool.Query(ctx, "SELECT "+passkeyColumns+" FROM passkeys WHERE user_id = $1 ORDER BY created_at, id", userID)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	var out []*passkeys.Passkey
	for rows.Next() {
		p, err := scanPasskey(rows)
		if err != nil {
			return nil, unavailable(err)
		}
		out = append(out, p)
	}
	return out, unavailable(rows.Err())
}

// PasskeyByCredentialID implements passkeys.Store.
func (db *DB) PasskeyByCredentialID(ctx context.Context, credentialID []byte) (*passkeys.Passkey, error) {
	p, err := scanPasskey(db.pool.QueryRow(ctx, "SELECT "+passkeyColumns+" FROM passkeys WHERE credential_id = $1", credentialID))
	if noRows(err) {
		return nil, passkeys.ErrNotFound
	}
	return p, unavailable(err)
}

// RecordPasskeyUse implements passkeys.Store: one conditional UPDATE (the row lock makes a
// concurrent one re-check the condition), so of two uses with the same counter only one
// advances it.
func (db *DB) RecordPasskeyUse(ctx context.Context, id string, count uint32, backupState bool, at time.Time) error {
	tag, err := db.pool.Exec(ctx, "UPDATE passkeys SET sign_count = $1, backup_state = $2, last_used_at = $3 WHERE id = $4 AND (sign_count < $1 OR (sign_count = 0 AND $1 = 0))",
		int64(count), backupState, at, id)
	if err != nil {
		return unavailable(err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var one int
	err = db.pool.QueryRow(ctx, "SELECT 1 FROM passkeys WHERE id = $1", id).Scan(&one)
	if noRows(err) {
		return passkeys.ErrNotFound
	}
	if err != nil {
		return unavailable(err)
	}
	return passkeys.ErrConflict
}

// RenamePasskey implements passkeys.Store.
func (db *DB) RenamePasskey(ctx context.Context, userID, id, name string) error {
	tag, err := db.pool.Exec(ctx, "UPDATE passkeys SET name = $1 WHERE id = $2 AND user_id = $3", name, id, userID)
	if err != nil {
		return unavailable(err)
	}
	if tag.RowsAffected() == 0 {
		return passkeys.ErrNotFound
	}
	return nil
}

// DeletePasskey implements passkeys.Store.
func (db *DB) DeletePasskey(ctx context.Context, userID, id string) error {
	tag, err := db.pool.Exec(ctx, "DELETE FROM passkeys WHERE id = $1 AND user_id = $2", id, userID)
	if err != nil {
		return unavailable(err)
	}
	if tag.RowsAffected() == 0 {
		return passkeys.ErrNotFound
	}
	return nil
}
