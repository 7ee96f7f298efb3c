package legacy_test

import (
	"github.com/gatehouse-auth/gatehouse/internal/users"

	"context"
	"errors"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/legacy"
)

// FuzzExchange feeds arbitrary subject tokens to the exchange: whatever comes in, the answer
// is a *legacy.Refusal (invalid_grant) or, for an authentic token, a session; never a panic
// or a store-failure error.
func FuzzExchange(f *testing.F) {
	fx := newFixture(f, openSQLite(f), generous)
	u := fx.mustUser(f, "fuzz@example.com", true)
	if err := fx.db.LinkIdentity(context.Background(), users.Identity{Issuer: fx.rs.Issuer, Subject: "auth0|fuzz", UserID: u.ID}); err != nil {
		f.Fatal(err)
	}
	f.Add(sign(f, fx.rsKey(), map[string]any{"x5c": []string{"MIIB"}}, fx.claims("auth0|fuzz")), legacy.TokenTypeAccess)
	f.Add(sign(f, fx.rsKey(), map[string]any{"typ": "at+jwt"}, map[string]any{"iss": fx.rs.Issuer, "sub": 1}), legacy.TokenTypeJWT)
	f.Add("eyJhbGciOiJSUzI1NiJ9.e30.", legacy.TokenTypeID)
	f.Add("a.b.c", "urn:x")
	f.Fuzz(func(t *testing.T, token, typ string) {
		_, err := fx.svc.Exchange(context.Background(), token, typ, testClient)
		if err != nil && !errors.Is(err, legacy.ErrRefused) {
			t.Fatalf("Exchange: %v", err)
		}
	})
}
