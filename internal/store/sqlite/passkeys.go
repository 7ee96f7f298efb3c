package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/passkeys"
)

var _ passkeys.Store = (*DB)(nil)

const passkeyColumns = "id, user_id, credential_id, public_key, attestation_format, sign_count, backup_eligible, backup_state, " +
	"user_verified, transports, aaguid, attachment, name, created_at, last_used_at"

func scanPasskey(row interface{ Scan(...any) error }) (*passkeys.Passkey, error) {
	var p passkeys.Passkey
	var count int64
	var transports string
	var created, used int64
	if err := row.Scan(&p.ID, &p.UserID, &p.CredentialID, &p.PublicKey, &p.AttestationFormat, &count, &p.BackupEligible, &p.BackupState,
		&p.UserVerified, &transports, &p.AAGUID, &p.Attachment, &p.Name, &created, &used); err != nil {
		return nil, err
	}
	p.SignCount = uint32(count)
	if p.Transports = strings.Fields(transports); len(p.Transports) == 0 {
		p.Transports = nil
	}
	p.CreatedAt, p.LastUsedAt = fromDB(created), fromDB(used)
	return &p, nil
}

// CreatePasskey implements passkeys.Store.
func (db *DB) CreatePasskey(ctx context.Context, p *passkeys.Passkey) error {
	_, err := db.exec(ctx, "INSERT INTO passkeys ("+passkeyColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		p.ID, p.UserID, p.CredentialID, p.PublicKey, p.AttestationFormat, int64(p.SignCount), p.BackupEligible, p.BackupState,
		p.UserVerified, strings.Join(p.Transports, " "), p.AAGUID, p.Attachment, p.Name, toDB(p.CreatedAt), toDB(p.LastUsedAt))
	if isUnique(err) {
		return passkeys.ErrConflict
	}
	return unavailable(err)
}

// PasskeysByUser implements passkeys.Store.
func (db *DB) PasskeysByUser(ctx context.Context, userID string) ([]*passkeys.Passkey, error) {
	rows, err := db.query(ctx, false, "SELECT "+passkeyColumns+" FROM passkeys WHERE user_id = ? ORDER BY created_at, id", userID)
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
	p, err := scanPasskey(db.queryRow(ctx, false, "SELECT "+passkeyColumns+" FROM passkeys WHERE credential_id = ?", credentialID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, passkeys.ErrNotFound
	}
	return p, unavailable(err)
}

// RecordPasskeyUse implements passkeys.Store: one conditional UPDATE, so of two uses with
// the same counter only one advances it.
func (db *DB) RecordPasskeyUse(ctx context.Context, id string, count uint32, backupState bool, at time.Time) error {
	res, err := db.exec(ctx, "UPDATE passkeys SET sign_count = ?, backup_state = ?, last_used_at = ? WHERE id = ? AND (sign_count < ? OR (sign_count = 0 AND ? = 0))",
		int64(count), backupState, toDB(at), id, int64(count), int64(count))
	if err := affected(res, err, passkeys.ErrConflict); !errors.Is(err, passkeys.ErrConflict) {
		return err
	}
	var one int
	err = db.queryRow(ctx, true, "SELECT 1 FROM passkeys WHERE id = ?", id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return passkeys.ErrNotFound
	}
	if err != nil {
		return unavailable(err)
	}
	return passkeys.ErrConflict
}

// RenamePasskey implements passkeys.Store.
func (db *DB) RenamePasskey(ctx context.Context, userID, id, name string) error {
	res, err := db.exec(ctx, "UPDATE passkeys SET name = ? WHERE id = ? AND user_id = ?", name, id, userID)
	return affected(res, err, passkeys.ErrNotFound)
}

// DeletePasskey implements passkeys.Store.
func (db *DB) DeletePasskey(ctx context.Context, userID, id string) error {
	res, err := db.exec(ctx, "DELETE FROM passkeys WHERE id = ? AND user_id = ?", id, userID)
	return affected(res, err, passkeys.ErrNotFound)
}
