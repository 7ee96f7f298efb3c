// Package postgres is the durable store for several Gatehouse instances: PostgreSQL through a
// pgx connection pool. It implements the same store interfaces as internal/store/sqlite and
// passes the same conformance suite (internal/storetest). Migrations are embedded and applied
// under an advisory lock, so instances starting together do not race.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// DB is a pool of connections to one PostgreSQL database.
type DB struct {
	pool   *pgxpool.Pool
	tracer *tracer
}

// Open connects to url (postgres://…). It does not migrate: call Migrate (gatehouse migrate,
// or serve with migration at start).
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("database url: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	tr := &tracer{}
	cfg.ConnConfig.Tracer = tr
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, unavailable(err)
	}
	return &DB{pool: pool, tracer: tr}, nil
}

// Close closes the pool.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return unavailable(db.pool.Ping(ctx)) }

// Ready reports whether the database accepts writes, not only connections: it commits a
// one-row upsert of the time of the probe into settings. A read-only database (a standby
// after a failover, default_transaction_read_only, a full disk) makes it fail with
// store.ErrUnavailable. Callers that probe often should cache the answer for a second.
func (db *DB) Ready(ctx context.Context) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO settings (name, value) VALUES ('ready_heartbeat', $1)
		ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value`, []byte(time.Now().UTC().Format(time.RFC3339Nano)))
	return unavailable(err)
}

// migrationLock is the advisory lock key that serialises migrations across instances.
const migrationLock = 0x6761746568 // "gateh"

// Migrate applies pending migrations and returns the versions it applied.
func (db *DB) Migrate(ctx context.Context) ([]int, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	type mig struct {
		v    int
		name string
	}
	var ms []mig
	for _, e := range entries {
		num, _, _ := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if err != nil {
			return nil, fmt.Errorf("migration %q: name must start with a number", e.Name())
		}
		ms = append(ms, mig{v, e.Name()})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].v < ms[j].v })

	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return nil, unavailable(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLock); err != nil {
		return nil, unavailable(err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLock)
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
		return nil, unavailable(err)
	}
	var applied []int
	for _, m := range ms {
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM schema_migrations WHERE version = $1", m.v).Scan(&n); err != nil {
			return applied, unavailable(err)
		}
		if n > 0 {
			continue
		}
		body, err := migrationFS.ReadFile("migrations/" + m.name)
		if err != nil {
			return applied, err
		}
		tx, err := conn.Begin(ctx)
		if err != nil {
			return applied, unavailable(err)
		}
		if _, err := tx.Exec(ctx, string(body)); err != nil {
			tx.Rollback(ctx)
			return applied, fmt.Errorf("migration %s: %w", m.name, err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.v, m.name); err != nil {
			tx.Rollback(ctx)
			return applied, fmt.Errorf("migration %s: %w", m.name, err)
		}
		if err := tx.Commit(ctx); err != nil {
			return applied, unavailable(err)
		}
		applied = append(applied, m.v)
	}
	return applied, fillEmailSkeletons(ctx, conn)
}

// unavailable marks an unexpected driver error as a store failure.
func unavailable(err error) error {
	if err == nil || errors.Is(err, store.ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: postgres: %v", store.ErrUnavailable, err)
}

func isUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

func noRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

// nullTime maps the zero time to NULL.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func fromNull(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// affected returns notFound when a statement touched no row.
func affected(tag pgconn.CommandTag, err error, notFound error) error {
	if err != nil {
		return unavailable(err)
	}
	if tag.RowsAffected() == 0 {
		return notFound
	}
	return nil
}
