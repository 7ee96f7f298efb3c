package postgres

import (
	"context"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/onetime"
)

var _ onetime.Store = (*DB)(nil)

// PutCode implements onetime.Store.
func (db *DB) PutCode(ctx context.Context, key string, value []byte, expires time.Time) error {
	_, err := db.pool.Exec(ctx, "INSERT INTO one_time_codes (key, value, expires_at) VALUES ($1, $2, $3)", key, value, expires)
	return unavailable(err)
}

// ConsumeCode implements onetime.Store: one DELETE … RETURNING (row-locked), so exactly one
// caller gets it.
func (db *DB) ConsumeCode(ctx context.Context, key string, now time.Time) ([]byte, error) {
	var v []byte
	err := db.pool.QueryRow(ctx, "DELETE FROM one_time_codes WHERE key = $1 AND expires_at > $2 RETURNING value", key, now).Scan(&v)
	if noRows(err) {
		return nil, onetime.ErrNotFound
	}
	return v, unavailable(err)
}

// DeleteExpiredOneTimeCodes deletes up to limit codes and used-code marks that expired at or
// before now (they can no longer be redeemed; this only keeps the table small). SKIP LOCKED
// lets instances sweeping at the same moment share the work.
func (db *DB) DeleteExpiredOneTimeCodes(ctx context.Context, now time.Time, limit int) (int, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM one_time_codes WHERE key IN (
		SELECT key FROM one_time_codes WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, now, limit)
	if err != nil {
		return 0, unavailable(err)
	}
	return int(tag.RowsAffected()), nil
}
