package jws

import (
	"crypto"
	"crypto/ed25519"
	"encoding/json"
	"strings"
	"testing"
)

func TestJWKRoundTrip(t *testing.T) {
	for _, alg := range []Algorithm{EdDSA, ES256, RS256} {
		t.Run(string(alg), func(t *testing.T) {
			pk := mustSigner(t, alg).PublicKey()
			b, err := MarshalPublicJWK(pk)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			if m["use"] != "sig" || m["alg"] != string(alg) || m["kid"] != pk.ID {
				t.Errorf("JWK %s lacks use/alg/kid", b)
			}
			for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
				if _, ok := m[private]; ok {
					t.Errorf("JWK has private member %q", private)
				}
			}
			got, err := ParsePublicJWK(b)
			if err != nil {
				t.Fatalf("ParsePublicJWK(%s): %v", b, err)
			}
			if got.ID != pk.ID || got.Algorithm != pk.Algorithm ||
				!got.Key.(interface{ Equal(crypto.PublicKey) bool }).Equal(pk.Key) {
				t.Errorf("round trip = %+v, want %+v", got, pk)
			}
		})
	}
}

func TestJWKSetRoundTrip(t *testing.T) {
	want := []PublicKey{mustSigner(t, EdDSA).PublicKey(), mustSigner(t, ES256).PublicKey(), mustSigner(t, RS256).PublicKey()}
	b, err := MarshalJWKSet(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseJWKSet(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d keys, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].ID != want[i].ID || got[i].Algorithm != want[i].Algorithm {
			t.Errorf("key %d = %s/%s, want %s/%s", i, got[i].ID, got[i].Algorithm, want[i].ID, want[i].Algorithm)
		}
	}
	// A token signed by each key verifies against the parsed set.
	for _, alg := range []Algorithm{EdDSA, ES256, RS256} {
		tok := mustSign(t, mustSigner(t, alg), TypeAccessToken, mustJSON(t, typicalClaims()))
		if _, err := VerifyAndValidate(tok, Keys(got), expected()); err != nil {
			t.Errorf("%s: %v", alg, err)
		}
	}
}

// jwkWith returns the JSON of a JWK map after change.
func jwkWith(tb testing.TB, base string, change func(m map[string]any)) string {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(base), &m); err != nil {
		tb.Fatal(err)
	}
	change(m)
	return string(mustJSON(tb, m))
}

func TestParsePublicJWKStrict(t *testing.T) {
	ecJWK := string(must(MarshalPublicJWK(mustSigner(t, ES256).PublicKey())))
	rsJWK := string(must(MarshalPublicJWK(mustSigner(t, RS256).PublicKey())))
	edJWK := string(must(MarshalPublicJWK(mustSigner(t, EdDSA).PublicKey())))
	var ec map[string]string
	if err := json.Unmarshal([]byte(ecJWK), &ec); err != nil {
		t.Fatal(err)
	}
	flipLast := func(s string) string {
		c := s[len(s)-1]
		i := strings.IndexByte(base64urlAlphabet, c)
		return s[:len(s)-1] + string(base64urlAlphabet[i^1])
	}
	rsa1024 := `{"kty":"RSA","alg":"RS256","n":"rJBIp6T1YK-RtPyvYqFFlcucqewSAA_IReSFchE8qyiQrbARqRlXWkB2DR8j_pJQnIpYELbQWZC5Cd0PTGAU8rMbar2AW6zpmBbi7aQf17lUBdt8XI9M9rq7FPVQ1dDdUXm1SVH_9qqWhvMPR422SbfHBEzCAtzK0ANDRo6qz78","e":"AQAB"}`

	for _, tc := range []struct {
		name string
		jwk  string
		want error
	}{
		{"EC ok", ecJWK, nil},
		{"RSA ok", rsJWK, nil},
		{"OKP ok", edJWK, nil},
		{"EC without alg infers ES256", jwkWith(t, ecJWK, func(m map[string]any) { delete(m, "alg") }), nil},
		{"RSA without alg infers RS256", jwkWith(t, rsJWK, func(m map[string]any) { delete(m, "alg") }), nil},
		{"without use", jwkWith(t, ecJWK, func(m map[string]any) { delete(m, "use") }), nil},
		{"key_ops verify", jwkWith(t, ecJWK, func(m map[string]any) { m["key_ops"] = []string{"verify"} }), nil},
		{"unknown members ignored", jwkWith(t, ecJWK, func(m map[string]any) { m["x5t"] = "abc"; m["ext"] = true }), nil},

		// Private or symmetric material.
		{"EC with d", jwkWith(t, ecJWK, func(m map[string]any) { m["d"] = "AAAA" }), ErrInvalidKey},
		{"RSA with p", jwkWith(t, rsJWK, func(m map[string]any) { m["p"] = "AAAA" }), ErrInvalidKey},
		{"RSA with qi", jwkWith(t, rsJWK, func(m map[string]any) { m["qi"] = "AAAA" }), ErrInvalidKey},
		{"OKP with d", jwkWith(t, edJWK, func(m map[string]any) { m["d"] = "AAAA" }), ErrInvalidKey},
		{"oct", `{"kty":"oct","alg":"HS256","k":"AAAA"}`, ErrInvalidKey},
		{"oct without k", `{"kty":"oct","alg":"HS256"}`, ErrInvalidKey},

		// Unsupported, not dangerous.
		{"alg HS256 on EC", jwkWith(t, ecJWK, func(m map[string]any) { m["alg"] = "HS256" }), ErrUnsupportedAlg},
		{"alg none", jwkWith(t, ecJWK, func(m map[string]any) { m["alg"] = "none" }), ErrUnsupportedAlg},
		{"alg ES384", jwkWith(t, ecJWK, func(m map[string]any) { m["alg"] = "ES384" }), ErrUnsupportedAlg},
		{"alg PS256 on RSA", jwkWith(t, rsJWK, func(m map[string]any) { m["alg"] = "PS256" }), ErrUnsupportedAlg},
		{"alg lower case", jwkWith(t, ecJWK, func(m map[string]any) { m["alg"] = "es256" }), ErrUnsupportedAlg},
		{"use enc", jwkWith(t, ecJWK, func(m map[string]any) { m["use"] = "enc" }), ErrUnsupportedAlg},
		{"key_ops without verify", jwkWith(t, ecJWK, func(m map[string]any) { m["key_ops"] = []string{"encrypt"} }), ErrUnsupportedAlg},
		{"P-384 without alg", jwkWith(t, ecJWK, func(m map[string]any) { delete(m, "alg"); m["crv"] = "P-384" }), ErrUnsupportedAlg},
		{"Ed448", `{"kty":"OKP","crv":"Ed448","x":"AAAA"}`, ErrUnsupportedAlg},
		{"X25519", `{"kty":"OKP","crv":"X25519","x":"AAAA"}`, ErrUnsupportedAlg},
		{"unknown kty", `{"kty":"AKP","alg":"ML-DSA-44","pub":"AAAA"}`, ErrUnsupportedAlg},

		// Contradictions and bad material.
		{"ES256 on P-384", jwkWith(t, ecJWK, func(m map[string]any) { m["crv"] = "P-384" }), ErrInvalidKey},
		{"ES256 with kty RSA", jwkWith(t, ecJWK, func(m map[string]any) { m["kty"] = "RSA" }), ErrInvalidKey},
		{"EdDSA on EC key", jwkWith(t, ecJWK, func(m map[string]any) { m["alg"] = "EdDSA" }), ErrInvalidKey},
		{"RS256 on EC key", jwkWith(t, ecJWK, func(m map[string]any) { m["alg"] = "RS256" }), ErrInvalidKey},
		{"ES256 on OKP key", jwkWith(t, edJWK, func(m map[string]any) { m["alg"] = "ES256" }), ErrInvalidKey},
		{"no kty", jwkWith(t, ecJWK, func(m map[string]any) { delete(m, "kty") }), ErrInvalidKey},
		{"EC with n", jwkWith(t, ecJWK, func(m map[string]any) { m["n"] = "AQAB" }), ErrInvalidKey},
		{"RSA with x", jwkWith(t, rsJWK, func(m map[string]any) { m["x"] = ec["x"] }), ErrInvalidKey},
		{"EC without y", jwkWith(t, ecJWK, func(m map[string]any) { delete(m, "y") }), ErrInvalidKey},
		{"EC point not on curve", jwkWith(t, ecJWK, func(m map[string]any) { m["y"] = flipLast(ec["y"]) }), ErrInvalidKey},
		{"EC x with leading zero byte", jwkWith(t, ecJWK, func(m map[string]any) { m["x"] = enc.EncodeToString(append([]byte{0}, mustDecode(t, ec["x"])...)) }), ErrInvalidKey},
		{"EC x padded", jwkWith(t, ecJWK, func(m map[string]any) { m["x"] = ec["x"] + "=" }), ErrInvalidKey},
		{"EC x standard base64", jwkWith(t, ecJWK, func(m map[string]any) { m["x"] = strings.NewReplacer("-", "+", "_", "/").Replace(ec["x"]) + "+" }), ErrInvalidKey},
		{"EC x with line break", jwkWith(t, ecJWK, func(m map[string]any) { m["x"] = ec["x"][:10] + "\n" + ec["x"][10:] }), ErrInvalidKey},
		{"EC x a number", jwkWith(t, ecJWK, func(m map[string]any) { m["x"] = 5 }), ErrInvalidKey},
		{"OKP x short", `{"kty":"OKP","crv":"Ed25519","x":"AAAA"}`, ErrInvalidKey},
		{"RSA 1024 bits", rsa1024, ErrInvalidKey},
		{"RSA e=1", jwkWith(t, rsJWK, func(m map[string]any) { m["e"] = "AQ" }), ErrInvalidKey},
		{"RSA e=2", jwkWith(t, rsJWK, func(m map[string]any) { m["e"] = "Ag" }), ErrInvalidKey},
		{"RSA e with leading zero", jwkWith(t, rsJWK, func(m map[string]any) { m["e"] = "AAEAAQ" }), ErrInvalidKey},
		{"RSA e empty", jwkWith(t, rsJWK, func(m map[string]any) { m["e"] = "" }), ErrInvalidKey},
		{"RSA e over 31 bits", jwkWith(t, rsJWK, func(m map[string]any) { m["e"] = "AQAAAAE" }), ErrInvalidKey},
		{"RSA n with leading zero", jwkWith(t, rsJWK, func(m map[string]any) {
			m["n"] = enc.EncodeToString(append([]byte{0}, mustDecode(t, m["n"].(string))...))
		}), ErrInvalidKey},
		{"RSA n even", jwkWith(t, rsJWK, func(m map[string]any) {
			n := mustDecode(t, m["n"].(string))
			n[len(n)-1] &^= 1
			m["n"] = enc.EncodeToString(n)
		}), ErrInvalidKey},

		// JSON form.
		{"duplicate member", `{"kty":"EC","kty":"RSA"}`, ErrInvalidKey},
		{"case-variant member", strings.Replace(ecJWK, `"crv"`, `"crv":"P-384","CRV"`, 1), ErrInvalidKey},
		{"not an object", `["EC"]`, ErrInvalidKey},
		{"not JSON", `kty=EC`, ErrInvalidKey},
		{"too large", `{"kty":"EC","pad":"` + strings.Repeat("a", MaxJWKSetSize) + `"}`, ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePublicJWK([]byte(tc.jwk))
			wantErr(t, err, tc.want)
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestParseJWKSet(t *testing.T) {
	ed := string(must(MarshalPublicJWK(mustSigner(t, EdDSA).PublicKey())))
	ec := string(must(MarshalPublicJWK(mustSigner(t, ES256).PublicKey())))
	encKey := jwkWith(t, ec, func(m map[string]any) { m["use"] = "enc"; m["kid"] = "enc-1" })
	hs := `{"kty":"oct","alg":"HS256","k":"AAAA","kid":"h"}`
	p384 := `{"kty":"EC","crv":"P-384","kid":"p384","x":"AAAA","y":"AAAA"}`
	private := jwkWith(t, ec, func(m map[string]any) { m["d"] = "AAAA"; m["kid"] = "priv" })
	sameKid := jwkWith(t, ec, func(m map[string]any) { m["kid"] = mustSigner(t, EdDSA).KeyID() })
	noKid := func(j string) string { return jwkWith(t, j, func(m map[string]any) { delete(m, "kid") }) }
	set := func(keys ...string) string { return `{"keys":[` + strings.Join(keys, ",") + `]}` }

	for _, tc := range []struct {
		name  string
		set   string
		kids  []string
		error error
	}{
		{"two keys", set(ed, ec), []string{"k-EdDSA", "k-ES256"}, nil},
		{"encryption key skipped", set(ed, encKey), []string{"k-EdDSA"}, nil},
		{"P-384 key skipped", set(p384, ec), []string{"k-ES256"}, nil},
		{"extra top-level members ignored", `{"keys":[` + ed + `],"cache":"x"}`, []string{"k-EdDSA"}, nil},
		{"one key without kid", set(noKid(ed)), []string{""}, nil},
		{"symmetric key fails the set", set(ed, hs), nil, ErrInvalidKey},
		{"private key fails the set", set(ed, private), nil, ErrInvalidKey},
		{"duplicate kid fails the set", set(ed, sameKid), nil, ErrInvalidKey},
		{"two keys without kid fail the set", set(noKid(ed), noKid(ec)), nil, ErrInvalidKey},
		{"same kid on a skipped key is fine", set(ed, jwkWith(t, encKey, func(m map[string]any) { m["kid"] = "k-EdDSA" })), []string{"k-EdDSA"}, nil},
		{"only unusable keys", set(encKey, p384), nil, ErrInvalidKey},
		{"empty set", set(), nil, ErrInvalidKey},
		{"no keys member", `{"keyz":[]}`, nil, ErrInvalidKey},
		{"keys not an array", `{"keys":{}}`, nil, ErrInvalidKey},
		{"keys holds a string", set(`"x"`), nil, ErrInvalidKey},
		{"duplicate keys member", `{"keys":[` + ed + `],"keys":[` + ec + `]}`, nil, ErrInvalidKey},
		{"not JSON", `{"keys":[`, nil, ErrInvalidKey},
		{"too large", `{"keys":[],"pad":"` + strings.Repeat("a", MaxJWKSetSize) + `"}`, nil, ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := ParseJWKSet([]byte(tc.set))
			wantErr(t, err, tc.error)
			var kids []string
			for _, k := range keys {
				kids = append(kids, k.ID)
			}
			if strings.Join(kids, ",") != strings.Join(tc.kids, ",") || len(kids) != len(tc.kids) {
				t.Errorf("kids = %q, want %q", kids, tc.kids)
			}
		})
	}
}

func TestNewPublicKeyChecks(t *testing.T) {
	edPub := mustSigner(t, EdDSA).PublicKey().Key
	ecPub := mustSigner(t, ES256).PublicKey().Key
	for _, tc := range []struct {
		name string
		alg  Algorithm
		key  crypto.PublicKey
		want error
	}{
		{"EdDSA ok", EdDSA, edPub, nil},
		{"ES256 ok", ES256, ecPub, nil},
		{"EdDSA short key", EdDSA, ed25519.PublicKey(make([]byte, 31)), ErrInvalidKey},
		{"EdDSA with ECDSA key", EdDSA, ecPub, ErrInvalidKey},
		{"ES256 with Ed25519 key", ES256, edPub, ErrInvalidKey},
		{"RS256 with nil", RS256, nil, ErrInvalidKey},
		{"HS256", "HS256", []byte("secret"), ErrUnsupportedAlg},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewPublicKey("k", tc.alg, tc.key)
			wantErr(t, err, tc.want)
		})
	}
}

func TestROCAFingerprint(t *testing.T) {
	// Fresh keys from crypto/rsa are not flagged.
	for range 3 {
		k := must(GenerateKey(RS256))
		if _, err := NewPublicKey("k", RS256, k.Public()); err != nil {
			t.Fatalf("fresh RSA key rejected: %v", err)
		}
	}
	// The vulnerable key from Wycheproof's json_web_key_test.json (2049 bits, so only the
	// fingerprint can reject it).
	var file struct {
		TestGroups []struct {
			Comment string          `json:"comment"`
			Public  json.RawMessage `json:"public"`
		} `json:"testGroups"`
	}
	loadWycheproof(t, "json_web_key_test.json", &file)
	for _, g := range file.TestGroups {
		if g.Comment != "jws_rsa_roca_key" {
			continue
		}
		_, err := ParseJWKSet(g.Public)
		wantErr(t, err, ErrInvalidKey)
		if !strings.Contains(err.Error(), "ROCA") {
			t.Errorf("error %v does not name ROCA", err)
		}
		return
	}
	t.Fatal("ROCA vector not found")
}
