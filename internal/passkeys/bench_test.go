package passkeys

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// BenchmarkAssertionRatio measures the verification of a passkey assertion against the raw
// ECDSA P-256 verification inside it, reported as "x-raw" (goal 1.2, docs/performance.md):
//
//   - Verify: what the library does with a response body: parse the JSON, base64url and
//     the authenticator data, decode the COSE key, check client data (type, challenge,
//     origin), RP ID hash, flags and the signature over authData || SHA-256(clientDataJSON).
//   - FinishLogin: the whole password-less finish over in-memory stores: the above plus
//     consuming the stored challenge (JSON) and recording the counter. Storing the
//     challenge is the begin request's work, and resetting the fake's counter is the
//     benchmark's: both are set up outside the timed part.
//   - VerifyAssertion: the same for a second factor of a known user (the user's passkeys
//     are loaded once, the presented one picked among them).
//
// The raw side is ecdsa.VerifyASN1 of the same signature over the same digest, the
// signature check no implementation can avoid.
func BenchmarkAssertionRatio(b *testing.B) {
	fx := newMemFixture(b)
	ctx := context.Background()
	body := fx.auth.GetWithChallenge(fixedChallengeB64)
	assertBody := body
	parsed, err := protocol.ParseCredentialRequestResponseBytes(body)
	if err != nil {
		b.Fatal(err)
	}
	cdh := sha256.Sum256(parsed.Raw.AssertionResponse.ClientDataJSON)
	digest := sha256.Sum256(append(append([]byte{}, parsed.Raw.AssertionResponse.AuthenticatorData...), cdh[:]...))
	sig := parsed.Response.Signature
	pub := &fx.auth.Key.PublicKey
	raw := func() {
		if !ecdsa.VerifyASN1(pub, digest[:], sig) {
			b.Fatal("raw verify failed")
		}
	}
	pk, err := fx.svc.store.PasskeyByCredentialID(ctx, fx.auth.CredID)
	if err != nil {
		b.Fatal(err)
	}
	u := &waUser{id: tUser, creds: []webauthn.Credential{pk.credential()}}
	handler := func(_, _ []byte) (webauthn.User, error) { return u, nil }
	_, sd, err := fx.svc.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired), webauthn.WithChallenge(fixedChallenge))
	if err != nil {
		b.Fatal(err)
	}
	ops := []struct {
		name  string
		setup func()
		op    func()
	}{
		{"Verify", nil, func() {
			p, err := protocol.ParseCredentialRequestResponseBytes(body)
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := fx.svc.wa.ValidatePasskeyLogin(handler, *sd, p); err != nil {
				b.Fatal(err)
			}
		}},
		{"FinishLogin", func() { fx.beginLogin(b); fx.mem.resetCounters() }, func() {
			if _, err := fx.svc.FinishLogin(ctx, tBind, body, Client{}); err != nil {
				b.Fatal(err)
			}
		}},
		{"VerifyAssertion", func() { fx.beginAssertion(b); fx.mem.resetCounters() }, func() {
			if _, err := fx.svc.VerifyAssertion(ctx, tUser, tBind, assertBody, Client{}); err != nil {
				b.Fatal(err)
			}
		}},
	}
	for _, o := range ops {
		b.Run(o.name, func(b *testing.B) {
			var tOurs, tRaw time.Duration
			n := 0
			for b.Loop() {
				if o.setup != nil {
					o.setup()
				}
				t0 := time.Now()
				o.op()
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
