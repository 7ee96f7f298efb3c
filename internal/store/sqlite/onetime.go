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
