package sessions_test

import (
	"context"
	"slices"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/sessions"
)

// TestEndHook: every deliberate end of a registered client's session is reported (one
// session, or all of a user's), first-party sessions and failed revocations are not.
func TestEndHook(t *testing.T) {
	f := newFixture(t, sessions.Config{})
	ctx := context.Background()
	var got []string
	f.m.WithEndHook(func(_ context.Context, ended []*sessions.Session) {
		for _, s := range ended {
			got = append(got, s.ClientID+":"+s.ID)
		}
	})
	create := func(client string) *sessions.Session {
		s, _, err := f.m.Create(ctx, f.user, sessions.Meta{AMR: []string{"pwd"}, ClientID: client})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, fp := create("client-a"), create("")
	if err := f.m.Revoke(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.m.Revoke(ctx, fp.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.m.Revoke(ctx, a.ID); err == nil {
		t.Fatal("second revoke succeeded")
	}
	if want := []string{"client-a:" + a.ID}; !slices.Equal(got, want) {
		t.Fatalf("after Revoke: %v, want %v", got, want)
	}
	got = nil
	b, c, keep := create("client-b"), create("client-c"), create("client-d")
	create("")
	if _, err := f.m.RevokeUser(ctx, f.user, keep.ID); err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	want := []string{"client-b:" + b.ID, "client-c:" + c.ID}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("after RevokeUser: %v, want %v", got, want)
	}
}
