package passkeys

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// BenchmarkAssertionRatio measures the verification of a passkey assertion against the raw
// ECDSA P-256 verification inside it, reported as "x-raw" (goal 1.2, docs/performance.md):
//
//   - Verify: what assertion.go does with a response body: parse the JSON, base64url and
//     the authenticator data, check client data (type, challenge, origin), RP ID hash,
//     flags and the signature over authData || SHA-256(clientDataJSON) with the cached
//     parsed key.
//   - Library: the same checks by go-webauthn (ParseCredentialRequestResponseBytes and
//     ValidatePasskeyLogin), which decodes the COSE key for every signature: the reference
//     the verifier replaced.
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
	check := &assertionCheck{Challenge: fixedChallengeB64, Origins: fx.svc.origins, RPIDHash: fx.svc.rpIDHash, RequireUV: true,
		CredID: pk.CredentialID, PublicKey: pk.PublicKey, BackupElig: pk.BackupEligible}
	ops := []struct {
		name  string
		setup func()
		op    func()
	}{
		{"Verify", nil, func() {
			a, err := parseAssertion(body)
			if err != nil {
				b.Fatal(err)
			}
			if err := fx.svc.keys.verify(a, check); err != nil {
				b.Fatal(err)
			}
		}},
		{"Library", nil, func() {
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
	// PASSKEY_COST=<op>:<n> runs only n iterations of one part ("raw", an op's name, or
	// "<name>-setup" for its untimed setup), for counting instructions under callgrind: the
	// cost of a part is the difference from the "none" run (docs/performance.md).
	if cost := os.Getenv("PASSKEY_COST"); cost != "" {
		name, count, _ := strings.Cut(cost, ":")
		n, _ := strconv.Atoi(count)
		var f func()
		for _, o := range ops {
			switch name {
			case o.name:
				f = func() {
					if o.setup != nil {
						o.setup()
					}
					o.op()
				}
			case o.name + "-setup":
				f = func() {}
				if o.setup != nil {
					f = o.setup
				}
			}
		}
		switch name {
		case "raw":
			f = raw
		case "none":
			f = func() {}
		}
		if f == nil {
			b.Fatalf("PASSKEY_COST: unknown part %q", name)
		}
		for range n {
			f()
		}
		return
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
