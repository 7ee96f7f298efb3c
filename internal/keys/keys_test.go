package keys_test

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/clock"

	"github.com/gatehouse-auth/gatehouse/internal/keys"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-auth/gatehouse/jws"
)

var testCfg = keys.Config{RotateEvery: 24 * time.Hour, JWKSMaxAge: 10 * time.Minute, MaxTokenLifetime: 15 * time.Minute}

func setup(t *testing.T, cfg keys.Config) (*keys.Manager, *sqlite.DB, *clock.Fake, []byte) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	kek := make([]byte, 32)
	rand.Read(kek)
	c := clock.NewFake(time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC))
	m, err := keys.NewManager(db, kek, cfg, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	return m, db, c, kek
}

func signerID(t *testing.T, m *keys.Manager) string {
	t.Helper()
	s, err := m.Signer(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s.PublicKey().ID
}

func published(t *testing.T, m *keys.Manager) map[string]bool {
	t.Helper()
	pks, err := m.PublicKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, k := range pks {
		out[k.ID] = true
	}
	return out
}

func TestSignAndVerifyEachAlgorithm(t *testing.T) {
	for _, alg := range []jws.Algorithm{jws.EdDSA, jws.ES256, jws.RS256} {
		t.Run(string(alg), func(t *testing.T) {
			cfg := testCfg
			cfg.Algorithm = alg
			m, _, _, _ := setup(t, cfg)
			s, err := m.Signer(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			tok, err := s.Sign("at+jwt", []byte(`{"iss":"x"}`))
			if err != nil {
				t.Fatal(err)
			}
			got, err := jws.Verify(tok, m)
			if err != nil {
				t.Fatalf("our own token does not verify against our key set: %v", err)
			}
			if got.Header.Alg != alg {
				t.Fatalf("alg %s", got.Header.Alg)
			}
		})
	}
}

func TestPrivateKeysSealedAtRest(t *testing.T) {
	_, db, c, kek := setup(t, testCfg)
	stored, err := db.SigningKeys(context.Background())
	if err != nil || len(stored) != 1 {
		t.Fatalf("%d keys, %v", len(stored), err)
	}
	blob := stored[0].PrivateKey
	for i := range blob { // no offset of the blob is a PKCS#8 key in clear
		if _, err := x509.ParsePKCS8PrivateKey(blob[i:]); err == nil {
			t.Fatal("private key stored in clear")
		}
	}
	other := make([]byte, 32)
	rand.Read(other)
	m2, _ := keys.NewManager(db, other, testCfg, c.Now)
	if _, err := m2.Signer(context.Background()); err == nil {
		t.Fatal("keys opened with the wrong key-encryption key")
	}
	// A sealed key moved to another id (or algorithm) does not open either: the id is bound.
	moved := *stored[0]
	moved.ID = "zzzzzzzzzzzzzzzzzzzzzzzzzz"
	if err := db.CreateSigningKey(context.Background(), &moved); err != nil {
		t.Fatal(err)
	}
	m3, _ := keys.NewManager(db, kek, testCfg, c.Now)
	if _, err := m3.Signer(context.Background()); err == nil {
		t.Fatal("a sealed key copied under another id was accepted")
	}
}

// TestStagedRotation walks a full rotation by moving the clock.
func TestStagedRotation(t *testing.T) {
	m, _, c, _ := setup(t, testCfg)
	ctx := context.Background()
	first := signerID(t, m)
	if !published(t, m)[first] {
		t.Fatal("active key not in the JWKS")
	}
	c.Add(24 * time.Hour)
	if err := m.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	pub := published(t, m)
	if len(pub) != 2 {
		t.Fatalf("successor not published: %v", pub)
	}
	if signerID(t, m) != first {
		t.Fatal("a freshly published key signs before JWKS caches could know it")
	}
	var second string
	for id := range pub {
		if id != first {
			second = id
		}
	}
	c.Add(10*time.Minute + time.Minute) // JWKS max-age plus margin
	if err := m.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	if got := signerID(t, m); got != second {
		t.Fatalf("signer %s, want the successor %s", got, second)
	}
	if !published(t, m)[first] {
		t.Fatal("the old key left the JWKS while tokens it signed are still valid")
	}
	c.Add(15*time.Minute - time.Second)
	if err := m.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	if !published(t, m)[first] {
		t.Fatal("old key retired before its longest token expired")
	}
	c.Add(2 * time.Second)
	m.Maintain(ctx)
	if published(t, m)[first] {
		t.Fatal("old key still published after its tokens expired")
	}
	if _, ok := m.Key(first); ok {
		t.Fatal("retired key still verifies")
	}
	// No second successor until the next rotation is due.
	m.Maintain(ctx)
	if n := len(published(t, m)); n != 1 {
		t.Fatalf("%d keys published", n)
	}
}

func TestEmergencyRotation(t *testing.T) {
	m, _, _, _ := setup(t, testCfg)
	ctx := context.Background()
	old := signerID(t, m)
	s, _ := m.Signer(ctx)
	tok, _ := s.Sign("at+jwt", []byte(`{"iss":"x"}`))
	id, err := m.RotateNow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if signerID(t, m) != id || id == old {
		t.Fatal("emergency rotation did not switch the signer")
	}
	if published(t, m)[old] {
		t.Fatal("compromised key still published")
	}
	if _, err := jws.Verify(tok, m); err == nil {
		t.Fatal("token of the retired key still verifies")
	}
	list, err := m.List(ctx)
	if err != nil || len(list) != 1 || list[0].State != "active" {
		t.Fatalf("List = %+v, %v", list, err)
	}
}

func TestSecondInstanceSeesSameKeys(t *testing.T) {
	m, db, c, kek := setup(t, testCfg)
	other, err := keys.NewManager(db, kek, testCfg, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if signerID(t, other) != signerID(t, m) {
		t.Fatal("a second instance made its own key instead of using the stored one")
	}
}
