package jws

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSignVerifyRoundTrip(t *testing.T) {
	for _, alg := range []Algorithm{EdDSA, ES256, RS256} {
		t.Run(string(alg), func(t *testing.T) {
			s := mustSigner(t, alg)
			want := typicalClaims()
			tok := mustSign(t, s, TypeAccessToken, mustJSON(t, want))

			got, err := VerifyAndValidate(tok, Keys{s.PublicKey()}, expected())
			if err != nil {
				t.Fatalf("VerifyAndValidate: %v", err)
			}
			wantHeader := Header{Alg: alg, Kid: s.KeyID(), Typ: "at+jwt"}
			if diff := cmp.Diff(wantHeader, got.Header); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
			c := got.Claims
			if c.Issuer != want.Issuer || c.Subject != want.Subject || c.ID != want.ID ||
				!cmp.Equal([]string(c.Audience), want.Audience) ||
				c.Expiry == nil || int64(*c.Expiry) != want.Expiry ||
				c.IssuedAt == nil || int64(*c.IssuedAt) != want.IssuedAt || c.NotBefore != nil {
				t.Errorf("claims = %+v, want %+v", c, want)
			}
			var private accessClaims
			if err := json.Unmarshal(c.Raw, &private); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, private); diff != "" {
				t.Errorf("raw claims (-want +got):\n%s", diff)
			}

			// The signature has the JWS form of its algorithm, never ASN.1 for ES256.
			wantLen := map[Algorithm]int{EdDSA: 64, ES256: 64, RS256: 256}[alg]
			if len(got.Signature) != wantLen {
				t.Errorf("signature is %d bytes, want %d", len(got.Signature), wantLen)
			}
			// The exact header bytes.
			hdr := mustDecode(t, tok[:strings.IndexByte(tok, '.')])
			wantHdr := `{"alg":"` + string(alg) + `","kid":"` + s.KeyID() + `","typ":"at+jwt"}`
			if string(hdr) != wantHdr {
				t.Errorf("header = %s, want %s", hdr, wantHdr)
			}
		})
	}
}

func TestSignTypes(t *testing.T) {
	s := mustSigner(t, EdDSA)
	claims := mustJSON(t, typicalClaims())
	for _, tc := range []struct {
		name, typ string
		wantErr   error
	}{
		{name: "access token", typ: TypeAccessToken},
		{name: "ID token", typ: TypeJWT},
		{name: "other type computed on demand", typ: "logout+jwt"},
		{name: "needs escaping", typ: `a"b<c`},
		{name: "empty", typ: "", wantErr: ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := s.Sign(tc.typ, claims)
			wantErr(t, err, tc.wantErr)
			if err != nil {
				return
			}
			p, err := Parse(tok)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if p.Header.Typ != tc.typ {
				t.Errorf("typ = %q, want %q", p.Header.Typ, tc.typ)
			}
		})
	}
}

func TestSignRejectsBadClaims(t *testing.T) {
	s := mustSigner(t, EdDSA)
	for _, tc := range []struct {
		name    string
		claims  string
		wantErr error
	}{
		{"not JSON", `iss=x`, ErrMalformed},
		{"array", `["a"]`, ErrMalformed},
		{"duplicate", `{"sub":"a","sub":"b"}`, ErrMalformed},
		{"case variant", `{"sub":"a","SUB":"b"}`, ErrMalformed},
		{"invalid UTF-8", "{\"sub\":\"\xff\"}", ErrMalformed},
		{"trailing data", `{"sub":"a"} x`, ErrMalformed},
		{"too large", `{"x":"` + strings.Repeat("a", MaxTokenSize) + `"}`, ErrTooLarge},
		{"ok", `{"sub":"a"}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Sign("JWT", []byte(tc.claims))
			wantErr(t, err, tc.wantErr)
		})
	}
}

func TestNewSignerChecksKey(t *testing.T) {
	ed := mustGenerateKey(t, EdDSA)
	ec := mustGenerateKey(t, ES256)
	rs := mustGenerateKey(t, RS256)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	brokenEd := append(ed25519.PrivateKey{}, ed.(ed25519.PrivateKey)...)
	brokenEd[40] ^= 1 // public half no longer matches the seed

	for _, tc := range []struct {
		name    string
		kid     string
		alg     Algorithm
		priv    crypto.Signer
		wantErr error
	}{
		{"EdDSA ok", "k", EdDSA, ed, nil},
		{"ES256 ok", "k", ES256, ec, nil},
		{"RS256 ok", "k", RS256, rs, nil},
		{"empty kid", "", EdDSA, ed, ErrInvalidKey},
		{"EdDSA with ECDSA key", "k", EdDSA, ec, ErrInvalidKey},
		{"ES256 with Ed25519 key", "k", ES256, ed, ErrInvalidKey},
		{"ES256 with P-384 key", "k", ES256, p384, ErrInvalidKey},
		{"RS256 with ECDSA key", "k", RS256, ec, ErrInvalidKey},
		{"RS256 with 1024-bit key", "k", RS256, rsa1024, ErrInvalidKey},
		{"inconsistent Ed25519 key", "k", EdDSA, brokenEd, ErrInvalidKey},
		{"none", "k", "none", ed, ErrUnsupportedAlg},
		{"HS256", "k", "HS256", ed, ErrUnsupportedAlg},
		{"ES384", "k", "ES384", p384, ErrUnsupportedAlg},
		{"lower-case eddsa", "k", "eddsa", ed, ErrUnsupportedAlg},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewSigner(tc.kid, tc.alg, tc.priv)
			wantErr(t, err, tc.wantErr)
			if err == nil && (s.Algorithm() != tc.alg || s.KeyID() != tc.kid || s.PublicKey().Algorithm != tc.alg) {
				t.Errorf("signer = %s/%s, want %s/%s", s.Algorithm(), s.KeyID(), tc.alg, tc.kid)
			}
		})
	}
}

func TestGenerateKey(t *testing.T) {
	for _, tc := range []struct {
		alg     Algorithm
		check   func(crypto.Signer) bool
		wantErr error
	}{
		{EdDSA, func(k crypto.Signer) bool { _, ok := k.(ed25519.PrivateKey); return ok }, nil},
		{ES256, func(k crypto.Signer) bool { e, ok := k.(*ecdsa.PrivateKey); return ok && e.Curve == elliptic.P256() }, nil},
		{RS256, func(k crypto.Signer) bool { r, ok := k.(*rsa.PrivateKey); return ok && r.N.BitLen() == 2048 }, nil},
		{"PS256", nil, ErrUnsupportedAlg},
		{"none", nil, ErrUnsupportedAlg},
	} {
		t.Run(string(tc.alg), func(t *testing.T) {
			k, err := GenerateKey(tc.alg)
			wantErr(t, err, tc.wantErr)
			if tc.check != nil && !tc.check(k) {
				t.Errorf("GenerateKey(%s) = %T", tc.alg, k)
			}
		})
	}
}

func TestSignerConcurrent(t *testing.T) {
	s := mustSigner(t, EdDSA)
	claims := mustJSON(t, typicalClaims())
	done := make(chan error, 8)
	for range 8 {
		go func() {
			for range 50 {
				tok, err := s.Sign(TypeAccessToken, claims)
				if err == nil {
					_, err = Verify(tok, Keys{s.PublicKey()})
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
