package jws

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// forge builds a compact JWS from a raw header, a raw payload and a signing function, so that
// tests can produce exactly the bytes an attacker would.
func forge(hdr string, payload []byte, sign func([]byte) []byte) string {
	input := enc.EncodeToString([]byte(hdr)) + "." + enc.EncodeToString(payload)
	return input + "." + enc.EncodeToString(sign([]byte(input)))
}

func hs256(secret []byte) func([]byte) []byte {
	return func(in []byte) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write(in)
		return m.Sum(nil)
	}
}

func withSigner(s *Signer) func([]byte) []byte {
	return func(in []byte) []byte {
		sig, err := s.sign(in)
		if err != nil {
			panic(err)
		}
		return sig
	}
}

func noSig([]byte) []byte { return nil }

// claimsWith returns the typical claims with changes applied on a generic map.
func claimsWith(tb testing.TB, change func(m map[string]any)) []byte {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(mustJSON(tb, typicalClaims()), &m); err != nil {
		tb.Fatal(err)
	}
	change(m)
	return mustJSON(tb, m)
}

// TestNegativeCorpus runs known attacks and malformations through the whole resource-server
// path (VerifyAndValidate) and checks each fails for its own reason.
func TestNegativeCorpus(t *testing.T) {
	ed := mustSigner(t, EdDSA)
	ec := mustSigner(t, ES256)
	rs := mustSigner(t, RS256)
	keys := Keys{ed.PublicKey(), ec.PublicKey(), rs.PublicKey()}
	attacker := mustNewSigner(t, ed.KeyID(), EdDSA) // same kid, different key

	edKid, ecKid := ed.KeyID(), ec.KeyID()
	hdr := func(alg, kid, typ string, extra ...string) string {
		s := `{"alg":"` + alg + `","kid":"` + kid + `","typ":"` + typ + `"`
		for _, e := range extra {
			s += "," + e
		}
		return s + "}"
	}
	edHdr := hdr("EdDSA", edKid, "at+jwt")
	claims := mustJSON(t, typicalClaims())
	good := mustSign(t, ed, TypeAccessToken, claims)
	h64, rest, _ := strings.Cut(good, ".")
	p64, s64, _ := strings.Cut(rest, ".")

	edPub := []byte(ed.PublicKey().Key.(ed25519.PublicKey))
	edJWK, err := MarshalPublicJWK(ed.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKIXPublicKey(ec.PublicKey().Key)
	if err != nil {
		t.Fatal(err)
	}
	attackerJWK, err := MarshalPublicJWK(attacker.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	asn1Sig := func(in []byte) []byte {
		h := sha256.Sum256(in)
		sig, err := ecdsa.SignASN1(rand.Reader, ec.ec, h[:])
		if err != nil {
			panic(err)
		}
		return sig
	}
	// A signature segment whose last character carries non-zero unused bits: it decodes to the
	// same bytes as the real one, so only strict decoding notices.
	last := strings.IndexByte(base64urlAlphabet, s64[len(s64)-1])
	nonCanonical := h64 + "." + p64 + "." + s64[:len(s64)-1] + string(base64urlAlphabet[last|1])

	for _, tc := range []struct {
		name  string
		token string
		want  error
	}{
		// Sanity: the forging helpers make acceptable tokens.
		{"control: issued token", good, nil},
		{"control: forged with our key", forge(edHdr, claims, withSigner(ed)), nil},
		{"control: ES256", forge(hdr("ES256", ecKid, "at+jwt"), claims, withSigner(ec)), nil},
		{"control: RS256", forge(hdr("RS256", rs.KeyID(), "at+jwt"), claims, withSigner(rs)), nil},
		{"control: application/at+jwt", forge(hdr("EdDSA", edKid, "application/at+jwt"), claims, withSigner(ed)), nil},
		{"control: AT+JWT", forge(hdr("EdDSA", edKid, "AT+JWT"), claims, withSigner(ed)), nil},

		// alg none, any spelling, with and without a signature.
		{"alg none", forge(hdr("none", edKid, "at+jwt"), claims, noSig), ErrUnsupportedAlg},
		{"alg None", forge(hdr("None", edKid, "at+jwt"), claims, noSig), ErrUnsupportedAlg},
		{"alg NONE", forge(hdr("NONE", edKid, "at+jwt"), claims, noSig), ErrUnsupportedAlg},
		{"alg nOnE", forge(hdr("nOnE", edKid, "at+jwt"), claims, noSig), ErrUnsupportedAlg},
		{"alg none with signature", forge(hdr("none", edKid, "at+jwt"), claims, withSigner(ed)), ErrUnsupportedAlg},
		{"alg none without kid", forge(`{"alg":"none"}`, claims, noSig), ErrUnsupportedAlg},
		{"alg empty", forge(hdr("", edKid, "at+jwt"), claims, withSigner(ed)), ErrUnsupportedAlg},
		{"alg eddsa lower case", forge(hdr("eddsa", edKid, "at+jwt"), claims, withSigner(ed)), ErrUnsupportedAlg},

		// HMAC with public material as the secret (key confusion).
		{"HS256 keyed with Ed25519 public key", forge(hdr("HS256", edKid, "at+jwt"), claims, hs256(edPub)), ErrUnsupportedAlg},
		{"HS256 keyed with the JWK JSON", forge(hdr("HS256", edKid, "at+jwt"), claims, hs256(edJWK)), ErrUnsupportedAlg},
		{"HS256 keyed with the ES256 DER key", forge(hdr("HS256", ecKid, "at+jwt"), claims, hs256(ecDER)), ErrUnsupportedAlg},
		{"HS512", forge(hdr("HS512", edKid, "at+jwt"), claims, hs256(edPub)), ErrUnsupportedAlg},
		{"PS256", forge(hdr("PS256", rs.KeyID(), "at+jwt"), claims, withSigner(rs)), ErrUnsupportedAlg},
		{"ES384", forge(hdr("ES384", ecKid, "at+jwt"), claims, withSigner(ec)), ErrUnsupportedAlg},

		// Keys offered by the token itself.
		{"embedded jwk of attacker", forge(hdr("EdDSA", edKid, "at+jwt", `"jwk":`+string(attackerJWK)), claims, withSigner(attacker)), ErrMalformed},
		{"embedded jwk without kid", forge(`{"alg":"EdDSA","typ":"at+jwt","jwk":`+string(attackerJWK)+`}`, claims, withSigner(attacker)), ErrMalformed},
		{"jku", forge(hdr("EdDSA", edKid, "at+jwt", `"jku":"https://evil.example/jwks"`), claims, withSigner(attacker)), ErrMalformed},
		{"x5u", forge(hdr("EdDSA", edKid, "at+jwt", `"x5u":"https://evil.example/cert"`), claims, withSigner(attacker)), ErrMalformed},
		{"x5c", forge(hdr("EdDSA", edKid, "at+jwt", `"x5c":["MIIB"]`), claims, withSigner(attacker)), ErrMalformed},
		{"x5t", forge(hdr("EdDSA", edKid, "at+jwt", `"x5t":"abc"`), claims, withSigner(ed)), ErrMalformed},
		{"x5t#S256", forge(hdr("EdDSA", edKid, "at+jwt", `"x5t#S256":"abc"`), claims, withSigner(ed)), ErrMalformed},

		// kid games.
		{"kid path traversal", forge(hdr("EdDSA", "../../etc/passwd", "at+jwt"), claims, withSigner(attacker)), ErrUnknownKey},
		{"kid SQL injection", forge(hdr("EdDSA", "' OR 1=1 --", "at+jwt"), claims, withSigner(attacker)), ErrUnknownKey},
		{"kid very long", forge(hdr("EdDSA", strings.Repeat("k", 4000), "at+jwt"), claims, withSigner(attacker)), ErrUnknownKey},
		{"kid too long for the size cap", forge(hdr("EdDSA", strings.Repeat("k", 7000), "at+jwt"), claims, withSigner(attacker)), ErrTooLarge},
		{"kid NUL", forge(hdr("EdDSA", edKid+`\u0000`, "at+jwt"), claims, withSigner(ed)), ErrUnknownKey},
		{"kid case variant", forge(hdr("EdDSA", strings.ToUpper(edKid), "at+jwt"), claims, withSigner(ed)), ErrUnknownKey},
		{"kid empty", forge(hdr("EdDSA", "", "at+jwt"), claims, withSigner(ed)), ErrMalformed},
		{"kid missing with several keys", forge(`{"alg":"EdDSA","typ":"at+jwt"}`, claims, withSigner(ed)), ErrUnknownKey},
		{"kid not a string", forge(`{"alg":"EdDSA","kid":1,"typ":"at+jwt"}`, claims, withSigner(ed)), ErrMalformed},
		{"kid of the ES256 key, EdDSA alg", forge(hdr("EdDSA", ecKid, "at+jwt"), claims, withSigner(ed)), ErrUnsupportedAlg},
		{"kid of the EdDSA key, ES256 alg", forge(hdr("ES256", edKid, "at+jwt"), claims, withSigner(ec)), ErrUnsupportedAlg},
		{"kid of the EdDSA key, RS256 alg", forge(hdr("RS256", edKid, "at+jwt"), claims, withSigner(rs)), ErrUnsupportedAlg},

		// Signature problems.
		{"tampered payload", h64 + "." + enc.EncodeToString(claimsWith(t, func(m map[string]any) { m["sub"] = "admin" })) + "." + s64, ErrBadSignature},
		{"tampered header", enc.EncodeToString([]byte(hdr("EdDSA", edKid, "JWT"))) + "." + p64 + "." + s64, ErrBadSignature},
		{"stripped signature", h64 + "." + p64 + ".", ErrBadSignature},
		{"stripped signature and dot", h64 + "." + p64, ErrMalformed},
		{"signature from a foreign key", forge(edHdr, claims, withSigner(attacker)), ErrBadSignature},
		{"signature truncated", h64 + "." + p64 + "." + enc.EncodeToString(mustDecode(t, s64)[:63]), ErrBadSignature},
		{"signature extended", h64 + "." + p64 + "." + enc.EncodeToString(append(mustDecode(t, s64), 0)), ErrBadSignature},
		{"ES256 signature in ASN.1", forge(hdr("ES256", ecKid, "at+jwt"), claims, asn1Sig), ErrBadSignature},
		{"ES256 r=s=0", forge(hdr("ES256", ecKid, "at+jwt"), claims, func([]byte) []byte { return make([]byte, 64) }), ErrBadSignature},
		{"ES256 signature by Ed25519 key", forge(hdr("ES256", ecKid, "at+jwt"), claims, withSigner(ed)), ErrBadSignature},
		{"RS256 signature one byte short", forge(hdr("RS256", rs.KeyID(), "at+jwt"), claims, func(in []byte) []byte { return withSigner(rs)(in)[1:] }), ErrBadSignature},

		// Encoding.
		{"padding on signature", good + "==", ErrMalformed},
		{"padding on payload", h64 + "." + p64 + "=." + s64, ErrMalformed},
		// Ends in '+' whatever the random signature is, so the case is never a no-op.
		{"standard base64 alphabet", strings.NewReplacer("-", "+", "_", "/").Replace(good[:len(good)-1]) + "+", ErrMalformed},
		{"non-canonical trailing bits", nonCanonical, ErrMalformed},
		{"extra segment", good + ".AAAA", ErrMalformed},
		{"extra empty segment", good + ".", ErrMalformed},
		{"five segments (JWE)", h64 + ".." + p64 + ".." + s64, ErrMalformed},
		{"leading space", " " + good, ErrMalformed},
		{"trailing newline", good + "\n", ErrMalformed},
		{"line break inside", good[:40] + "\r\n" + good[40:], ErrMalformed},
		{"tab inside", good[:40] + "\t" + good[40:], ErrMalformed},
		{"oversized", h64 + "." + strings.Repeat("A", MaxTokenSize) + "." + s64, ErrTooLarge},
		{"empty", "", ErrMalformed},
		{"dots only", "..", ErrMalformed},
		{"JSON serialization", `{"payload":"` + p64 + `","signatures":[]}`, ErrMalformed},

		// Header JSON.
		{"duplicate alg", forge(`{"alg":"EdDSA","alg":"none","kid":"`+edKid+`","typ":"at+jwt"}`, claims, withSigner(ed)), ErrMalformed},
		{"alg and Alg", forge(`{"alg":"EdDSA","Alg":"none","kid":"`+edKid+`","typ":"at+jwt"}`, claims, withSigner(ed)), ErrMalformed},
		{"alg and ALG", forge(`{"ALG":"none","alg":"EdDSA","kid":"`+edKid+`","typ":"at+jwt"}`, claims, withSigner(ed)), ErrMalformed},
		{"alg and escaped alg", forge(`{"alg":"EdDSA","\u0061lg":"none","kid":"`+edKid+`","typ":"at+jwt"}`, claims, withSigner(ed)), ErrMalformed},
		{"duplicate kid", forge(`{"alg":"EdDSA","kid":"`+edKid+`","kid":"`+ecKid+`","typ":"at+jwt"}`, claims, withSigner(ed)), ErrMalformed},
		{"typ and TYP", forge(hdr("EdDSA", edKid, "at+jwt", `"TYP":"JWT"`), claims, withSigner(ed)), ErrMalformed},
		{"crit", forge(hdr("EdDSA", edKid, "at+jwt", `"crit":["exp"]`, `"exp":1`), claims, withSigner(ed)), ErrMalformed},
		{"crit empty", forge(hdr("EdDSA", edKid, "at+jwt", `"crit":[]`), claims, withSigner(ed)), ErrMalformed},
		{"b64 false", forge(hdr("EdDSA", edKid, "at+jwt", `"b64":false`), claims, withSigner(ed)), ErrMalformed},
		{"unknown header member", forge(hdr("EdDSA", edKid, "at+jwt", `"foo":"bar"`), claims, withSigner(ed)), ErrMalformed},
		{"header not an object", forge(`["EdDSA"]`, claims, withSigner(ed)), ErrMalformed},
		{"header not JSON", forge(`alg=EdDSA`, claims, withSigner(ed)), ErrMalformed},
		{"header trailing garbage", forge(edHdr+"x", claims, withSigner(ed)), ErrMalformed},
		{"header alg not a string", forge(`{"alg":["EdDSA"],"kid":"`+edKid+`","typ":"at+jwt"}`, claims, withSigner(ed)), ErrMalformed},
		{"header without alg", forge(`{"kid":"`+edKid+`","typ":"at+jwt"}`, claims, withSigner(ed)), ErrMalformed},
		{"header invalid UTF-8", forge("{\"alg\":\"EdDSA\",\"kid\":\""+edKid+"\",\"typ\":\"at+jwt\xff\"}", claims, withSigner(ed)), ErrMalformed},
		{"nested JWT", forge(hdr("EdDSA", edKid, "at+jwt", `"cty":"JWT"`), claims, withSigner(ed)), ErrMalformed},

		// Payload JSON.
		{"payload a string", forge(edHdr, []byte(`"hello"`), withSigner(ed)), ErrMalformed},
		{"payload an array", forge(edHdr, []byte(`[{"iss":"x"}]`), withSigner(ed)), ErrMalformed},
		{"payload null", forge(edHdr, []byte(`null`), withSigner(ed)), ErrMalformed},
		{"payload empty", forge(edHdr, nil, withSigner(ed)), ErrMalformed},
		{"payload duplicate sub", forge(edHdr, []byte(`{"sub":"alice","sub":"admin"}`), withSigner(ed)), ErrMalformed},
		{"payload sub and long-s sub", forge(edHdr, []byte(`{"sub":"alice","ſub":"admin"}`), withSigner(ed)), ErrMalformed},
		{"payload iss and ISS", forge(edHdr, []byte(`{"iss":"a","ISS":"b"}`), withSigner(ed)), ErrMalformed},
		{"payload nested duplicate", forge(edHdr, []byte(`{"act":{"sub":"a","Sub":"b"}}`), withSigner(ed)), ErrMalformed},
		{"payload invalid UTF-8", forge(edHdr, []byte("{\"sub\":\"\xc0\xaf\"}"), withSigner(ed)), ErrMalformed},
		{"payload exp a string", forge(edHdr, claimsWith(t, func(m map[string]any) { m["exp"] = "1893456000" }), withSigner(ed)), ErrMalformed},
		{"payload exp negative", forge(edHdr, claimsWith(t, func(m map[string]any) { m["exp"] = -1 }), withSigner(ed)), ErrMalformed},
		{"payload exp huge", forge(edHdr, []byte(`{"exp":1e400}`), withSigner(ed)), ErrMalformed},
		{"payload aud a number", forge(edHdr, claimsWith(t, func(m map[string]any) { m["aud"] = 5 }), withSigner(ed)), ErrMalformed},
		{"payload aud array of numbers", forge(edHdr, claimsWith(t, func(m map[string]any) { m["aud"] = []int{5} }), withSigner(ed)), ErrMalformed},
		{"payload iss null", forge(edHdr, claimsWith(t, func(m map[string]any) { m["iss"] = nil }), withSigner(ed)), ErrMalformed},
		{"payload too deep", forge(edHdr, []byte(`{"a":`+strings.Repeat("[", 40)+strings.Repeat("]", 40)+`}`), withSigner(ed)), ErrMalformed},

		// Claims.
		{"exp missing", forge(edHdr, claimsWith(t, func(m map[string]any) { delete(m, "exp") }), withSigner(ed)), ErrExpired},
		{"exp past", forge(edHdr, claimsWith(t, func(m map[string]any) { m["exp"] = testNow.Add(-time.Minute).Unix() }), withSigner(ed)), ErrExpired},
		{"exp within leeway", forge(edHdr, claimsWith(t, func(m map[string]any) { m["exp"] = testNow.Add(-10 * time.Second).Unix() }), withSigner(ed)), nil},
		{"exp at edge of leeway", forge(edHdr, claimsWith(t, func(m map[string]any) { m["exp"] = testNow.Add(-30 * time.Second).Unix() }), withSigner(ed)), ErrExpired},
		{"nbf future", forge(edHdr, claimsWith(t, func(m map[string]any) { m["nbf"] = testNow.Add(time.Minute).Unix() }), withSigner(ed)), ErrNotYetValid},
		{"nbf within leeway", forge(edHdr, claimsWith(t, func(m map[string]any) { m["nbf"] = testNow.Add(20 * time.Second).Unix() }), withSigner(ed)), nil},
		{"iat future", forge(edHdr, claimsWith(t, func(m map[string]any) { m["iat"] = testNow.Add(time.Hour).Unix() }), withSigner(ed)), ErrNotYetValid},
		{"wrong iss", forge(edHdr, claimsWith(t, func(m map[string]any) { m["iss"] = "https://evil.example" }), withSigner(ed)), ErrIssuer},
		{"iss case variant", forge(edHdr, claimsWith(t, func(m map[string]any) { m["iss"] = strings.ToUpper(testIssuer) }), withSigner(ed)), ErrIssuer},
		{"iss missing", forge(edHdr, claimsWith(t, func(m map[string]any) { delete(m, "iss") }), withSigner(ed)), ErrIssuer},
		{"wrong aud", forge(edHdr, claimsWith(t, func(m map[string]any) { m["aud"] = "other-client" }), withSigner(ed)), ErrAudience},
		{"aud case variant", forge(edHdr, claimsWith(t, func(m map[string]any) { m["aud"] = []string{"Gatehouse"} }), withSigner(ed)), ErrAudience},
		{"aud empty array", forge(edHdr, claimsWith(t, func(m map[string]any) { m["aud"] = []string{} }), withSigner(ed)), ErrAudience},
		{"aud missing", forge(edHdr, claimsWith(t, func(m map[string]any) { delete(m, "aud") }), withSigner(ed)), ErrAudience},
		{"aud as a single string", forge(edHdr, claimsWith(t, func(m map[string]any) { m["aud"] = testAudience }), withSigner(ed)), nil},
		{"ID token as access token", mustSign(t, ed, TypeJWT, claims), ErrType},
		{"typ missing", forge(`{"alg":"EdDSA","kid":"`+edKid+`"}`, claims, withSigner(ed)), ErrType},
		{"typ logout+jwt", forge(hdr("EdDSA", edKid, "logout+jwt"), claims, withSigner(ed)), ErrType},
		{"typ application/jwt", forge(hdr("EdDSA", edKid, "application/jwt"), claims, withSigner(ed)), ErrType},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := VerifyAndValidate(tc.token, keys, expected())
			wantErr(t, err, tc.want)
			if err != nil {
				if tok != nil {
					t.Error("token returned with an error")
				}
				if len(tc.token) > 20 && strings.Contains(err.Error(), tc.token[:20]) {
					t.Errorf("error text contains the token: %v", err)
				}
			}
		})
	}
}

const base64urlAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// TestKidlessTokenSingleKey checks the documented rule for tokens without "kid".
func TestKidlessTokenSingleKey(t *testing.T) {
	ed := mustSigner(t, EdDSA)
	tok := forge(`{"alg":"EdDSA","typ":"at+jwt"}`, mustJSON(t, typicalClaims()), withSigner(ed))
	for _, tc := range []struct {
		name string
		keys Keys
		want error
	}{
		{"one key", Keys{ed.PublicKey()}, nil},
		{"two keys", Keys{ed.PublicKey(), mustSigner(t, ES256).PublicKey()}, ErrUnknownKey},
		{"no keys", Keys{}, ErrUnknownKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := VerifyAndValidate(tok, tc.keys, expected())
			wantErr(t, err, tc.want)
		})
	}
}

func TestValidateExpectedIsRequired(t *testing.T) {
	ed := mustSigner(t, EdDSA)
	tok, err := Verify(mustSign(t, ed, TypeAccessToken, mustJSON(t, typicalClaims())), Keys{ed.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		change func(*Expected)
		fail   bool
	}{
		{"complete", func(*Expected) {}, false},
		{"no issuer", func(e *Expected) { e.Issuer = "" }, true},
		{"no audience", func(e *Expected) { e.Audience = "" }, true},
		{"no typ", func(e *Expected) { e.Typ = "" }, true},
		{"no time", func(e *Expected) { e.Now = time.Time{} }, true},
		{"negative leeway", func(e *Expected) { e.Leeway = -time.Second }, true},
		{"huge leeway", func(e *Expected) { e.Leeway = time.Hour }, true},
		{"max leeway", func(e *Expected) { e.Leeway = MaxLeeway }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := expected()
			tc.change(&e)
			err := Validate(tok, e)
			if (err != nil) != tc.fail {
				t.Fatalf("Validate = %v, want failure %v", err, tc.fail)
			}
		})
	}
	if err := Validate(nil, expected()); err == nil {
		t.Error("Validate(nil) succeeded")
	}
}
