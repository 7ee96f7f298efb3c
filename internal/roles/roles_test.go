package roles_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/roles"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

func TestGrantIsTheIntersection(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := func() time.Time { return time.Unix(1_800_000_000, 0) }
	svc := roles.New(db, audit.NewLog(db, now), now)
	u := &users.User{ID: secret.NewID(), Email: "g@example.com", CreatedAt: now(), UpdatedAt: now()}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Create(ctx, "writer", []string{"orders:write", "orders:read"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetUserRoles(ctx, u.ID, []string{"writer", "writer"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ asked, want string }{
		{"", ""},
		{"orders:write", "orders:write"},
		{"orders:delete admin orders:write", "orders:write"},
		{"  orders:read   orders:write orders:read ", "orders:read orders:write"},
		{"nothing:granted", ""},
	} {
		got, err := svc.Grant(ctx, u.ID, tc.asked)
		if err != nil || got != tc.want {
			t.Errorf("Grant(%q) = %q, %v; want %q", tc.asked, got, err, tc.want)
		}
	}
	if got, _ := svc.Grant(ctx, secret.NewID(), "orders:write"); got != "" {
		t.Errorf("a user without roles was granted %q", got)
	}
	var ie *roles.InputError
	if _, err := svc.Grant(ctx, u.ID, "bad\"scope"); !errors.As(err, &ie) {
		t.Errorf("a malformed scope: %v", err)
	}
	for _, name := range []string{"", "-lead", "has space", "x/y", string(make([]byte, 65))} {
		if _, err := svc.Create(ctx, name, nil); !errors.As(err, &ie) {
			t.Errorf("Create(%q) = %v, want InputError", name, err)
		}
	}
	evs, err := db.ListEvents(ctx, audit.Filter{Limit: 10})
	if err != nil || len(evs) != 2 || evs[0].Type != roles.EventCreated || evs[1].Type != roles.EventUserAssigned || evs[1].UserID != u.ID {
		t.Fatalf("audit trail: %+v %v", evs, err)
	}
}
