package sqlite

import (
	"context"
	"sort"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/outbox"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
)

var _ outbox.Store = (*DB)(nil)

// OutboxEnqueue implements outbox.Store.
func (db *DB) OutboxEnqueue(ctx context.Context, it *outbox.Item) error {
	_, err := db.exec(ctx, "INSERT INTO outbox (id, queue, payload, created_at, not_after, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)",
		it.ID, it.Queue, it.Payload, toDB(it.CreatedAt), toDB(it.NotAfter), toDB(it.NextAttemptAt))
	return unavailable(err)
}

// OutboxClaimDue implements outbox.Store: one UPDATE … RETURNING on the single writer
// connection, so of several workers (in this process or another one on the same file)
// exactly one gets each item.
func (db *DB) OutboxClaimDue(ctx context.Context, queue string, now time.Time, lease time.Duration, limit int) ([]*outbox.Item, error) {
	n := toDB(now)
	rows, err := db.query(ctx, true, `UPDATE outbox SET claim = ?, lease_until = ?, attempts = attempts + 1
		WHERE id IN (SELECT id FROM outbox WHERE queue = ? AND done_at = 0 AND next_attempt_at <= ? AND lease_until <= ?
		             ORDER BY next_attempt_at, id LIMIT ?)
		RETURNING id, queue, payload, created_at, not_after, next_attempt_at, attempts, claim, last_error`,
		secret.NewID(), toDB(now.Add(lease)), queue, n, n, limit)
	if err != nil {
		return nil, unavailable(err)
	}
	defer db.wrote(ctx)
	defer rows.Close()
	var out []*outbox.Item
	for rows.Next() {
		var it outbox.Item
		var created, notAfter, next int64
		if err := rows.Scan(&it.ID, &it.Queue, &it.Payload, &created, &notAfter, &next, &it.Attempts, &it.Claim, &it.LastError); err != nil {
			return nil, unavailable(err)
		}
		it.CreatedAt, it.NotAfter, it.NextAttemptAt = fromDB(created), fromDB(notAfter), fromDB(next)
		out = append(out, &it)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable(err)
	}
	// RETURNING gives rows in no promised order.
	sort.Slice(out, func(i, j int) bool {
		if a, b := out[i], out[j]; !a.NextAttemptAt.Equal(b.NextAttemptAt) {
			return a.NextAttemptAt.Before(b.NextAttemptAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

func (db *DB) outboxMark(ctx context.Context, query string, args ...any) error {
	res, err := db.exec(ctx, query, args...)
	return affected(res, err, outbox.ErrLeaseLost)
}

// OutboxMarkSent implements outbox.Store; the payload is erased.
func (db *DB) OutboxMarkSent(ctx context.Context, id, claim string, now time.Time) error {
	if claim == "" {
		return outbox.ErrLeaseLost
	}
	return db.outboxMark(ctx, "UPDATE outbox SET payload = NULL, done_at = ?, claim = '', lease_until = 0 WHERE id = ? AND claim = ? AND done_at = 0",
		max(toDB(now), 1), id, claim)
}

// OutboxMarkRetry implements outbox.Store.
func (db *DB) OutboxMarkRetry(ctx context.Context, id, claim string, next time.Time, lastErr string) error {
	if claim == "" {
		return outbox.ErrLeaseLost
	}
	return db.outboxMark(ctx, "UPDATE outbox SET next_attempt_at = ?, last_error = ?, claim = '', lease_until = 0 WHERE id = ? AND claim = ? AND done_at = 0",
		toDB(next), lastErr, id, claim)
}

// OutboxMarkDead implements outbox.Store; the payload is erased, the error kept.
func (db *DB) OutboxMarkDead(ctx context.Context, id, claim string, now time.Time, lastErr string) error {
	if claim == "" {
		return outbox.ErrLeaseLost
	}
	return db.outboxMark(ctx, "UPDATE outbox SET payload = NULL, done_at = ?, dead = 1, last_error = ?, claim = '', lease_until = 0 WHERE id = ? AND claim = ? AND done_at = 0",
		max(toDB(now), 1), lastErr, id, claim)
}

// OutboxPurge deletes items finished before cutoff, at most limit of them, and returns how
// many it deleted.
func (db *DB) OutboxPurge(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	res, err := db.exec(ctx, "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE done_at > 0 AND done_at < ? LIMIT ?)", toDB(cutoff), limit)
	if err != nil {
		return 0, unavailable(err)
	}
	n, err := res.RowsAffected()
	return int(n), unavailable(err)
}
