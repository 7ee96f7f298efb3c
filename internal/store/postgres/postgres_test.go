package postgres_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/postgres"
	"github.com/gatehouse-auth/gatehouse/internal/storetest"
)

// adminURL is the server to create test databases on: GATEHOUSE_TEST_POSTGRES, which CI sets
// (making this suite required), else a local default that is skipped when unreachable.
func adminURL(t testing.TB) string {
	t.Helper()
	if u := os.Getenv("GATEHOUSE_TEST_POSTGRES"); u != "" {
		return u
	}
	const local = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable&connect_timeout=2"
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, local)
	if err != nil {
		t.Skipf("PostgreSQL suite skipped: no server at 127.0.0.1:5432 and GATEHOUSE_TEST_POSTGRES unset (%v)", err)
	}
	c.Close(ctx)
	return local
}

// mustOpen creates a fresh database for this test, migrates it, and drops it afterwards.
func mustOpen(t testing.TB) *postgres.DB {
	t.Helper()
	db, _ := mustOpenURL(t)
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return mustOpen(t) })
}

func TestMigrateTwiceAndConcurrently(t *testing.T) {
	db := mustOpen(t)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			applied, err := db.Migrate(context.Background())
			if err == nil && len(applied) != 0 {
				err = errors.New("re-applied migrations " + strings.Repeat("x", len(applied)))
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func TestUnreachableIsUnavailable(t *testing.T) {
	db, err := postgres.Open(context.Background(), "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
	if err != nil {
		if !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("Open: %v", err)
		}
		return
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.Ping(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Ping: %v", err)
	}
	if _, err := db.UserByEmail(ctx, "a@example.com"); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("query: %v", err)
	}
}
