package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/mfa"
)

var (
	_ mfa.Store          = (*DB)(nil)
	_ mfa.UsedCodes      = (*DB)(nil)
	_ mfa.ChallengeStore = (*DB)(nil)
)

// CreatePendingFactor implements mfa.Store: an upsert that replaces only a pending factor, so
// a confirmed one is never overwritten (no row changed means conflict).
func (db *DB) CreatePendingFactor(ctx context.Context, f *mfa.Factor) error {
	res, err := db.exec(ctx, `INSERT INTO mfa_totp (user_id, id, seed, created_at, confirmed_at) VALUES (?, ?, ?, ?, NULL)
		ON CONFLICT(user_id) DO UPDATE SET id = excluded.id, seed = excluded.seed, created_at = excluded.created_at
		WHERE mfa_totp.confirmed_at IS NULL`, f.UserID, f.ID, f.Seed, toDB(f.CreatedAt))
	if isUnique(err) {
		return mfa.ErrConflict
	}
	return affected(res, err, mfa.ErrConflict)
}

// ConfirmFactor implements mfa.Store.
func (db *DB) ConfirmFactor(ctx context.Context, userID, id string, at time.Time, codes [][]byte) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return unavailable(err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, "UPDATE mfa_totp SET confirmed_at = ? WHERE user_id = ? AND id = ? AND confirmed_at IS NULL", toDB(at), userID, id)
	if err := affected(res, err, mfa.ErrNotFound); err != nil {
		return err
	}
	if err := replaceCodes(ctx, tx, userID, codes); err != nil {
		return err
	}
	return unavailable(tx.Commit())
}

func replaceCodes(ctx context.Context, tx *sql.Tx, userID string, codes [][]byte) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM mfa_recovery_codes WHERE user_id = ?", userID); err != nil {
		return unavailable(err)
	}
	for _, c := range codes {
		if _, err := tx.ExecContext(ctx, "INSERT INTO mfa_recovery_codes (user_id, mac) VALUES (?, ?)", userID, c); err != nil {
			return unavailable(err)
		}
	}
	return nil
}

// Factor implements mfa.Store.
func (db *DB) Factor(ctx context.Context, userID string) (*mfa.Factor, error) {
	f := mfa.Factor{UserID: userID}
	var created int64
	var confirmed sql.NullInt64
	err := db.queryRow(ctx, false, "SELECT id, seed, created_at, confirmed_at FROM mfa_totp WHERE user_id = ?", userID).
		Scan(&f.ID, &f.Seed, &created, &confirmed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, mfa.ErrNotFound
	}
	if err != nil {
		return nil, unavailable(err)
	}
	f.CreatedAt, f.ConfirmedAt = fromDB(created), fromDB(confirmed.Int64)
	return &f, nil
}

// DeleteFactor implements mfa.Store.
func (db *DB) DeleteFactor(ctx context.Context, userID string) error {
	res, err := db.exec(ctx, "DELETE FROM mfa_totp WHERE user_id = ?", userID)
	return affected(res, err, mfa.ErrNotFound)
}

// ReplaceRecoveryCodes implements mfa.Store.
func (db *DB) ReplaceRecoveryCodes(ctx context.Context, userID string, codes [][]byte) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return unavailable(err)
	}
	defer tx.Rollback()
	if err := replaceCodes(ctx, tx, userID, codes); err != nil {
		return err
	}
	return unavailable(tx.Commit())
}

// ConsumeRecoveryCode implements mfa.Store: the delete and the count in one transaction on
// the single writer, so concurrent uses of one code serialise and one finds it gone.
func (db *DB) ConsumeRecoveryCode(ctx context.Context, userID string, mac []byte) (int, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return 0, unavailable(err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, "DELETE FROM mfa_recovery_codes WHERE user_id = ? AND mac = ?", userID, mac)
	if err := affected(res, err, mfa.ErrNotFound); err != nil {
		return 0, err
	}
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM mfa_recovery_codes WHERE user_id = ?", userID).Scan(&n); err != nil {
		return 0, unavailable(err)
	}
	return n, unavailable(tx.Commit())
}

// RecoveryCodesLeft implements mfa.Store.
func (db *DB) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	var n int
	err := db.queryRow(ctx, false, "SELECT count(*) FROM mfa_recovery_codes WHERE user_id = ?", userID).Scan(&n)
	return n, unavailable(err)
}

// MarkUsed implements mfa.UsedCodes on the one-time code table: the insert wins, or takes
// over a record that has expired; a live record makes it change nothing.
func (db *DB) MarkUsed(ctx context.Context, key string, now, until time.Time) (bool, error) {
	res, err := db.exec(ctx, `INSERT INTO one_time_codes (key, value, expires_at) VALUES (?, X'', ?)
		ON CONFLICT(key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at
		WHERE one_time_codes.expires_at <= ?`, key, toDB(until), toDB(now))
	if err != nil {
		return false, unavailable(err)
	}
	n, err := res.RowsAffected()
	return n == 1, unavailable(err)
}

const challengeColumns = "id, user_id, delivery, data, secret_hash, binding_hash, failures, created_at, expires_at"

// CreateChallenge implements mfa.ChallengeStore.
func (db *DB) CreateChallenge(ctx context.Context, c *mfa.Challenge) error {
	data := c.Data
	if data == nil {
		data = []byte{}
	}
	_, err := db.exec(ctx, "INSERT INTO mfa_challenges ("+challengeColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		c.ID, c.UserID, c.Delivery, data, c.SecretHash, c.BindingHash, c.Failures, toDB(c.CreatedAt), toDB(c.ExpiresAt))
	if isUnique(err) {
		return mfa.ErrConflict
	}
	return unavailable(err)
}

// Challenge implements mfa.ChallengeStore.
func (db *DB) Challenge(ctx context.Context, id string, now time.Time) (*mfa.Challenge, error) {
	var c mfa.Challenge
	var created, expires int64
	err := db.queryRow(ctx, false, "SELECT "+challengeColumns+" FROM mfa_challenges WHERE id = ? AND expires_at > ?", id, toDB(now)).
		Scan(&c.ID, &c.UserID, &c.Delivery, &c.Data, &c.SecretHash, &c.BindingHash, &c.Failures, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, mfa.ErrNotFound
	}
	if err != nil {
		return nil, unavailable(err)
	}
	c.CreatedAt, c.ExpiresAt = fromDB(created), fromDB(expires)
	return &c, nil
}

// FailChallenge implements mfa.ChallengeStore.
func (db *DB) FailChallenge(ctx context.Context, id string, max int) (int, error) {
	var n int
	err := db.queryRow(ctx, true, "UPDATE mfa_challenges SET failures = failures + 1 WHERE id = ? RETURNING failures", id).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, mfa.ErrNotFound
	}
	return n, unavailable(err)
}

// ConsumeChallenge implements mfa.ChallengeStore: one DELETE, so exactly one caller wins.
func (db *DB) ConsumeChallenge(ctx context.Context, id string, now time.Time, max int) error {
	res, err := db.exec(ctx, "DELETE FROM mfa_challenges WHERE id = ? AND expires_at > ? AND failures < ?", id, toDB(now), max)
	return affected(res, err, mfa.ErrNotFound)
}

// DeleteExpiredChallenges removes challenges that expired before now.
func (db *DB) DeleteExpiredChallenges(ctx context.Context, now time.Time) (int, error) {
	res, err := db.exec(ctx, "DELETE FROM mfa_challenges WHERE expires_at <= ?", toDB(now))
	if err != nil {
		return 0, unavailable(err)
	}
	n, err := res.RowsAffected()
	return int(n), unavailable(err)
}
