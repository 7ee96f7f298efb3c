package sqlite

import (
	"context"
	"fmt"
)

// SetWriterReadOnly makes the writer refuse every write, as a read-only file or a full disk
// would (PRAGMA query_only: SQLite itself answers SQLITE_READONLY, even to root, which
// chmod would not stop).
func SetWriterReadOnly(db *DB, on bool) error {
	v := 0
	if on {
		v = 1
	}
	_, err := db.write.ExecContext(context.Background(), fmt.Sprintf("PRAGMA query_only = %d", v))
	return err
}
