package postgres_test

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/postgres"
)

// TestReadyReflectsWritability checks that Ready fails on a database that answers but refuses
// writes (as a standby does after a failover), where Ping still succeeds.
func TestReadyReflectsWritability(t *testing.T) {
	ctx := context.Background()
	db, dbURL := mustOpenURL(t)
	if err := db.Ready(ctx); err != nil {
		t.Fatalf("Ready on a writable database: %v", err)
	}
	// A second pool on the same database whose sessions are read-only.
	u, _ := url.Parse(dbURL)
	q := u.Query()
	q.Set("default_transaction_read_only", "on")
	u.RawQuery = q.Encode()
	ro, err := postgres.Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if err := ro.Ping(ctx); err != nil {
		t.Fatalf("Ping on the read-only pool: %v", err)
	}
	if err := ro.Ready(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Ready on a read-only database: %v, want ErrUnavailable", err)
	}
	if err := db.Ready(ctx); err != nil {
		t.Fatalf("Ready on the writable pool afterwards: %v", err)
	}
}

// mustOpenURL is mustOpen that also returns the database's URL.
func mustOpenURL(t testing.TB) (*postgres.DB, string) {
	t.Helper()
	admin := adminURL(t)
	ctx := context.Background()
	c, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("GATEHOUSE_TEST_POSTGRES is set but unreachable: %v", err)
	}
	defer c.Close(ctx)
	name := "gh_test_" + secret.NewID()
	if _, err := c.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(admin)
	u.Path = "/" + name
	db, err := postgres.Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Close()
		c, err := pgx.Connect(context.Background(), admin)
		if err == nil {
			c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(context.Background())
		}
	})
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db, u.String()
}
