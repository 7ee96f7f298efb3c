package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Keeping the write-ahead log small. SQLite appends every commit to the WAL and copies it back
// into the database file at a checkpoint; the WAL restarts from its beginning only when a
// checkpoint has copied everything and no reader still needs the old frames. Two things must
// hold for that to happen under load:
//
//   - every write must finish its statement (see queryRow): the automatic checkpoint runs
//     only after a step that returns SQLITE_DONE;
//   - readers that overlap without pause can hold the automatic (PASSIVE) checkpoint back for
//     ever, so when the WAL passes walLimit a write forces a checkpoint that waits, briefly, for
//     the readers in flight and truncates the file.
//
// Besides, Checkpoint truncates the WAL on demand (the server calls it periodically).
const (
	busyTimeout = 10 * time.Second
	// walAutoCheckpoint is SQLite's default, stated so that walLimit is read against it.
	walAutoCheckpoint = 1000 // pages (4 MiB)
	// journalSizeLimit is the size the WAL file is cut back to when it restarts.
	journalSizeLimit = 4 << 20
	// walLimit is the WAL size above which a write forces a truncating checkpoint.
	walLimit = 16 << 20
	// walCheckEvery is how many writes pass between two looks at the WAL's size (one stat).
	walCheckEvery = 64
	walRetryEvery = 8
	// checkpointWait bounds how long a forced checkpoint waits for readers; writes queue
	// behind it meanwhile.
	checkpointWait = 250 * time.Millisecond
)

// errCheckpointBusy reports a checkpoint that readers kept from finishing.
var errCheckpointBusy = errors.New("sqlite: checkpoint incomplete: readers still use the write-ahead log")

type walState struct {
	writes atomic.Uint64
	behind atomic.Bool // the last forced checkpoint did not finish
	limit  int64
	mu     sync.Mutex // one checkpoint at a time
}

// wrote counts a write and, every walCheckEvery writes (walRetryEvery after a forced
// checkpoint that readers kept from finishing), forces a checkpoint if the WAL has grown past
// its limit. It runs after the write, on the writer's goroutine, so the bound holds however
// fast writes arrive.
func (db *DB) wrote(ctx context.Context) {
	every := uint64(walCheckEvery)
	if db.wal.behind.Load() {
		every = walRetryEvery
	}
	if db.wal.writes.Add(1)%every != 0 {
		return
	}
	fi, err := os.Stat(db.path + "-wal")
	if err != nil || fi.Size() <= db.wal.limit {
		db.wal.behind.Store(false)
		return
	}
	if !db.wal.mu.TryLock() {
		return // another writer is at it
	}
	defer db.wal.mu.Unlock()
	// The write has happened; a cancelled request must not leave the WAL unbounded.
	db.wal.behind.Store(db.checkpoint(context.WithoutCancel(ctx)) != nil)
}

// Checkpoint copies the WAL into the database file and truncates it, waiting at most
// checkpointWait for readers.
func (db *DB) Checkpoint(ctx context.Context) error {
	db.wal.mu.Lock()
	defer db.wal.mu.Unlock()
	return db.checkpoint(ctx)
}

func (db *DB) checkpoint(ctx context.Context) error {
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return unavailable(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", checkpointWait.Milliseconds())); err != nil {
		return unavailable(err)
	}
	var busy, frames, copied int
	err = conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &frames, &copied)
	if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf("PRAGMA busy_timeout = %d", busyTimeout.Milliseconds())); rerr != nil {
		err = errors.Join(err, rerr)
	}
	if err != nil {
		return unavailable(err)
	}
	if busy != 0 {
		return errCheckpointBusy
	}
	return nil
}
