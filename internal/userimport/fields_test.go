package userimport_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/mfa"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/userimport"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

// TestImportProfileAndTOTPUpsert: an upsert sets the name and metadata a line gives and keeps
// the others; it gives a TOTP seed to a user without a confirmed factor, and leaves a user's
// own confirmed factor in place (totp_secret then listed as ignored).
func TestImportProfileAndTOTPUpsert(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			db := b.open(t)
			ctx := context.Background()
			own := &users.User{ID: secret.NewID(), Email: "own@example.com", Name: "Own", Metadata: `{"a":1}`, CreatedAt: t0, UpdatedAt: t0}
			plain := &users.User{ID: secret.NewID(), Email: "plain@example.com", Name: "Plain", CreatedAt: t0, UpdatedAt: t0}
			for _, u := range []*users.User{own, plain} {
				if err := db.CreateUser(ctx, u); err != nil {
					t.Fatal(err)
				}
			}
			mine := &mfa.Factor{ID: secret.NewID(), UserID: own.ID, Seed: []byte("sealed elsewhere"), CreatedAt: t0}
			if err := db.CreatePendingFactor(ctx, mine); err != nil {
				t.Fatal(err)
			}
			if err := db.ConfirmFactor(ctx, own.ID, mine.ID, t0, nil); err != nil {
				t.Fatal(err)
			}
			im, _ := newImporter(db)
			input := `{"email":"own@example.com","name":"Own Renamed","totp_secret":"JBSWY3DPEHPK3PXP"}
{"email":"plain@example.com","metadata":{"b":2},"totp_secret":"JBSWY3DPEHPK3PXP"}
{"email":"new@example.com","name":"  padded "}
{"email":"new@example.com","metadata":[1]}`
			got, _ := run(t, im, input, userimport.Options{Upsert: true})
			check(t, got, []want{{userimport.Updated, ""}, {userimport.Updated, ""}, {userimport.Invalid, "name"}, {userimport.Invalid, "metadata"}})
			if strings.Join(got[0].Ignored, ",") != "totp_secret" || len(got[1].Ignored) != 0 {
				t.Fatalf("ignored %v %v", got[0].Ignored, got[1].Ignored)
			}
			if u, _ := db.UserByEmail(ctx, "own@example.com"); u.Name != "Own Renamed" || u.Metadata != `{"a":1}` {
				t.Fatalf("own %+v", u)
			}
			if f, err := db.Factor(ctx, own.ID); err != nil || f.ID != mine.ID {
				t.Fatalf("the user's own factor was replaced: %+v %v", f, err)
			}
			if u, _ := db.UserByEmail(ctx, "plain@example.com"); u.Name != "Plain" || u.Metadata != `{"b":2}` {
				t.Fatalf("plain %+v", u)
			}
			if f, err := db.Factor(ctx, plain.ID); err != nil || !f.Confirmed() {
				t.Fatalf("plain got no confirmed factor: %+v %v", f, err)
			}
		})
	}
}

// TestImportAuth0Name: an Auth0 line's name is the user's name, unless it is just the email
// address (what Auth0 fills in when the user gave none).
func TestImportAuth0Name(t *testing.T) {
	db := openSQLite(t)
	ctx := context.Background()
	im, _ := newImporter(db)
	input := `{"_id":{"$oid":"1"},"email":"ann@example.com","name":"Ann Lee"}
{"_id":{"$oid":"2"},"email":"bob@example.com","name":"bob@example.com"}`
	got, _ := run(t, im, input, userimport.Options{Format: userimport.FormatAuth0, Issuer: "https://t.auth0.com/"})
	check(t, got, []want{{userimport.Created, ""}, {userimport.Created, ""}})
	if u, _ := db.UserByEmail(ctx, "ann@example.com"); u.Name != "Ann Lee" {
		t.Fatalf("ann %+v", u)
	}
	if u, _ := db.UserByEmail(ctx, "bob@example.com"); u.Name != "" {
		t.Fatalf("bob %+v", u)
	}
}
