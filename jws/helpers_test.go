package jws

import (
	"crypto"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	testIssuer   = "https://auth.example.com"
	testAudience = "gatehouse"
)

// accessClaims is a typical Gatehouse access-token claim set (about 400 bytes of JSON).
type accessClaims struct {
	Issuer   string   `json:"iss"`
	Subject  string   `json:"sub"`
	Audience []string `json:"aud"`
	Expiry   int64    `json:"exp"`
	IssuedAt int64    `json:"iat"`
	ID       string   `json:"jti"`
	Session  string   `json:"sid"`
	Scope    string   `json:"scope"`
	ClientID string   `json:"client_id"`
	AMR      []string `json:"amr"`
	ACR      string   `json:"acr"`
	AuthTime int64    `json:"auth_time"`
}

func typicalClaims() accessClaims {
	return accessClaims{
		Issuer:   testIssuer,
		Subject:  "usr_7d3kq2m4x9p1b6v8c5n0zt2wy4",
		Audience: []string{testAudience, "https://api.example.com/orders"},
		Expiry:   testNow.Add(10 * time.Minute).Unix(),
		IssuedAt: testNow.Unix(),
		ID:       "jti_f4k2p9s8d7q3w1e6r5t0y2u8i7",
		Session:  "ses_a1b2c3d4e5f6g7h8i9j0k1l2m3",
		Scope:    "openid profile email orders:read orders:write offline_access",
		ClientID: "gatehouse",
		AMR:      []string{"pwd", "otp"},
		ACR:      "urn:gatehouse:acr:mfa",
		AuthTime: testNow.Add(-time.Hour).Unix(),
	}
}

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

var (
	signersMu sync.Mutex
	signers   = map[Algorithm]*Signer{}
)

// mustSigner returns a Signer for alg with kid "k-"+alg, shared across tests (RSA keys are
// slow to generate).
func mustSigner(tb testing.TB, alg Algorithm) *Signer {
	tb.Helper()
	signersMu.Lock()
	defer signersMu.Unlock()
	if s, ok := signers[alg]; ok {
		return s
	}
	s := mustNewSigner(tb, "k-"+string(alg), alg)
	signers[alg] = s
	return s
}

func mustNewSigner(tb testing.TB, kid string, alg Algorithm) *Signer {
	tb.Helper()
	priv := mustGenerateKey(tb, alg)
	s, err := NewSigner(kid, alg, priv)
	if err != nil {
		tb.Fatalf("NewSigner(%s): %v", alg, err)
	}
	return s
}

func mustGenerateKey(tb testing.TB, alg Algorithm) crypto.Signer {
	tb.Helper()
	priv, err := GenerateKey(alg)
	if err != nil {
		tb.Fatalf("GenerateKey(%s): %v", alg, err)
	}
	return priv
}

func mustSign(tb testing.TB, s *Signer, typ string, claims []byte) string {
	tb.Helper()
	tok, err := s.Sign(typ, claims)
	if err != nil {
		tb.Fatalf("Sign: %v", err)
	}
	return tok
}

func mustParseJWK(tb testing.TB, s string) PublicKey {
	tb.Helper()
	k, err := ParsePublicJWK([]byte(s))
	if err != nil {
		tb.Fatalf("ParsePublicJWK: %v", err)
	}
	return k
}

func mustDecode(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := enc.DecodeString(s)
	if err != nil {
		tb.Fatalf("decode %q: %v", s, err)
	}
	return b
}

// wantErr fails unless err wraps want (or is nil when want is nil).
func wantErr(tb testing.TB, err, want error) {
	tb.Helper()
	switch {
	case want == nil && err != nil:
		tb.Fatalf("unexpected error: %v", err)
	case want != nil && !errors.Is(err, want):
		tb.Fatalf("error = %v, want %v", err, want)
	}
}

func expected() Expected {
	return Expected{Issuer: testIssuer, Audience: testAudience, Typ: "at+jwt", Now: testNow, Leeway: 30 * time.Second}
}
