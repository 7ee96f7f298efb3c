package jws

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"strings"
	"testing"
	"time"
)

// The benchmarks compare each operation with the bare signature primitive on the same
// signing input, the budget of docs/performance.md being at most 1.15x. BenchmarkRatio measures both
// in alternation within one loop, so clock drift and noise hit them alike, and reports
// "x-raw", the ratio, alongside each side's ns/op. Run with
//
//	go test -run '^$' -bench . ./jws/

type benchFixture struct {
	signer *Signer
	claims []byte
	token  string
	input  []byte // signing input of token
	sig    []byte // signature of token
	keys   Keys
	want   Expected
}

func newBenchFixture(b *testing.B, alg Algorithm) *benchFixture {
	b.Helper()
	s := mustSigner(b, alg)
	claims := mustJSON(b, typicalClaims())
	tok := mustSign(b, s, TypeAccessToken, claims)
	d := strings.LastIndexByte(tok, '.')
	// A verifier usually holds a few keys: put the right one last.
	keys := Keys{mustNewSigner(b, "other-1", EdDSA).PublicKey(), mustNewSigner(b, "other-2", EdDSA).PublicKey(), s.PublicKey()}
	return &benchFixture{
		signer: s, claims: claims, token: tok,
		input: []byte(tok[:d]), sig: mustDecode(b, tok[d+1:]),
		keys: keys, want: expected(),
	}
}

func (fx *benchFixture) sign(b *testing.B) func() {
	return func() {
		if _, err := fx.signer.Sign(TypeAccessToken, fx.claims); err != nil {
			b.Fatal(err)
		}
	}
}

func (fx *benchFixture) verify(b *testing.B) func() {
	return func() {
		if _, err := VerifyAndValidate(fx.token, fx.keys, fx.want); err != nil {
			b.Fatal(err)
		}
	}
}

func (fx *benchFixture) rawSign(b *testing.B) func() {
	switch fx.signer.alg {
	case EdDSA:
		return func() { ed25519.Sign(fx.signer.ed, fx.input) }
	case ES256:
		return func() {
			h := sha256.Sum256(fx.input)
			if _, err := ecdsa.SignASN1(rand.Reader, fx.signer.ec, h[:]); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Fatalf("no raw sign for %s", fx.signer.alg)
	return nil
}

func (fx *benchFixture) rawVerify(b *testing.B) func() {
	pub := fx.signer.PublicKey().Key
	switch fx.signer.alg {
	case EdDSA:
		return func() {
			if !ed25519.Verify(pub.(ed25519.PublicKey), fx.input, fx.sig) {
				b.Fatal("raw verify failed")
			}
		}
	case ES256:
		h := sha256.Sum256(fx.input)
		asn1Sig, err := ecdsa.SignASN1(rand.Reader, fx.signer.ec, h[:])
		if err != nil {
			b.Fatal(err)
		}
		return func() {
			h := sha256.Sum256(fx.input)
			if !ecdsa.VerifyASN1(pub.(*ecdsa.PublicKey), h[:], asn1Sig) {
				b.Fatal("raw verify failed")
			}
		}
	case RS256:
		return func() {
			if err := verifySignature(fx.signer.PublicKey(), fx.input, fx.sig); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Fatalf("no raw verify for %s", fx.signer.alg)
	return nil
}

func loop(b *testing.B, f func()) {
	for b.Loop() {
		f()
	}
}

func BenchmarkSignEdDSA(b *testing.B)        { loop(b, newBenchFixture(b, EdDSA).sign(b)) }
func BenchmarkRawEd25519Sign(b *testing.B)   { loop(b, newBenchFixture(b, EdDSA).rawSign(b)) }
func BenchmarkVerifyEdDSA(b *testing.B)      { loop(b, newBenchFixture(b, EdDSA).verify(b)) }
func BenchmarkRawEd25519Verify(b *testing.B) { loop(b, newBenchFixture(b, EdDSA).rawVerify(b)) }
func BenchmarkSignES256(b *testing.B)        { loop(b, newBenchFixture(b, ES256).sign(b)) }
func BenchmarkRawES256Sign(b *testing.B)     { loop(b, newBenchFixture(b, ES256).rawSign(b)) }
func BenchmarkVerifyES256(b *testing.B)      { loop(b, newBenchFixture(b, ES256).verify(b)) }
func BenchmarkRawES256Verify(b *testing.B)   { loop(b, newBenchFixture(b, ES256).rawVerify(b)) }
func BenchmarkVerifyRS256(b *testing.B)      { loop(b, newBenchFixture(b, RS256).verify(b)) }
func BenchmarkRawRS256Verify(b *testing.B)   { loop(b, newBenchFixture(b, RS256).rawVerify(b)) }

// BenchmarkParse isolates the parsing that Verify adds to the primitive.
func BenchmarkParse(b *testing.B) {
	fx := newBenchFixture(b, EdDSA)
	for b.Loop() {
		if _, err := Parse(fx.token); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRatio reports each operation against its raw primitive as "x-raw" (budget 1.15).
func BenchmarkRatio(b *testing.B) {
	for _, tc := range []struct {
		name string
		alg  Algorithm
		sign bool
	}{
		{"SignEdDSA", EdDSA, true},
		{"VerifyEdDSA", EdDSA, false},
		{"SignES256", ES256, true},
		{"VerifyES256", ES256, false},
		{"VerifyRS256", RS256, false},
	} {
		b.Run(tc.name, func(b *testing.B) {
			fx := newBenchFixture(b, tc.alg)
			ours, raw := fx.verify(b), fx.rawVerify(b)
			if tc.sign {
				ours, raw = fx.sign(b), fx.rawSign(b)
			}
			var tOurs, tRaw time.Duration
			n := 0
			for b.Loop() {
				t0 := time.Now()
				ours()
				t1 := time.Now()
				raw()
				tRaw += time.Since(t1)
				tOurs += t1.Sub(t0)
				n++
			}
			b.ReportMetric(float64(tOurs.Nanoseconds())/float64(n), "ours-ns/op")
			b.ReportMetric(float64(tRaw.Nanoseconds())/float64(n), "raw-ns/op")
			b.ReportMetric(float64(tOurs)/float64(tRaw), "x-raw")
		})
	}
}
