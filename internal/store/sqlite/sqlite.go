// Package sqlite is the embedded default store: SQLite through the pure-Go modernc.org/sqlite
// driver, in WAL mode with foreign keys on, migrated at open. Writes go through one
// connection (SQLite has one writer anyway), reads through a pool.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// DB is an open SQLite database.
type DB struct {
	write *sql.DB
	read  *sql.DB
	stmts sync.Map // stmtKey -> *sql.Stmt: SQL is parsed once, not on every call
	path  string
	wal   walState

	observe atomic.Pointer[store.Observer] // see ObserveOps
}

type stmtKey struct {
	write bool
	query string
}

// stmt returns the prepared statement for query on the read or write pool. If preparing
// fails (a closed database), it returns nil and the caller runs the query unprepared, which
// reports the error in the usual way.
func (db *DB) stmt(ctx context.Context, write bool, query string) *sql.Stmt {
	k := stmtKey{write, query}
	if s, ok := db.stmts.Load(k); ok {
		return s.(*sql.Stmt)
	}
	pool := db.read
	if write {
		pool = db.write
	}
	s, err := pool.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	if prev, loaded := db.stmts.LoadOrStore(k, s); loaded {
		s.Close()
		return prev.(*sql.Stmt)
	}
	return s
}

func (db *DB) pool(write bool) *sql.DB {
	if write {
		return db.write
	}
	return db.read
}

// queryRow runs a query expected to return at most one row. Unlike sql.DB.QueryRow it steps
// the statement to its end before resetting it: SQLite commits an autocommit write with a
// RETURNING clause when the statement finishes, and only a step that returns SQLITE_DONE runs
// the WAL hook that checkpoints. A statement reset after its first row (what database/sql's
// Row.Scan does) commits without ever checkpointing, and a store whose writes are all
// UPDATE … RETURNING (refresh rotation) then grows its WAL without bound. Draining also
// reports a failed commit (disk full, busy) instead of losing it in Close.
func (db *DB) queryRow(ctx context.Context, write bool, query string, args ...any) row {
	rows, err := db.query(ctx, write, query, args...)
	r := row{rows: rows, err: err}
	if write {
		r.done = func() { db.wrote(ctx) }
	}
	return r
}

// row is the result of queryRow; Scan has sql.Row's contract (sql.ErrNoRows when empty).
type row struct {
	rows *sql.Rows
	err  error
	done func() // after a write, once the statement has released the connection
}

// Scan copies the first row into dest, then finishes the statement.
func (r row) Scan(dest ...any) error {
	if r.done != nil {
		defer r.done()
	}
	if r.err != nil {
		return r.err
	}
	rows := r.rows
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	err := rows.Scan(dest...)
	for rows.Next() {
	}
	return errors.Join(err, rows.Err(), rows.Close())
}

func (db *DB) query(ctx context.Context, write bool, query string, args ...any) (*sql.Rows, error) {
	if o := db.observe.Load(); o != nil {
		defer observe(*o, query, time.Now())
	}
	if s := db.stmt(ctx, write, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return db.pool(write).QueryContext(ctx, query, args...)
}

func (db *DB) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	defer db.wrote(ctx)
	if o := db.observe.Load(); o != nil {
		defer observe(*o, query, time.Now())
	}
	if s := db.stmt(ctx, true, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return db.write.ExecContext(ctx, query, args...)
}

// Open opens (creating if needed) the database file at path and applies pending migrations.
func Open(ctx context.Context, path string) (*DB, error) {
	q := url.Values{}
	for _, p := range []string{"foreign_keys(1)", "journal_mode(WAL)", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()), "synchronous(NORMAL)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	// The writer checkpoints (automatically every walAutoCheckpoint pages, and when the WAL
	// passes walLimit, see wal.go) and cuts the WAL file back when it restarts.
	wq := url.Values{}
	for k, v := range q {
		wq[k] = v
	}
	wq.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", walAutoCheckpoint))
	wq.Add("_pragma", fmt.Sprintf("journal_size_limit(%d)", journalSizeLimit))
	w, err := sql.Open("sqlite", "file:"+path+"?"+wq.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	q.Add("_pragma", "query_only(1)")
	r, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0)*2)
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	db := &DB{write: w, read: r, path: path}
	db.wal.limit = walLimit
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Close closes the database.
func (db *DB) Close() error {
	db.stmts.Range(func(k, v any) bool {
		v.(*sql.Stmt).Close()
		db.stmts.Delete(k)
		return true
	})
	return errors.Join(db.read.Close(), db.write.Close())
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.read.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return unavailable(err)
	}
	return nil
}

// Migrate applies pending migrations; Open already does, this is for `gatehouse migrate`.
// It returns the versions it applied.
func (db *DB) Migrate(ctx context.Context) ([]int, error) { return db.migrateVersions(ctx) }

func (db *DB) migrate(ctx context.Context) error {
	_, err := db.migrateVersions(ctx)
	return err
}

type migration struct {
	version int
	name    string
	sql     string
}

func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %q: name must start with a number", e.Name())
		}
		b, err := migrationFS.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

func (db *DB) migrateVersions(ctx context.Context) ([]int, error) {
	ms, err := migrations()
	if err != nil {
		return nil, err
	}
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`); err != nil {
		return nil, fmt.Errorf("migrate: %w", unavailable(err))
	}
	var applied []int
	for _, m := range ms {
		done, err := db.applyOne(ctx, m)
		if err != nil {
			return applied, err
		}
		if done {
			applied = append(applied, m.version)
		}
	}
	return applied, db.fillEmailSkeletons(ctx)
}

// applyOne runs one migration and records it, in one transaction, unless already recorded.
func (db *DB) applyOne(ctx context.Context, m migration) (bool, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migrate: %w", unavailable(err))
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations WHERE version = ?", m.version).Scan(&n); err != nil {
		return false, fmt.Errorf("migrate: %w", unavailable(err))
	}
	if n > 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, fmt.Errorf("migration %s: %w", m.name, err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
		m.version, m.name, toDB(time.Now())); err != nil {
		return false, fmt.Errorf("migration %s: %w", m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migration %s: %w", m.name, err)
	}
	return true, nil
}

func toDB(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromDB(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

// unavailable marks an unexpected driver error as a store failure.
func unavailable(err error) error {
	if err == nil || errors.Is(err, store.ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: sqlite: %v", store.ErrUnavailable, err)
}

// isUnique reports whether err is a UNIQUE or PRIMARY KEY constraint violation.
func isUnique(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// affected returns notFound when a statement touched no row.
func affected(res sql.Result, err error, notFound error) error {
	if err != nil {
		return unavailable(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return unavailable(err)
	}
	if n == 0 {
		return notFound
	}
	return nil
}
