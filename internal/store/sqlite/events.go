package sqlite

import (
	"context"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
)

var _ audit.Store = (*DB)(nil)

// AppendEvent implements audit.Store.
func (db *DB) AppendEvent(ctx context.Context, e *audit.Event) error {
	err := db.queryRow(ctx, true,
		`INSERT INTO events (type, time, user_id, session_id, actor, ip, user_agent, outcome, reason, client_id)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		e.Type, toDB(e.Time), e.UserID, e.SessionID, e.Actor, e.IP, e.UserAgent, e.Outcome, e.Reason, e.ClientID).Scan(&e.ID)
	return unavailable(err)
}

// ListEvents implements audit.Store.
func (db *DB) ListEvents(ctx context.Context, f audit.Filter) ([]*audit.Event, error) {
	where := []string{"id > ?"}
	args := []any{f.After}
	if f.Type != "" {
		where, args = append(where, "type = ?"), append(args, f.Type)
	}
	if f.UserID != "" {
		where, args = append(where, "user_id = ?"), append(args, f.UserID)
	}
	args = append(args, f.Limit)
	rows, err := db.query(ctx, false, `SELECT id, type, time, user_id, session_id, actor, ip, user_agent, outcome, reason, client_id
		FROM events WHERE `+strings.Join(where, " AND ")+" ORDER BY id LIMIT ?", args...)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	var out []*audit.Event
	for rows.Next() {
		var e audit.Event
		var t int64
		if err := rows.Scan(&e.ID, &e.Type, &t, &e.UserID, &e.SessionID, &e.Actor, &e.IP, &e.UserAgent, &e.Outcome, &e.Reason, &e.ClientID); err != nil {
			return nil, unavailable(err)
		}
		e.Time = fromDB(t)
		out = append(out, &e)
	}
	return out, unavailable(rows.Err())
}

var _ audit.RetentionStore = (*DB)(nil)

// DeleteEventsBefore implements audit.RetentionStore: one short statement per call, so the
// writer is free again after at most limit rows.
func (db *DB) DeleteEventsBefore(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	res, err := db.exec(ctx, "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE time < ? LIMIT ?)", toDB(cutoff), limit)
	if err != nil {
		return 0, unavailable(err)
	}
	n, err := res.RowsAffected()
	return int(n), unavailable(err)
}
