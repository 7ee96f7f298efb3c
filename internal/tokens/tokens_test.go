package tokens_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/clock"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
	"github.com/gatehouse-auth/gatehouse/internal/tokens"
	"github.com/gatehouse-auth/gatehouse/jws"
)

// keyring is a one-key Signer and KeySet whose key can be withdrawn.
type keyring struct {
	mu        sync.Mutex
	signer    *jws.Signer
	withdrawn bool
}

func newKeyring(t testing.TB) *keyring {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jws.NewSigner("k1", jws.EdDSA, priv)
	if err != nil {
		t.Fatal(err)
	}
	return &keyring{signer: s}
}

func (k *keyring) Signer(context.Context) (*jws.Signer, error) { return k.signer, nil }

func (k *keyring) Key(kid string) (jws.PublicKey, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.withdrawn || kid != k.signer.KeyID() {
		return jws.PublicKey{}, false
	}
	return k.signer.PublicKey(), true
}

func newService(t testing.TB) (*tokens.Service, *keyring, *clock.Fake) {
	kr := newKeyring(t)
	c := clock.NewFake(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	return tokens.New(kr, kr, nil, nil, tokens.Config{Issuer: "https://issuer.example"}, c.Now), kr, c
}

func mustIssue(t testing.TB, s *tokens.Service) *tokens.Access {
	t.Helper()
	a, err := s.IssueAccess(context.Background(), &sessions.Session{ID: "sid-1", UserID: "user-1", AuthTime: time.Unix(1, 0)}, "openid")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestParseAccessCacheKeepsEveryCheck: a token seen before is not re-verified, but the
// answer must stay what a full verification would give: expiry, not-yet-valid, a withdrawn
// key and any change to the string are all still refused.
func TestParseAccessCacheKeepsEveryCheck(t *testing.T) {
	leeway := 30 * time.Second
	tests := []struct {
		name  string
		after func(kr *keyring, c *clock.Fake) // applied after the token was accepted once
		tok   func(raw string) string
		ok    bool
	}{
		{"same token again", func(*keyring, *clock.Fake) {}, nil, true},
		{"just before exp + leeway", func(_ *keyring, c *clock.Fake) { c.Add(10*time.Minute + leeway - time.Second) }, nil, true},
		{"at exp + leeway", func(_ *keyring, c *clock.Fake) { c.Add(10*time.Minute + leeway) }, nil, false},
		{"clock set back before iat - leeway", func(_ *keyring, c *clock.Fake) { c.Add(-leeway - time.Second) }, nil, false},
		{"key withdrawn", func(kr *keyring, _ *clock.Fake) { kr.mu.Lock(); kr.withdrawn = true; kr.mu.Unlock() }, nil, false},
		{"signature changed", func(*keyring, *clock.Fake) {}, func(raw string) string {
			i := strings.LastIndexByte(raw, '.') + 5
			b := []byte(raw)
			b[i] ^= 1
			return string(b)
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, kr, c := newService(t)
			a := mustIssue(t, s)
			raw := string(a.Token)
			if _, err := s.ParseAccess(raw); err != nil {
				t.Fatalf("first use: %v", err)
			}
			tt.after(kr, c)
			if tt.tok != nil {
				raw = tt.tok(raw)
			}
			got, err := s.ParseAccess(raw)
			if tt.ok {
				if err != nil || got.ID != a.Claims.ID || got.Session != "sid-1" || got.Subject != "user-1" {
					t.Fatalf("ParseAccess = %+v, %v; want the token's claims", got, err)
				}
				got.Subject = "changed" // callers get a copy
				if again, _ := s.ParseAccess(raw); again.Subject != "user-1" {
					t.Fatal("cached claims were changed through a returned copy")
				}
			} else if !errors.Is(err, tokens.ErrInvalid) {
				t.Fatalf("ParseAccess err = %v, want ErrInvalid", err)
			}
		})
	}
}

// BenchmarkParseAccessSeen is the bearer hot path: a token presented before is not verified
// again (a new one costs the signature verification, 65 µs for Ed25519; see docs/performance.md).
func BenchmarkParseAccessSeen(b *testing.B) {
	s, _, _ := newService(b)
	raw := string(mustIssue(b, s).Token)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.ParseAccess(raw); err != nil {
			b.Fatal(err)
		}
	}
}
