package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

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
	tag, err := db.pool.Exec(ctx, `INSERT INTO mfa_totp (user_id, id, seed, created_at, confirmed_at) VALUES ($1, $2, $3, $4, NULL)
		ON CONFLICT (user_id) DO UPDATE SET id = excluded.id, seed = excluded.seed, created_at = excluded.created_at
		WHERE mfa_totp.confirmed_at IS NULL`, f.UserID, f.ID, f.Seed, f.CreatedAt)
	if isUnique(err) {
		return mfa.ErrConflict
	}
	return affected(tag, err, mfa.ErrConflict)
}

// ConfirmFactor implements mfa.Store.
func (db *DB) ConfirmFactor(ctx context.Context, userID, id string, at time.Time, codes [][]byte) error {
	return db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "UPDATE mfa_totp SET confirmed_at = $1 WHERE user_id = $2 AND id = $3 AND confirmed_at IS NULL", at, userID, id)
		if err := affected(tag, err, mfa.ErrNotFound); err != nil {
			return err
		}
		return replaceCodes(ctx, tx, userID, codes)
	})
}

func (db *DB) inTx(ctx context.Context, f func(pgx.Tx) error) error {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return unavailable(err)
	}
	defer tx.Rollback(ctx)
	if err := f(tx); err != nil {
		return err
	}
	return unavailable(tx.Commit(ctx))
}

func replaceCodes(ctx context.Context, tx pgx.Tx, userID string, codes [][]byte) error {
	if _, err := tx.Exec(ctx, "DELETE FROM mfa_recovery_codes WHERE user_id = $1", userID); err != nil {
		return unavailable(err)
	}
	if len(codes) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, "INSERT INTO mfa_recovery_codes (user_id, mac) SELECT $1, unnest($2::bytea[])", userID, codes)
	return unavailable(err)
}

// Factor implements mfa.Store.
func (db *DB) Factor(ctx context.Context, userID string) (*mfa.Factor, error) {
	f := mfa.Factor{UserID: userID}
	var confirmed *time.Time
	err := db.pool.QueryRow(ctx, "SELECT id, seed, created_at, confirmed_at FROM mfa_totp WHERE user_id = $1", userID).
		Scan(&f.ID, &f.Seed, &f.CreatedAt, &confirmed)
	if noRows(err) {
		return nil, mfa.ErrNotFound
	}
	if err != nil {
		return nil, unavailable(err)
	}
	f.CreatedAt, f.ConfirmedAt = f.CreatedAt.UTC(), fromNull(confirmed)
	return &f, nil
}

// DeleteFactor implements mfa.Store.
func (db *DB) DeleteFactor(ctx context.Context, userID string) error {
	tag, err := db.pool.Exec(ctx, "DELETE FROM mfa_totp WHERE user_id = $1", userID)
	return affected(tag, err, mfa.ErrNotFound)
}

// ReplaceRecoveryCodes implements mfa.Store.
func (db *DB) ReplaceRecoveryCodes(ctx context.Context, userID string, codes [][]byte) error {
	return db.inTx(ctx, func(tx pgx.Tx) error { return replaceCodes(ctx, tx, userID, codes) })
}

// ConsumeRecoveryCode implements mfa.Store: the DELETE takes the row lock, so of concurrent
// uses of one code exactly one deletes it; the count follows in the same transaction.
func (db *DB) ConsumeRecoveryCode(ctx context.Context, userID string, mac []byte) (int, error) {
	var n int
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM mfa_recovery_codes WHERE user_id = $1 AND mac = $2", userID, mac)
		if err := affected(tag, err, mfa.ErrNotFound); err != nil {
			return err
		}
		return unavailable(tx.QueryRow(ctx, "SELECT count(*) FROM mfa_recovery_codes WHERE user_id = $1", userID).Scan(&n))
	})
	return n, err
}

// RecoveryCodesLeft implements mfa.Store.
func (db *DB) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	var n int
	err := db.pool.QueryRow(ctx, "SELECT count(*) FROM mfa_recovery_codes WHERE user_id = $1", userID).Scan(&n)
	return n, unavailable(err)
}

// MarkUsed implements mfa.UsedCodes on the one-time code table: the insert wins, or takes
// over a record that has expired; a live record makes it change nothing. ON CONFLICT takes
// the row lock, so of concurrent marks exactly one changes a row.
func (db *DB) MarkUsed(ctx context.Context, key string, now, until time.Time) (bool, error) {
	tag, err := db.pool.Exec(ctx, `INSERT INTO one_time_codes (key, value, expires_at) VALUES ($1, '', $2)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at
		WHERE one_time_codes.expires_at <= $3`, key, until, now)
	if err != nil {
		return false, unavailable(err)
	}
	return tag.RowsAffected() == 1, nil
}

const challengeColumns = "id, user_id, delivery, data, secret_hash, binding_hash, failures, created_at, expires_at"

// CreateChallenge implements mfa.ChallengeStore.
func (db *DB) CreateChallenge(ctx context.Context, c *mfa.Challenge) error {
	data := c.Data
	if data == nil {
		data = []byte{}
	}
	_, err := db.pool.Exec(ctx, "INSERT INTO mfa_challenges ("+challengeColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
		c.ID, c.UserID, c.Delivery, data, c.SecretHash, c.BindingHash, c.Failures, c.CreatedAt, c.ExpiresAt)
	if isUnique(err) {
		return mfa.ErrConflict
	}
	return unavailable(err)
}

// Challenge implements mfa.ChallengeStore.
func (db *DB) Challenge(ctx context.Context, id string, now time.Time) (*mfa.Challenge, error) {
	var c mfa.Challenge
	err := db.pool.QueryRow(ctx, "SELECT "+challengeColumns+" FROM mfa_challenges WHERE id = $1 AND expires_at > $2", id, now).
		Scan(&c.ID, &c.UserID, &c.Delivery, &c.Data, &c.SecretHash, &c.BindingHash, &c.Failures, &c.CreatedAt, &c.ExpiresAt)
	if noRows(err) {
		return nil, mfa.ErrNotFound
	}
	if err != nil {
		return nil, unavailable(err)
	}
	c.CreatedAt, c.ExpiresAt = c.CreatedAt.UTC(), c.ExpiresAt.UTC()
	return &c, nil
}

// FailChallenge implements mfa.ChallengeStore.
func (db *DB) FailChallenge(ctx context.Context, id string, max int) (int, error) {
	var n int
	err := db.pool.QueryRow(ctx, "UPDATE mfa_challenges SET failures = failures + 1 WHERE id = $1 RETURNING failures", id).Scan(&n)
	if noRows(err) {
		return 0, mfa.ErrNotFound
	}
	return n, unavailable(err)
}

// ConsumeChallenge implements mfa.ChallengeStore: one DELETE, so exactly one caller wins.
func (db *DB) ConsumeChallenge(ctx context.Context, id string, now time.Time, max int) error {
	tag, err := db.pool.Exec(ctx, "DELETE FROM mfa_challenges WHERE id = $1 AND expires_at > $2 AND failures < $3", id, now, max)
	return affected(tag, err, mfa.ErrNotFound)
}

// DeleteExpiredChallenges removes challenges that expired before now.
func (db *DB) DeleteExpiredChallenges(ctx context.Context, now time.Time) (int, error) {
	tag, err := db.pool.Exec(ctx, "DELETE FROM mfa_challenges WHERE expires_at <= $1", now)
	if err != nil {
		return 0, unavailable(err)
	}
	return int(tag.RowsAffected()), nil
}
