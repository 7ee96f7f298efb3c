package sqlite_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlite"
)

// TestReadyReflectsWritability checks that Ready fails while the database cannot be written
// (Ping still succeeds then, which is why /readyz stayed 200) and recovers with it.
func TestReadyReflectsWritability(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	if err := db.Ready(ctx); err != nil {
		t.Fatalf("Ready on a writable database: %v", err)
	}
	if err := sqlite.SetWriterReadOnly(db, true); err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v (the read side should still answer)", err)
	}
	if err := db.Ready(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Ready on an unwritable database: %v, want ErrUnavailable", err)
	}
	if err := sqlite.SetWriterReadOnly(db, false); err != nil {
		t.Fatal(err)
	}
	if err := db.Ready(ctx); err != nil {
		t.Fatalf("Ready after recovery: %v", err)
	}
	db.Close()
	if err := db.Ready(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Ready on a closed database: %v, want ErrUnavailable", err)
	}
}
