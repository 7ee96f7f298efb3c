package jws

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	foreignRSAOnce sync.Once
	foreignRSA     *rsa.PrivateKey
)

func testRSAKey(tb testing.TB) *rsa.PrivateKey {
	tb.Helper()
	foreignRSAOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		foreignRSA = k
	})
	return foreignRSA
}

// foreignSign signs a token the way another provider would, for any ForeignAlgorithms.
func foreignSign(tb testing.TB, alg Algorithm, priv crypto.Signer, header, claims string) string {
	tb.Helper()
	in := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString([]byte(claims))
	var sig []byte
	var err error
	switch alg {
	case RS256:
		h := sha256.Sum256([]byte(in))
		sig, err = rsa.SignPKCS1v15(rand.Reader, priv.(*rsa.PrivateKey), crypto.SHA256, h[:])
	case RS384:
		h := sha512.Sum384([]byte(in))
		sig, err = rsa.SignPKCS1v15(rand.Reader, priv.(*rsa.PrivateKey), crypto.SHA384, h[:])
	case RS512:
		h := sha512.Sum512([]byte(in))
		sig, err = rsa.SignPKCS1v15(rand.Reader, priv.(*rsa.PrivateKey), crypto.SHA512, h[:])
	case PS256:
		h := sha256.Sum256([]byte(in))
		sig, err = rsa.SignPSS(rand.Reader, priv.(*rsa.PrivateKey), crypto.SHA256, h[:], &rsa.PSSOptions{SaltLength: 32})
	case ES256, ES384:
		var h []byte
		size := 32
		if alg == ES256 {
			s := sha256.Sum256([]byte(in))
			h = s[:]
		} else {
			s := sha512.Sum384([]byte(in))
			h, size = s[:], 48
		}
		var r, s *big.Int
		r, s, err = ecdsa.Sign(rand.Reader, priv.(*ecdsa.PrivateKey), h)
		if err == nil {
			sig = make([]byte, 2*size)
			r.FillBytes(sig[:size])
			s.FillBytes(sig[size:])
		}
	case EdDSA:
		sig = ed25519.Sign(priv.(ed25519.PrivateKey), []byte(in))
	}
	if err != nil {
		tb.Fatal(err)
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func foreignKeyFor(tb testing.TB, alg Algorithm) (crypto.Signer, PublicKey) {
	tb.Helper()
	var priv crypto.Signer
	var err error
	switch alg {
	case RS256, RS384, RS512, PS256:
		priv = testRSAKey(tb)
	case ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case ES384:
		priv, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	}
	if err != nil {
		tb.Fatal(err)
	}
	pk, err := NewForeignPublicKey("k1", alg, priv.Public())
	if err != nil {
		tb.Fatal(err)
	}
	return priv, pk
}

const foreignClaims = `{"iss":"https://tenant.example.com/","sub":"auth0|1","aud":["api","https://tenant.example.com/userinfo"],"exp":2000000000,"iat":1700000000}`

func TestVerifyForeignAlgorithms(t *testing.T) {
	for _, alg := range ForeignAlgorithms {
		t.Run(string(alg), func(t *testing.T) {
			priv, pk := foreignKeyFor(t, alg)
			tok := foreignSign(t, alg, priv, `{"alg":"`+string(alg)+`","kid":"k1","typ":"JWT","x5t":"abc"}`, foreignClaims)
			got, err := VerifyForeign(tok, Keys{pk}, ForeignAlgorithms)
			if err != nil {
				t.Fatalf("VerifyForeign: %v", err)
			}
			if got.Claims.Subject != "auth0|1" {
				t.Fatalf("sub = %q", got.Claims.Subject)
			}
			// Not in the issuer's allowlist: refused even with the right key.
			others := []Algorithm{}
			for _, a := range ForeignAlgorithms {
				if a != alg {
					others = append(others, a)
				}
			}
			if _, err := VerifyForeign(tok, Keys{pk}, others); !errors.Is(err, ErrUnsupportedAlg) {
				t.Fatalf("alg outside allowlist: %v", err)
			}
			// A flipped signature bit fails.
			b := []byte(tok)
			b[len(b)-3] ^= 1
			if b[len(b)-3] == '.' {
				b[len(b)-3] = 'A'
			}
			if _, err := VerifyForeign(string(b), Keys{pk}, ForeignAlgorithms); err == nil {
				t.Fatal("tampered signature accepted")
			}
		})
	}
}

func TestVerifyForeignHeaderRules(t *testing.T) {
	priv, pk := foreignKeyFor(t, RS256)
	_, es := foreignKeyFor(t, ES256)
	cases := []struct {
		name   string
		header string
		keys   KeySet
		want   error
	}{
		{"x5c tolerated", `{"alg":"RS256","kid":"k1","x5c":["MIIB"],"x5t#S256":"x"}`, Keys{pk}, nil},
		{"jwk refused", `{"alg":"RS256","kid":"k1","jwk":{"kty":"oct"}}`, Keys{pk}, ErrMalformed},
		{"jku refused", `{"alg":"RS256","kid":"k1","jku":"https://evil.example"}`, Keys{pk}, ErrMalformed},
		{"x5u refused", `{"alg":"RS256","kid":"k1","x5u":"https://evil.example"}`, Keys{pk}, ErrMalformed},
		{"crit refused", `{"alg":"RS256","kid":"k1","crit":["exp"]}`, Keys{pk}, ErrMalformed},
		{"none refused", `{"alg":"none","kid":"k1"}`, Keys{pk}, ErrUnsupportedAlg},
		{"HS256 refused", `{"alg":"HS256","kid":"k1"}`, Keys{pk}, ErrUnsupportedAlg},
		{"alg differs from key", `{"alg":"PS256","kid":"k1"}`, Keys{pk}, ErrUnsupportedAlg},
		{"unknown kid", `{"alg":"RS256","kid":"k2"}`, Keys{pk}, ErrUnknownKey},
		{"key of another type", `{"alg":"RS256","kid":"k1"}`, Keys{es}, ErrUnsupportedAlg},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			alg := RS256
			if strings.Contains(c.header, "PS256") {
				alg = PS256
			}
			tok := foreignSign(t, alg, priv, c.header, foreignClaims)
			_, err := VerifyForeign(tok, c.keys, ForeignAlgorithms)
			if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
	// Gatehouse's own parser still refuses the certificate members.
	tok := foreignSign(t, RS256, priv, `{"alg":"RS256","kid":"k1","x5c":["MIIB"]}`, foreignClaims)
	if _, err := Verify(tok, Keys{pk}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("Verify accepted x5c: %v", err)
	}
	// And Gatehouse's own parser refuses the extra algorithms.
	tok = foreignSign(t, PS256, priv, `{"alg":"PS256","kid":"k1"}`, foreignClaims)
	if _, err := Parse(tok); !errors.Is(err, ErrUnsupportedAlg) {
		t.Fatalf("Parse accepted PS256: %v", err)
	}
	big := foreignSign(t, RS256, priv, `{"alg":"RS256","kid":"k1"}`, `{"x":"`+strings.Repeat("a", MaxTokenSize)+`"}`)
	if _, err := VerifyForeign(big, Keys{pk}, ForeignAlgorithms); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized token: %v", err)
	}
}

func rsaJWK(pub *rsa.PublicKey, kid, alg string) string {
	n := base64.RawURLEncoding.EncodeToString(pub.N.Bytes())
	e := base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes())
	a := ""
	if alg != "" {
		a = `,"alg":"` + alg + `"`
	}
	return fmt.Sprintf(`{"kty":"RSA","kid":%q,"use":"sig","n":%q,"e":%q,"x5c":["MIIB"],"x5t":"abc"%s}`, kid, n, e, a)
}

func TestParseForeignJWKSet(t *testing.T) {
	rk := testRSAKey(t)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	b := func(v *big.Int) string { return base64.RawURLEncoding.EncodeToString(v.FillBytes(make([]byte, 48))) }
	ec384 := fmt.Sprintf(`{"kty":"EC","crv":"P-384","kid":"e1","x":%q,"y":%q}`, b(p384.X), b(p384.Y))
	cases := []struct {
		name string
		set  string
		algs []Algorithm
		want map[string]Algorithm // kid -> alg; nil with wantErr
		err  error
	}{
		{"auth0 style RS256", `{"keys":[` + rsaJWK(&rk.PublicKey, "a", "RS256") + `]}`, []Algorithm{RS256}, map[string]Algorithm{"a": RS256}, nil},
		{"no alg, one RSA alg allowed", `{"keys":[` + rsaJWK(&rk.PublicKey, "a", "") + `]}`, []Algorithm{PS256, ES256}, map[string]Algorithm{"a": PS256}, nil},
		{"no alg, two RSA algs allowed: skipped", `{"keys":[` + rsaJWK(&rk.PublicKey, "a", "") + `,` + ec384 + `]}`, []Algorithm{RS256, PS256, ES384}, map[string]Algorithm{"e1": ES384}, nil},
		{"alg outside allowlist skipped", `{"keys":[` + rsaJWK(&rk.PublicKey, "a", "RS512") + `,` + rsaJWK(&rk.PublicKey, "b", "RS256") + `]}`, []Algorithm{RS256}, map[string]Algorithm{"b": RS256}, nil},
		{"alg contradicts kty", `{"keys":[` + rsaJWK(&rk.PublicKey, "a", "ES256") + `]}`, []Algorithm{RS256}, nil, ErrInvalidKey},
		{"encryption key skipped", `{"keys":[{"kty":"RSA","use":"enc","kid":"x","n":"AQAB","e":"AQAB"},` + rsaJWK(&rk.PublicKey, "a", "RS256") + `]}`, []Algorithm{RS256}, map[string]Algorithm{"a": RS256}, nil},
		{"private key refused", `{"keys":[{"kty":"RSA","kid":"x","n":"AQAB","e":"AQAB","d":"AQAB"}]}`, []Algorithm{RS256}, nil, ErrInvalidKey},
		{"oct refused", `{"keys":[{"kty":"oct","k":"AAAA"}]}`, []Algorithm{RS256}, nil, ErrInvalidKey},
		{"nothing usable", `{"keys":[` + rsaJWK(&rk.PublicKey, "a", "RS512") + `]}`, []Algorithm{RS256}, nil, ErrInvalidKey},
		{"duplicate kid", `{"keys":[` + rsaJWK(&rk.PublicKey, "a", "RS256") + `,` + rsaJWK(&rk.PublicKey, "a", "RS256") + `]}`, []Algorithm{RS256}, nil, ErrInvalidKey},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			keys, err := ParseForeignJWKSet([]byte(c.set), c.algs)
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("err = %v, want %v", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]Algorithm{}
			for _, k := range keys {
				got[k.ID] = k.Algorithm
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Fatalf("keys = %v, want %v", got, c.want)
			}
		})
	}
	// Gatehouse's own parser is unchanged: it still skips a PS256 key.
	if _, err := ParseJWKSet([]byte(`{"keys":[` + rsaJWK(&rk.PublicKey, "a", "PS256") + `]}`)); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("ParseJWKSet with only PS256: %v", err)
	}
}

func TestValidateForeign(t *testing.T) {
	now := time.Unix(1800000000, 0)
	exp := NumericDate(now.Add(time.Minute).Unix())
	past := NumericDate(now.Add(-time.Hour).Unix())
	future := NumericDate(now.Add(time.Hour).Unix())
	base := Claims{Issuer: "https://i/", Audience: Audience{"x", "api"}, Expiry: &exp}
	cases := []struct {
		name string
		edit func(c *Claims)
		want error
	}{
		{"ok", func(c *Claims) {}, nil},
		{"wrong iss", func(c *Claims) { c.Issuer = "https://i" }, ErrIssuer},
		{"wrong aud", func(c *Claims) { c.Audience = Audience{"x"} }, ErrAudience},
		{"no exp", func(c *Claims) { c.Expiry = nil }, ErrExpired},
		{"expired", func(c *Claims) { c.Expiry = &past }, ErrExpired},
		{"nbf future", func(c *Claims) { c.NotBefore = &future }, ErrNotYetValid},
		{"iat future", func(c *Claims) { c.IssuedAt = &future }, ErrNotYetValid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl := base
			c.edit(&cl)
			err := ValidateForeign(&Token{Claims: cl}, "https://i/", []string{"api", "other"}, now, 30*time.Second)
			if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
}
