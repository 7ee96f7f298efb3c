package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-auth/gatehouse/internal/roles"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// RoleStore is what the roles conformance tests need.
type RoleStore interface {
	Store
	roles.Store
	// ObserveOps makes the store time its statements (store.Observer).
	ObserveOps(o store.Observer)
}

// RunRoles runs the roles conformance tests (and those of the session's requested scope and
// of statement timing); newStore must return a fresh store.
func RunRoles(t *testing.T, newStore func(t *testing.T) RoleStore) {
	t.Run("Roles", func(t *testing.T) { testRoles(t, newStore(t)) })
	t.Run("UserRoles", func(t *testing.T) { testUserRoles(t, newStore(t)) })
	t.Run("SessionRequestedScope", func(t *testing.T) { testSessionRequestedScope(t, newStore(t)) })
	t.Run("ObserveOps", func(t *testing.T) { testObserveOps(t, newStore(t)) })
}

func testRoles(t *testing.T, s RoleStore) {
	ctx := context.Background()
	w := &roles.Role{Name: "writer", Scopes: []string{"orders:read", "orders:write"}, CreatedAt: base, UpdatedAt: base}
	r := &roles.Role{Name: "reader", Scopes: []string{"orders:read"}, CreatedAt: base, UpdatedAt: base}
	for _, x := range []*roles.Role{w, r} {
		if err := s.CreateRole(ctx, x); err != nil {
			t.Fatalf("CreateRole(%s): %v", x.Name, err)
		}
	}
	if err := s.CreateRole(ctx, &roles.Role{Name: "writer", CreatedAt: base, UpdatedAt: base}); !errors.Is(err, roles.ErrConflict) {
		t.Fatalf("duplicate CreateRole = %v, want ErrConflict", err)
	}
	got, err := s.RoleByName(ctx, "writer")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(w, got); d != "" {
		t.Fatalf("round trip (-want +got):\n%s", d)
	}
	if _, err := s.RoleByName(ctx, "nobody"); !errors.Is(err, roles.ErrNotFound) {
		t.Fatalf("RoleByName(missing) = %v, want ErrNotFound", err)
	}
	list, err := s.ListRoles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]*roles.Role{r, w}, list); d != "" {
		t.Fatalf("ListRoles ordered by name (-want +got):\n%s", d)
	}
	w.Scopes, w.UpdatedAt = []string{"orders:write"}, base.Add(time.Hour)
	if err := s.UpdateRole(ctx, w); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.RoleByName(ctx, "writer"); !cmp.Equal(w, got) {
		t.Fatalf("after update got %+v, want %+v", got, w)
	}
	if err := s.UpdateRole(ctx, &roles.Role{Name: "nobody"}); !errors.Is(err, roles.ErrNotFound) {
		t.Fatalf("UpdateRole(missing) = %v, want ErrNotFound", err)
	}
	if err := s.DeleteRole(ctx, "reader"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRole(ctx, "reader"); !errors.Is(err, roles.ErrNotFound) {
		t.Fatalf("second DeleteRole = %v, want ErrNotFound", err)
	}
}

func testUserRoles(t *testing.T, s RoleStore) {
	ctx := context.Background()
	u := mustUser(t, s, "roles@example.com")
	other := mustUser(t, s, "other@example.com")
	for _, x := range []*roles.Role{
		{Name: "a", Scopes: []string{"x", "y"}, CreatedAt: base, UpdatedAt: base},
		{Name: "b", Scopes: []string{"y", "z"}, CreatedAt: base, UpdatedAt: base},
		{Name: "c", Scopes: []string{"secret"}, CreatedAt: base, UpdatedAt: base},
	} {
		if err := s.CreateRole(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	check := func(userID string, wantRoles, wantScopes []string) {
		t.Helper()
		rs, err := s.UserRoles(ctx, userID)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := s.UserRoleScopes(ctx, userID)
		if err != nil {
			t.Fatal(err)
		}
		if !cmp.Equal(wantRoles, rs, cmpEmpty) || !cmp.Equal(wantScopes, sc, cmpEmpty) {
			t.Fatalf("user roles %q scopes %q, want %q %q", rs, sc, wantRoles, wantScopes)
		}
	}
	check(u.ID, nil, nil)
	if err := s.SetUserRoles(ctx, u.ID, []string{"a", "b"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUserRoles(ctx, other.ID, []string{"c"}); err != nil {
		t.Fatal(err)
	}
	check(u.ID, []string{"a", "b"}, []string{"x", "y", "z"})
	check(other.ID, []string{"c"}, []string{"secret"})

	// An unknown role changes nothing; neither does an unknown user.
	if err := s.SetUserRoles(ctx, u.ID, []string{"a", "ghost"}); !errors.Is(err, roles.ErrNotFound) {
		t.Fatalf("SetUserRoles(unknown role) = %v, want ErrNotFound", err)
	}
	check(u.ID, []string{"a", "b"}, []string{"x", "y", "z"})
	if err := s.SetUserRoles(ctx, secret.NewID(), []string{"a"}); !errors.Is(err, roles.ErrUnknownUser) {
		t.Fatalf("SetUserRoles(unknown user) = %v, want ErrUnknownUser", err)
	}

	// Replacing, then a role's deletion and a user's deletion take the assignments along.
	if err := s.SetUserRoles(ctx, u.ID, []string{"b"}); err != nil {
		t.Fatal(err)
	}
	check(u.ID, []string{"b"}, []string{"y", "z"})
	if err := s.DeleteRole(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	check(u.ID, nil, nil)
	if err := s.DeleteUser(ctx, other.ID); err != nil {
		t.Fatal(err)
	}
	check(other.ID, nil, nil)
	if err := s.SetUserRoles(ctx, u.ID, []string{"c"}); err != nil {
		t.Fatal(err)
	}

	// Concurrent replacements leave one of the sets, never a mix.
	var wg sync.WaitGroup
	for _, set := range [][]string{{"a"}, {"c"}, {"a", "c"}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.SetUserRoles(ctx, u.ID, set); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	rs, _ := s.UserRoles(ctx, u.ID)
	if !cmp.Equal(rs, []string{"a"}) && !cmp.Equal(rs, []string{"c"}) && !cmp.Equal(rs, []string{"a", "c"}) {
		t.Fatalf("after concurrent replacements: %q", rs)
	}
}

// cmpEmpty treats nil and empty slices alike.
var cmpEmpty = cmp.Comparer(func(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
})

func testSessionRequestedScope(t *testing.T, s RoleStore) {
	ctx := context.Background()
	u := mustUser(t, s, "scope@example.com")
	ss := &sessions.Session{
		ID: secret.NewID(), UserID: u.ID, SecretHash: secret.Hash(secret.NewToken()),
		CreatedAt: base, LastSeenAt: base, ExpiresAt: base.Add(time.Hour), AuthTime: base,
		ClientID: "gatehouse", RequestedScope: "orders:read orders:write",
	}
	if err := s.CreateSession(ctx, ss); err != nil {
		t.Fatal(err)
	}
	got, err := s.SessionByID(ctx, ss.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.RequestedScope != ss.RequestedScope {
		t.Fatalf("RequestedScope = %q, want %q", got.RequestedScope, ss.RequestedScope)
	}
	plain := mustSession(t, s, u.ID, base)
	if got, _ := s.SessionByID(ctx, plain.ID); got.RequestedScope != "" {
		t.Fatalf("RequestedScope of a session without = %q", got.RequestedScope)
	}
}

func testObserveOps(t *testing.T, s RoleStore) {
	ctx := context.Background()
	u := mustUser(t, s, "ops@example.com")
	var mu sync.Mutex
	seen := map[string]int{}
	s.ObserveOps(func(op string, d time.Duration) {
		if d < 0 {
			t.Errorf("negative duration for %s", op)
		}
		mu.Lock()
		seen[op]++
		mu.Unlock()
	})
	ss := mustSession(t, s, u.ID, base)
	if _, err := s.SessionByID(ctx, ss.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchSession(ctx, ss.ID, base.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	s.ObserveOps(nil)
	if _, err := s.SessionByID(ctx, ss.ID); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for op, n := range map[string]int{"insert_sessions": 1, "select_sessions": 1, "update_sessions": 1} {
		if seen[op] != n {
			t.Errorf("observed %s %d times, want %d (all: %v)", op, seen[op], n, seen)
		}
	}
}
