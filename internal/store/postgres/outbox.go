package postgres

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
	var notAfter *time.Time
	if !it.NotAfter.IsZero() {
		notAfter = &it.NotAfter
	}
	_, err := db.pool.Exec(ctx, "INSERT INTO outbox (id, queue, payload, created_at, not_after, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6)",
		it.ID, it.Queue, it.Payload, it.CreatedAt, notAfter, it.NextAttemptAt)
	return unavailable(err)
}

// OutboxClaimDue implements outbox.Store: one UPDATE over a FOR UPDATE SKIP LOCKED
// sub-select, so concurrent instances never claim the same item and never wait for each
// other (docs/outbox.md).
func (db *DB) OutboxClaimDue(ctx context.Context, queue string, now time.Time, lease time.Duration, limit int) ([]*outbox.Item, error) {
	rows, err := db.pool.Query(ctx, `UPDATE outbox SET claim = $1, lease_until = $2, attempts = attempts + 1
		WHERE id IN (SELECT id FROM outbox WHERE queue = $3 AND done_at IS NULL AND next_attempt_at <= $4
		               AND (lease_until IS NULL OR lease_until <= $4)
		             ORDER BY next_attempt_at, id LIMIT $5 FOR UPDATE SKIP LOCKED)
		RETURNING id, queue, payload, created_at, not_after, next_attempt_at, attempts, claim, last_error`,
		secret.NewID(), now.Add(lease), queue, now, limit)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	var out []*outbox.Item
	for rows.Next() {
		var it outbox.Item
		var notAfter *time.Time
		if err := rows.Scan(&it.ID, &it.Queue, &it.Payload, &it.CreatedAt, &notAfter, &it.NextAttemptAt, &it.Attempts, &it.Claim, &it.LastError); err != nil {
			return nil, unavailable(err)
		}
		if notAfter != nil {
			it.NotAfter = notAfter.UTC()
		}
		it.CreatedAt, it.NextAttemptAt = it.CreatedAt.UTC(), it.NextAttemptAt.UTC()
		out = append(out, &it)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable(err)
	}
	sort.Slice(out, func(i, j int) bool {
		if a, b := out[i], out[j]; !a.NextAttemptAt.Equal(b.NextAttemptAt) {
			return a.NextAttemptAt.Before(b.NextAttemptAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

func (db *DB) outboxMark(ctx context.Context, claim, query string, args ...any) error {
	if claim == "" {
		return outbox.ErrLeaseLost
	}
	tag, err := db.pool.Exec(ctx, query, args...)
	return affected(tag, err, outbox.ErrLeaseLost)
}

// OutboxMarkSent implements outbox.Store; the payload is erased.
func (db *DB) OutboxMarkSent(ctx context.Context, id, claim string, now time.Time) error {
	return db.outboxMark(ctx, claim, "UPDATE outbox SET payload = NULL, done_at = $1, claim = '', lease_until = NULL WHERE id = $2 AND claim = $3 AND done_at IS NULL",
		now, id, claim)
}

// OutboxMarkRetry implements outbox.Store.
func (db *DB) OutboxMarkRetry(ctx context.Context, id, claim string, next time.Time, lastErr string) error {
	return db.outboxMark(ctx, claim, "UPDATE outbox SET next_attempt_at = $1, last_error = $2, claim = '', lease_until = NULL WHERE id = $3 AND claim = $4 AND done_at IS NULL",
		next, lastErr, id, claim)
}

// OutboxMarkDead implements outbox.Store; the payload is erased, the error kept.
func (db *DB) OutboxMarkDead(ctx context.Context, id, claim string, now time.Time, lastErr string) error {
	return db.outboxMark(ctx, claim, "UPDATE outbox SET payload = NULL, done_at = $1, dead = true, last_error = $2, claim = '', lease_until = NULL WHERE id = $3 AND claim = $4 AND done_at IS NULL",
		now, lastErr, id, claim)
}

// OutboxPurge deletes items finished before cutoff, at most limit of them, and returns how
// many it deleted.
func (db *DB) OutboxPurge(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	tag, err := db.pool.Exec(ctx, "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE done_at < $1 LIMIT $2)", cutoff, limit)
	if err != nil {
		return 0, unavailable(err)
	}
	return int(tag.RowsAffected()), nil
}
