package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-auth/gatehouse/internal/oidc"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

// OIDCStore is what the OpenID Provider conformance tests need.
type OIDCStore interface {
	oidc.Store
	users.Store
}

// RunOIDC runs the client and consent conformance tests; newStore must return a fresh store.
func RunOIDC(t *testing.T, newStore func(t *testing.T) OIDCStore) {
	t.Run("Clients", func(t *testing.T) { testClients(t, newStore(t)) })
	t.Run("Consents", func(t *testing.T) { testConsents(t, newStore(t)) })
}

func testClients(t *testing.T, s OIDCStore) {
	ctx := context.Background()
	conf := &oidc.Client{ID: secret.NewID(), Name: "Billing", Type: oidc.Confidential, SecretHash: oidc.HashSecret("s"),
		RedirectURIs: []string{"https://app.example/cb", "http://127.0.0.1/cb"}, PostLogoutRedirectURIs: []string{"https://app.example/"},
		AllowedScopes: []string{"openid", "email"}, FirstParty: true, AccessTTL: 5 * time.Minute, IDTTL: time.Minute, CreatedAt: base, UpdatedAt: base,
		BackchannelLogoutURI: "https://app.example/bcl?x=1", BackchannelLogoutSessionRequired: true}
	pub := &oidc.Client{ID: secret.NewID(), Name: "CLI", Type: oidc.Public, RedirectURIs: []string{"com.example.cli:/cb"},
		AllowedScopes: []string{"openid"}, CreatedAt: base, UpdatedAt: base}
	for _, c := range []*oidc.Client{conf, pub} {
		if err := s.CreateClient(ctx, c); err != nil {
			t.Fatalf("CreateClient: %v", err)
		}
		got, err := s.ClientByID(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(c, got); d != "" {
			t.Fatalf("round trip (-want +got):\n%s", d)
		}
	}
	if err := s.CreateClient(ctx, pub); !errors.Is(err, oidc.ErrConflict) {
		t.Fatalf("duplicate CreateClient = %v, want ErrConflict", err)
	}
	list, err := s.ListClients(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("ListClients = %d, %v", len(list), err)
	}
	upd := *pub
	upd.Name, upd.RedirectURIs, upd.FirstParty, upd.UpdatedAt = "CLI 2", []string{"com.example.cli:/cb2"}, true, base.Add(time.Hour)
	upd.BackchannelLogoutURI, upd.BackchannelLogoutSessionRequired = "https://cli.example/bcl", true
	if err := s.UpdateClient(ctx, &upd); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ClientByID(ctx, pub.ID); got == nil || got.Name != "CLI 2" || got.RedirectURIs[0] != "com.example.cli:/cb2" || !got.FirstParty || !got.UpdatedAt.Equal(upd.UpdatedAt) ||
		got.BackchannelLogoutURI != upd.BackchannelLogoutURI || !got.BackchannelLogoutSessionRequired {
		t.Fatalf("after update: %+v", got)
	}
	if err := s.DeleteClient(ctx, pub.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClientByID(ctx, pub.ID); !errors.Is(err, oidc.ErrNotFound) {
		t.Fatalf("deleted client: %v", err)
	}
	if err := s.DeleteClient(ctx, pub.ID); !errors.Is(err, oidc.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if err := s.UpdateClient(ctx, &upd); !errors.Is(err, oidc.ErrNotFound) {
		t.Fatalf("update of a deleted client: %v", err)
	}
}

func testConsents(t *testing.T, s OIDCStore) {
	ctx := context.Background()
	u := &users.User{ID: secret.NewID(), Email: "consent@example.com", CreatedAt: base, UpdatedAt: base}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	c := &oidc.Client{ID: secret.NewID(), Name: "A", Type: oidc.Public, RedirectURIs: []string{"https://a.example/cb"}, AllowedScopes: []string{"openid"}, CreatedAt: base, UpdatedAt: base}
	if err := s.CreateClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Consent(ctx, u.ID, c.ID); !errors.Is(err, oidc.ErrNotFound) {
		t.Fatalf("no consent yet: %v", err)
	}
	want := &oidc.Consent{UserID: u.ID, ClientID: c.ID, Scopes: []string{"openid"}, CreatedAt: base, UpdatedAt: base}
	if err := s.PutConsent(ctx, want); err != nil {
		t.Fatal(err)
	}
	want.Scopes, want.UpdatedAt = []string{"openid", "email"}, base.Add(time.Minute)
	if err := s.PutConsent(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, err := s.Consent(ctx, u.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("consent (-want +got):\n%s", d)
	}
	if list, err := s.ListConsents(ctx, u.ID); err != nil || len(list) != 1 {
		t.Fatalf("ListConsents = %v, %v", list, err)
	}
	if err := s.PutConsent(ctx, &oidc.Consent{UserID: u.ID, ClientID: secret.NewID(), CreatedAt: base, UpdatedAt: base}); !errors.Is(err, oidc.ErrNotFound) {
		t.Fatalf("consent for an unknown client: %v", err)
	}
	if err := s.DeleteConsent(ctx, u.ID, c.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteConsent(ctx, u.ID, c.ID); !errors.Is(err, oidc.ErrNotFound) {
		t.Fatalf("second DeleteConsent: %v", err)
	}
	// Deleting the client takes its consents with it.
	if err := s.PutConsent(ctx, want); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteClient(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if list, err := s.ListConsents(ctx, u.ID); err != nil || len(list) != 0 {
		t.Fatalf("consents after client deletion = %v, %v", list, err)
	}
}
