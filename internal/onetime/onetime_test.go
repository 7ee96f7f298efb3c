package onetime_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/onetime"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlite"
)

func TestIssueRedeem(t *testing.T) {
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now()
	c := onetime.New(db, func() time.Time { return now })
	ctx := context.Background()
	code, err := c.Issue(ctx, []byte("session-123"), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// Stored hashed: the code itself is not a key in the store.
	if _, err := db.ConsumeCode(ctx, string(code), now); !errors.Is(err, onetime.ErrNotFound) {
		t.Fatal("code stored in clear")
	}
	v, err := c.Redeem(ctx, string(code))
	if err != nil || string(v) != "session-123" {
		t.Fatalf("redeem: %q %v", v, err)
	}
	if _, err := c.Redeem(ctx, string(code)); !errors.Is(err, onetime.ErrNotFound) {
		t.Fatalf("second redeem: %v", err)
	}
	late, _ := c.Issue(ctx, []byte("x"), 10*time.Second)
	now = now.Add(11 * time.Second) // the 10-second handoff window is over
	if _, err := c.Redeem(ctx, string(late)); !errors.Is(err, onetime.ErrNotFound) {
		t.Fatalf("expired code redeemed: %v", err)
	}
	for _, bad := range []string{"", "x", strings.Repeat("A", 43) + "=", string(code) + "A"} {
		if _, err := c.Redeem(ctx, bad); !errors.Is(err, onetime.ErrNotFound) {
			t.Fatalf("%q: %v", bad, err)
		}
	}
}
