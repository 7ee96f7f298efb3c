package postgres

import (
	"context"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
)

var _ audit.RetentionStore = (*DB)(nil)

// DeleteEventsBefore implements audit.RetentionStore. SKIP LOCKED lets instances that run
// retention at the same moment share the work instead of queueing on each other's rows.
func (db *DB) DeleteEventsBefore(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM events WHERE id IN (
		SELECT id FROM events WHERE time < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, cutoff, limit)
	if err != nil {
		return 0, unavailable(err)
	}
	return int(tag.RowsAffected()), nil
}
