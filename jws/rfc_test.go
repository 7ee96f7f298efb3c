package jws

import (
	"bytes"
	"crypto/ed25519"
	"testing"
)

// RFC 8037 Appendix A: the Ed25519 key (A.1, A.2), its thumbprint (A.3) and the signed example
// (A.4). Ed25519 is deterministic, so the test also re-derives the signature from the private key.
const (
	rfc8037D          = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
	rfc8037X          = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
	rfc8037PublicJWK  = `{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`
	rfc8037Thumbprint = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
	rfc8037Input      = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
	rfc8037Signature  = "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
	rfc8037JWS        = rfc8037Input + "." + rfc8037Signature
)

func TestRFC8037Ed25519(t *testing.T) {
	priv := ed25519.NewKeyFromSeed(mustDecode(t, rfc8037D))
	if got := enc.EncodeToString(priv.Public().(ed25519.PublicKey)); got != rfc8037X {
		t.Fatalf("public key from d = %s, want %s", got, rfc8037X)
	}
	if got := enc.EncodeToString(ed25519.Sign(priv, []byte(rfc8037Input))); got != rfc8037Signature {
		t.Fatalf("signature from d = %s, want %s", got, rfc8037Signature)
	}

	key := mustParseJWK(t, rfc8037PublicJWK)
	if key.Algorithm != EdDSA {
		t.Errorf("inferred algorithm = %s, want EdDSA", key.Algorithm)
	}
	tp, err := Thumbprint(key)
	if err != nil || tp != rfc8037Thumbprint {
		t.Errorf("Thumbprint = %q, %v; want %s", tp, err, rfc8037Thumbprint)
	}

	tok, err := ParseJWS(rfc8037JWS)
	if err != nil {
		t.Fatalf("ParseJWS: %v", err)
	}
	if tok.Header != (Header{Alg: EdDSA}) || string(tok.Payload) != "Example of Ed25519 signing" {
		t.Errorf("parsed %+v %q", tok.Header, tok.Payload)
	}
	if err := tok.Verify(key); err != nil {
		t.Errorf("Verify: %v", err)
	}
	// The payload is text, not a claim set: as a JWT it is malformed.
	_, err = Parse(rfc8037JWS)
	wantErr(t, err, ErrMalformed)

	// Every single-bit change to the signature fails, as does the same token under another key.
	sig := mustDecode(t, rfc8037Signature)
	for i := range len(sig) * 8 {
		bad := bytes.Clone(sig)
		bad[i/8] ^= 1 << (i % 8)
		tok := &Token{Header: Header{Alg: EdDSA}, SigningInput: []byte(rfc8037Input), Signature: bad}
		if err := tok.Verify(key); err == nil {
			t.Fatalf("signature with bit %d flipped verifies", i)
		}
	}
	other := mustSigner(t, EdDSA).PublicKey()
	wantErr(t, tok.Verify(other), ErrBadSignature)
}

// RFC 7638 §3.1: the thumbprint of the example RSA key.
func TestRFC7638Thumbprint(t *testing.T) {
	key := mustParseJWK(t, `{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}`)
	got, err := Thumbprint(key)
	if err != nil || got != "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs" {
		t.Errorf("Thumbprint = %q, %v", got, err)
	}
}

// RFC 7520 §3.4 (RSA key), §3.2 (P-521 key) and §4.1, §4.3, §4.4 (signed examples).
const (
	rfc7520RSAJWK = `{"kty":"RSA","kid":"bilbo.baggins@hobbiton.example","use":"sig",` +
		`"n":"n4EPtAOCc9AlkeQHPzHStgAbgs7bTZLwUBZdR8_KuKPEHLd4rHVTeT-O-XV2jRojdNhxJWTDvNd7nqQ0VEiZQHz_AJmSCpMaJMRBSFKrKb2wqVwGU_NsYOYL-QtiWN2lbzcEe6XC0dApr5ydQLrHqkHHig3RBordaZ6Aj-oBHqFEHYpPe7Tpe-OfVfHd1E6cS6M1FZcD1NNLYD5lFHpPI9bTwJlsde3uhGqC0ZCuEHg8lhzwOHrtIQbS0FVbb9k3-tVTU4fg_3L_vniUFAKwuCLqKnS2BYwdq_mzSnbLY7h_qixoR7jig3__kRhuaxwUkRz5iaiQkqgc5gHdrNP5zw",` +
		`"e":"AQAB"}`
	rfc7520P521JWK = `{"kty":"EC","kid":"bilbo.baggins@hobbiton.example","use":"sig","crv":"P-521",` +
		`"x":"AHKZLLOsCOzz5cY97ewNUajB957y-C-U88c3v13nmGZx6sYl_oJXu9A5RkTKqjqvjyekWF-7ytDyRXYgCF5cj0Kt",` +
		`"y":"AdymlHvOiLxXkEhayXQnNCvDX4h9htZaCJN34kfmC6pV5OhQHiraVySsUdaQkAgDPrwQrJmbnX9cwlGfP-HqHZR1"}`
	rfc7520Payload   = "It\u2019s a dangerous business, Frodo, going out your door. You step onto the road, and if you don't keep your feet, there\u2019s no knowing where you might be swept off to."
	rfc7520Payload64 = "SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4"
	rfc7520RS256     = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9." + rfc7520Payload64 + ".MRjdkly7_-oTPTS3AXP41iQIGKa80A0ZmTuV5MEaHoxnW2e5CZ5NlKtainoFmKZopdHM1O2U4mwzJdQx996ivp83xuglII7PNDi84wnB-BDkoBwA78185hX-Es4JIwmDLJK3lfWRa-XtL0RnltuYv746iYTh_qHRD68BNt1uSNCrUCTJDt5aAE6x8wW1Kt9eRo4QPocSadnHXFxnt8Is9UzpERV0ePPQdLuW3IS_de3xyIrDaLGdjluPxUAhb6L2aXic1U12podGU0KLUQSE_oI-ZnmKJ3F4uOZDnd6QZWJushZ41Axf_fcIe8u9ipH84ogoree7vjbU5y18kDquDg"
	rfc7520ES512     = "eyJhbGciOiJFUzUxMiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9." + rfc7520Payload64 + ".AE_R_YZCChjn4791jSQCrdPZCNYqHXCTZH0-JZGYNlaAjP2kqaluUIIUnC9qvbu9Plon7KRTzoNEuT4Va2cmL1eJAQy3mtPBu_u_sDDyYjnAMDxXPn7XrT0lw-kvAD890jl8e2puQens_IEKBpHABlsbEPX6sFY8OcGDqoRuBomu9xQ2"
	rfc7520HS256     = "eyJhbGciOiJIUzI1NiIsImtpZCI6IjAxOGMwYWU1LTRkOWItNDcxYi1iZmQ2LWVlZjMxNGJjNzAzNyJ9." + rfc7520Payload64 + ".s0h6KThzkfBBBkLspW1h84VsJZFTsPPqMDA7g1Md7p0"
)

func TestRFC7520(t *testing.T) {
	rsaKey := mustParseJWK(t, rfc7520RSAJWK)
	if rsaKey.Algorithm != RS256 || rsaKey.ID != "bilbo.baggins@hobbiton.example" {
		t.Fatalf("RSA key = %s/%s", rsaKey.Algorithm, rsaKey.ID)
	}
	_, err := ParsePublicJWK([]byte(rfc7520P521JWK))
	wantErr(t, err, ErrUnsupportedAlg)

	t.Run("4.1 RS256 verifies", func(t *testing.T) {
		tok, err := ParseJWS(rfc7520RS256)
		if err != nil {
			t.Fatalf("ParseJWS: %v", err)
		}
		if string(tok.Payload) != rfc7520Payload {
			t.Errorf("payload = %q", tok.Payload)
		}
		if err := tok.Verify(rsaKey); err != nil {
			t.Errorf("Verify: %v", err)
		}
		wantErr(t, tok.Verify(mustSigner(t, RS256).PublicKey()), ErrBadSignature)
	})
	t.Run("4.3 ES512 is rejected", func(t *testing.T) {
		_, err := ParseJWS(rfc7520ES512)
		wantErr(t, err, ErrUnsupportedAlg)
	})
	t.Run("4.4 HS256 is rejected", func(t *testing.T) {
		_, err := ParseJWS(rfc7520HS256)
		wantErr(t, err, ErrUnsupportedAlg)
	})
	t.Run("4.1 through a key set", func(t *testing.T) {
		// The payload is not a claim set, so the JWT path refuses it after the signature checks.
		_, err := Verify(rfc7520RS256, Keys{rsaKey})
		wantErr(t, err, ErrMalformed)
	})
}
