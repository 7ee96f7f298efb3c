package sqlite

import (
	"context"
	"time"
)

// heartbeatSetting is the settings row Ready rewrites.
const heartbeatSetting = "ready_heartbeat"

// Ready reports whether the database can be written, not only read: it commits a one-row
// upsert (the time of the probe) through the writer, then reads through the reader pool. A
// read-only file, a full disk once the WAL must grow, or a writer stuck behind a lock for
// longer than ctx allows make it fail with store.ErrUnavailable. Each call is one small
// commit; callers that probe often should cache the answer for a second.
func (db *DB) Ready(ctx context.Context) error {
	if _, err := db.exec(ctx, "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
		heartbeatSetting, []byte(time.Now().UTC().Format(time.RFC3339Nano))); err != nil {
		return unavailable(err)
	}
	return db.Ping(ctx)
}
