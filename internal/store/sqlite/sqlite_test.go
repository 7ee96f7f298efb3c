package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-auth/gatehouse/internal/storetest"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

func mustOpen(t testing.TB) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return mustOpen(t) })
}

func TestMigrateIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "g.db")
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	applied, err := db.Migrate(context.Background())
	if err != nil || len(applied) != 0 {
		t.Fatalf("second migrate applied %v, %v", applied, err)
	}
}

func TestClosedStoreIsUnavailable(t *testing.T) {
	db := mustOpen(t)
	db.Close()
	if err := db.Ping(context.Background()); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Ping on closed db: %v", err)
	}
	if _, err := db.UserByEmail(context.Background(), "a@b.c"); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("query on closed db: %v", err)
	}
}

// TestEmailSkeletonBackfill checks that rows written before the skeleton column get their
// skeleton when the store opens, so a look-alike of an old account is refused, and that a
// look-alike pair that already existed does not stop the store from opening.
func TestEmailSkeletonBackfill(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "g.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{"bob@example.com", "paypal@example.com", "p\u0430ypal@example.com", "Jo\u200bhn@Example.com"} {
		if _, err := raw.Exec("INSERT INTO users (id, email, created_at, updated_at, email_skeleton) VALUES (?, ?, 0, 0, NULL)",
			secret.NewID(), email); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()

	db, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("open with a legacy look-alike pair: %v", err)
	}
	defer db.Close()
	for _, email := range []string{"b\u043eb@example.com", "paypa1@example.com", "john@example.com"} {
		u := &users.User{ID: secret.NewID(), Email: email}
		if err := db.CreateUser(ctx, u); !errors.Is(err, users.ErrEmailConfusable) {
			t.Fatalf("CreateUser(%q) next to legacy rows: err = %v, want ErrEmailConfusable", email, err)
		}
	}
	raw, err = sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var missing int
	if err := raw.QueryRow("SELECT count(*) FROM users WHERE email_skeleton IS NULL").Scan(&missing); err != nil || missing != 1 {
		t.Fatalf("%d rows without a skeleton (%v), want 1 (the later of the look-alike pair)", missing, err)
	}
}
