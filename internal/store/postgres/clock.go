package postgres

import (
	"context"
	"time"
)

// ServerTime returns the database server's clock, for checking clock skew between instances.
func (db *DB) ServerTime(ctx context.Context) (time.Time, error) {
	var t time.Time
	err := db.pool.QueryRow(ctx, "SELECT now()").Scan(&t)
	return t, unavailable(err)
}
