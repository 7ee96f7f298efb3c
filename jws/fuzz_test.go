package jws

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzKeys returns fixed keys, so that seed tokens and saved corpora stay valid across runs.
func fuzzKeys(tb testing.TB) (ed, ec *Signer) {
	tb.Helper()
	edPriv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	ecPriv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), bytes.Repeat([]byte{9}, 32))
	if err != nil {
		tb.Fatal(err)
	}
	ed, err = NewSigner("fuzz-ed", EdDSA, edPriv)
	if err != nil {
		tb.Fatal(err)
	}
	ec, err = NewSigner("fuzz-ec", ES256, ecPriv)
	if err != nil {
		tb.Fatal(err)
	}
	return ed, ec
}

func addSeeds(f *testing.F, ed, ec *Signer) {
	claims := mustJSON(f, typicalClaims())
	for _, s := range []string{
		mustSign(f, ed, TypeAccessToken, claims),
		mustSign(f, ec, TypeAccessToken, claims),
		mustSign(f, ed, TypeJWT, []byte(`{"sub":"a","aud":["x"],"exp":1e3,"a":{"b":[1,{"c":null}]}}`)),
		rfc8037JWS, rfc7520RS256, rfc7520ES512, rfc7520HS256,
		forge(`{"alg":"none"}`, claims, noSig),
		forge(`{"alg":"EdDSA","alg":"none"}`, claims, noSig),
		forge(`{"alg":"EdDSA","\u0061lg":"EdDSA","crit":["x"]}`, []byte(`{"\u212a":1,"k":2}`), withSigner(ed)),
		"", ".", "..", "a.b.c", "e30.e30.AA", "e30.e30.", "=.=.=",
	} {
		f.Add(s)
	}
}

// FuzzParse feeds arbitrary strings to Parse. It must never panic; every error must wrap one
// of the package's sentinels and not quote the input; and whatever parses must be canonical:
// re-encoding the decoded parts gives back the input byte for byte.
func FuzzParse(f *testing.F) {
	ed, ec := fuzzKeys(f)
	addSeeds(f, ed, ec)
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := Parse(s)
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("error does not wrap a sentinel: %v", err)
			}
			if len(s) >= 16 && strings.Contains(err.Error(), s) {
				t.Fatalf("error quotes the token: %v", err)
			}
			return
		}
		if !tok.Header.Alg.Supported() || len(s) > MaxTokenSize {
			t.Fatalf("accepted alg %q, size %d", tok.Header.Alg, len(s))
		}
		d2 := strings.LastIndexByte(s, '.')
		d1 := strings.IndexByte(s, '.')
		if string(tok.SigningInput) != s[:d2] ||
			enc.EncodeToString(tok.Payload) != s[d1+1:d2] ||
			enc.EncodeToString(tok.Signature) != s[d2+1:] {
			t.Fatalf("parsed parts do not re-encode to the input")
		}
		if !json.Valid(tok.Payload) {
			t.Fatalf("accepted a payload encoding/json rejects")
		}
	})
}

// FuzzVerifyMutated starts from valid tokens and lets the fuzzer mutate them. Nothing may
// panic, and any string that verifies must be the original token (EdDSA: the signature covers
// every byte and both Ed25519 and our base64 are canonical), or, for ES256, whose signatures
// are malleable ((r, s) and (r, n-s) are both valid), have the original signing input.
func FuzzVerifyMutated(f *testing.F) {
	ed, ec := fuzzKeys(f)
	claims := mustJSON(f, typicalClaims())
	edTok := mustSign(f, ed, TypeAccessToken, claims)
	ecTok := mustSign(f, ec, TypeAccessToken, claims)
	ecInput := ecTok[:strings.LastIndexByte(ecTok, '.')]
	f.Add(edTok)
	f.Add(ecTok)
	keys := Keys{ed.PublicKey(), ec.PublicKey()}
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := Verify(s, keys)
		if err != nil {
			return
		}
		switch tok.Header.Alg {
		case EdDSA:
			if s != edTok {
				t.Fatalf("a mutated EdDSA token verified:\n%s\n%s", s, edTok)
			}
		case ES256:
			if string(tok.SigningInput) != ecInput {
				t.Fatalf("a mutated ES256 signing input verified")
			}
		default:
			t.Fatalf("verified alg %q", tok.Header.Alg)
		}
	})
}

// FuzzScanObject compares the strict scanner with an independent oracle built on
// encoding/json's tokenizer: the scanner must accept exactly the valid UTF-8 JSON objects
// that nest at most maxJSONDepth deep and repeat no member name under strings.EqualFold.
func FuzzScanObject(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"a":1}`, `{"a":1,"A":2}`, `{"a":{"b":[{"c":"d"}]}}`, `{"\u212a":1,"k":2}`,
		`{"\ud800":1,"\udc00":2}`, `{"a":"\u00e9\n"}`, `[1]`, `{"a":1e5,"b":-0.5}`, `{"a" : true } `,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := scanObject(s, nil)
		want := oracleAccepts(s)
		if (err == nil) != want {
			t.Fatalf("scanObject(%q) = %v, oracle accepts = %v", s, err, want)
		}
	})
}

func oracleAccepts(s string) bool {
	if !utf8.ValidString(s) || !json.Valid([]byte(s)) {
		return false
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	type frame struct {
		object    bool
		names     []string
		expectKey bool
	}
	var stack []*frame
	for first := true; ; first = false {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return true
		}
		if err != nil {
			return false
		}
		if first && tok != json.Delim('{') {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1].object {
				stack[len(stack)-1].expectKey = true
			}
			continue
		}
		if top != nil && top.object && top.expectKey {
			name := tok.(string)
			for _, prev := range top.names {
				if strings.EqualFold(prev, name) {
					return false
				}
			}
			top.names = append(top.names, name)
			top.expectKey = false
			continue
		}
		if d, ok := tok.(json.Delim); ok {
			stack = append(stack, &frame{object: d == '{', expectKey: d == '{'})
			if len(stack) > maxJSONDepth {
				return false
			}
			continue
		}
		if top != nil && top.object {
			top.expectKey = true
		}
	}
}
