package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-auth/gatehouse/internal/storetest"
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
