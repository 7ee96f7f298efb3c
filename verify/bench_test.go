package verify_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/jws"
	"github.com/gatehouse-auth/gatehouse/verify"
)

// BenchmarkVerifyCached is the hot path of a busy API: a token already verified (goal < 2 µs).
func BenchmarkVerifyCached(b *testing.B) {
	is := newIssuer(b)
	c := &clock{t: time.Now()}
	v := newVerifier(b, is, c)
	tok := sign(b, is.signers[0], "at+jwt", is.claims(c.Now()))
	ctx := context.Background()
	if _, err := v.Verify(ctx, tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyFirst verifies a token never seen before each time, interleaved with a raw
// ed25519.Verify of the same signing input, and reports the ratio (goal ≤ 1.15).
func BenchmarkVerifyFirst(b *testing.B) {
	is := newIssuer(b)
	c := &clock{t: time.Now()}
	v := newVerifier(b, is, c, verify.WithCacheSize(1)) // every token new to the cache
	const n = 256
	toks := make([]string, n)
	for i := range toks {
		cl := is.claims(c.Now())
		cl["jti"] = fmt.Sprintf("j%d", i)
		toks[i] = sign(b, is.signers[0], "at+jwt", cl)
	}
	pub := is.signers[0].PublicKey().Key.(ed25519.PublicKey)
	parsed := make([]*jws.Token, n)
	for i, tk := range toks {
		parsed[i], _ = jws.Parse(tk)
	}
	ctx := context.Background()
	var ours, raw time.Duration
	i := 0
	for b.Loop() {
		t0 := time.Now()
		if _, err := v.Verify(ctx, toks[i%n]); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if !ed25519.Verify(pub, parsed[i%n].SigningInput, parsed[i%n].Signature) {
			b.Fatal("raw verify failed")
		}
		raw += time.Since(t1)
		ours += t1.Sub(t0)
		i++
	}
	b.ReportMetric(float64(ours.Nanoseconds())/float64(i), "ours-ns/op")
	b.ReportMetric(float64(raw.Nanoseconds())/float64(i), "raw-ed25519-ns/op")
	b.ReportMetric(float64(ours)/float64(raw), "ratio(goal≤1.15)")
}

// BenchmarkMiddleware is the per-request cost of the middleware with a cached token.
func BenchmarkMiddleware(b *testing.B) {
	is := newIssuer(b)
	c := &clock{t: time.Now()}
	v := newVerifier(b, is, c)
	h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer "+sign(b, is.signers[0], "at+jwt", is.claims(c.Now())))
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
	if !strings.Contains(fmt.Sprint(w.Code), "200") {
		b.Fatal(w.Code)
	}
}
