package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/onetime"
)

var _ onetime.Store = (*DB)(nil)

// PutCode implements onetime.Store.
func (db *DB) PutCode(ctx context.Context, key string, value []byte, expires time.Time) error {
	_, err := db.exec(ctx, "INSERT INTO one_time_codes (key, value, expires_at) VALUES (?, ?, ?)", key, value, toDB(expires))
	return unavailable(err)
}

// ConsumeCode implements onetime.Store: one DELETE … RETURNING, so exactly one caller gets it.
func (db *DB) ConsumeCode(ctx context.Context, key string, now time.Time) ([]byte, error) {
	var v []byte
	err := db.queryRow(ctx, true, "DELETE FROM one_time_codes WHERE key = ? AND expires_at > ? RETURNING value", key, toDB(now)).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, onetime.ErrNotFound
	}
	return v, unavailable(err)
}

// DeleteExpiredOneTimeCodes deletes up to limit codes and used-code marks that expired at or
// before now (they can no longer be redeemed; this only keeps the table small).
func (db *DB) DeleteExpiredOneTimeCodes(ctx context.Context, now time.Time, limit int) (int, error) {
	res, err := db.exec(ctx, `DELETE FROM one_time_codes WHERE key IN (
		SELECT key FROM one_time_codes WHERE expires_at <= ? LIMIT ?)`, toDB(now), limit)
	if err != nil {
		return 0, unavailable(err)
	}
	n, err := res.RowsAffected()
	return int(n), unavailable(err)
}
