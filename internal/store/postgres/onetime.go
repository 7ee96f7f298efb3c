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
