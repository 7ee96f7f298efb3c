package tokens_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/clock"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-auth/gatehouse/internal/tokens"
	"github.com/gatehouse-auth/gatehouse/jws"
)

// fakeKeys is the access-key directory a client token is checked against.
type fakeKeys struct {
	live map[string]string // key id → subject, for live keys
	err  error
}

func (f *fakeKeys) lookup(_ context.Context, id string) (string, bool, error) {
	sub, ok := f.live[id]
	return sub, ok, f.err
}

func newClientService(t *testing.T) (*tokens.Service, *keyring, *clock.Fake, *sessions.Manager, *fakeKeys) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	kr := newKeyring(t)
	c := clock.NewFake(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	sm := sessions.NewManager(db, sessions.Config{}, c.Now)
	fk := &fakeKeys{live: map[string]string{}}
	s := tokens.New(kr, kr, sm, sm, tokens.Config{Issuer: "https://issuer.example"}, c.Now).WithClients(fk.lookup)
	return s, kr, c, sm, fk
}

// TestClientTokens: a token minted from an access key has no sid and is accepted only by
// the client check, only while its key is live; session tokens stay as strict as before.
func TestClientTokens(t *testing.T) {
	ctx := context.Background()
	s, kr, c, sm, fk := newClientService(t)
	keyID, owner := secret.NewID(), secret.NewID()
	fk.live[keyID] = owner
	a, err := s.IssueClientAccess(ctx, owner, keyID, "orders:read")
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	p, _ := jws.Parse(string(a.Token))
	json.Unmarshal(p.Claims.Raw, &raw)
	for _, absent := range []string{"sid", "amr", "auth_time"} {
		if _, ok := raw[absent]; ok {
			t.Errorf("client token carries %q: %v", absent, raw)
		}
	}
	if raw["client_id"] != keyID || raw["sub"] != owner || raw["scope"] != "orders:read" {
		t.Fatalf("claims %v", raw)
	}
	tok := string(a.Token)
	if got, err := s.VerifyClientAccess(ctx, tok); err != nil || got.ClientID != keyID || !got.IsClient() {
		t.Fatalf("VerifyClientAccess = %+v, %v", got, err)
	}
	if _, err := s.ParseAccess(tok); !errors.Is(err, tokens.ErrInvalid) {
		t.Fatalf("ParseAccess accepted a client token: %v", err)
	}
	if _, _, err := s.VerifyAccess(ctx, tok); !errors.Is(err, tokens.ErrInvalid) {
		t.Fatalf("VerifyAccess accepted a client token: %v", err)
	}
	sessTok := mustIssue(t, s)
	if _, err := s.VerifyClientAccess(ctx, string(sessTok.Token)); !errors.Is(err, tokens.ErrInvalid) {
		t.Fatalf("VerifyClientAccess accepted a session token: %v", err)
	}

	// Tokens without sid that are not well-formed client tokens are refused by every check.
	now := c.Now().Unix()
	for name, claims := range map[string]map[string]any{
		"no sid, first-party client": {"client_id": "gatehouse"},
		"no sid, no client":          {},
		"no sid, amr":                {"client_id": keyID, "amr": []string{"pwd"}},
		"no sid, auth_time":          {"client_id": keyID, "auth_time": now},
	} {
		claims["iss"], claims["sub"], claims["aud"], claims["exp"], claims["iat"], claims["jti"] = "https://issuer.example", owner, []string{"gatehouse"}, now+600, now, secret.NewID()
		b, _ := json.Marshal(claims)
		forged, err := kr.signer.Sign(tokens.TypeAccess, b)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Parse(forged); !errors.Is(err, tokens.ErrInvalid) {
			t.Errorf("%s: Parse = %v, want ErrInvalid", name, err)
		}
		if _, err := s.VerifyClientAccess(ctx, forged); !errors.Is(err, tokens.ErrInvalid) {
			t.Errorf("%s: VerifyClientAccess = %v, want ErrInvalid", name, err)
		}
	}

	// Store failure: not ErrInvalid (the caller answers 503).
	fk.err = errors.New("down")
	if _, err := s.VerifyClientAccess(ctx, tok); err == nil || errors.Is(err, tokens.ErrInvalid) {
		t.Fatalf("lookup failure: %v", err)
	}
	fk.err = nil

	// The key's subject changed (it cannot, but a token must match what the key says).
	fk.live[keyID] = keyID
	if _, err := s.VerifyClientAccess(ctx, tok); !errors.Is(err, tokens.ErrInvalid) {
		t.Fatalf("subject mismatch: %v", err)
	}
	fk.live[keyID] = owner

	// Owner disabled: a client entry covers tokens issued up to now; the owner enabled again,
	// new tokens work, old ones stay dead.
	if err := sm.RevokeClients(ctx, owner, []string{keyID}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.VerifyClientAccess(ctx, tok); !errors.Is(err, tokens.ErrInvalid) {
		t.Fatalf("after the owner's revocation: %v", err)
	}
	c.Add(time.Second)
	fresh, _ := s.IssueClientAccess(ctx, owner, keyID, "orders:read")
	if _, err := s.VerifyClientAccess(ctx, string(fresh.Token)); err != nil {
		t.Fatalf("a token minted after the revocation: %v", err)
	}
	// The key deleted: live says no.
	delete(fk.live, keyID)
	if _, err := s.VerifyClientAccess(ctx, string(fresh.Token)); !errors.Is(err, tokens.ErrInvalid) {
		t.Fatalf("deleted key: %v", err)
	}
	// One token revoked by jti (RFC 7009).
	fk.live[keyID] = owner
	if err := sm.RevokeTokenID(ctx, fresh.Claims.ID, "", owner, c.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.VerifyClientAccess(ctx, string(fresh.Token)); !errors.Is(err, tokens.ErrInvalid) {
		t.Fatalf("revoked jti: %v", err)
	}
	// Without WithClients nothing is accepted.
	bare := tokens.New(kr, kr, sm, sm, tokens.Config{Issuer: "https://issuer.example"}, c.Now)
	other, _ := s.IssueClientAccess(ctx, owner, keyID, "")
	if _, err := bare.VerifyClientAccess(ctx, string(other.Token)); !errors.Is(err, tokens.ErrInvalid) {
		t.Fatalf("no client lookup: %v", err)
	}
}
