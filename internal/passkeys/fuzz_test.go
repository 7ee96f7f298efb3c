package passkeys

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/gatehouse-auth/gatehouse/internal/passkeys/passkeystest"
)

var fixedChallengeB64 = base64.RawURLEncoding.EncodeToString(fixedChallenge)

// FuzzFinishLogin feeds arbitrary bodies to a password-less sign-in whose challenge is
// pending. It must never panic, every refusal must be ErrInvalid (the store fakes never
// fail), and an accepted body must be a verified assertion of the registered credential.
func FuzzFinishLogin(f *testing.F) {
	fx := newMemFixture(f)
	valid := fx.auth.GetWithChallenge(fixedChallengeB64)
	f.Add(valid)
	f.Add(bytes.Replace(valid, []byte(`"type":"public-key"`), []byte(`"type":"public-key ","type":"x"`), 1))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"id":"AA","rawId":"AA","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"","signature":""}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		fx.beginLogin(t)
		fx.mem.resetCounters()
		as, err := fx.svc.FinishLogin(context.Background(), tBind, body, Client{})
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("refusal is not ErrInvalid: %v", err)
			}
			return
		}
		p, perr := protocol.ParseCredentialRequestResponseBytes(body)
		if perr != nil || as.UserID != tUser || !bytes.Equal(p.RawID, fx.auth.CredID) ||
			!p.Response.AuthenticatorData.Flags.HasUserVerified() || p.Response.CollectedClientData.Challenge != fixedChallengeB64 ||
			p.Response.CollectedClientData.Origin != tOrigin {
			t.Fatalf("accepted a body that is not a verified assertion: %+v %v\n%s", as, perr, body)
		}
	})
}

// FuzzFinishRegistration feeds arbitrary bodies to a pending registration. Refusals must be
// ErrInvalid (or ErrConflict, ErrBadName); an accepted body registers a credential whose
// client data names the pending challenge and origin.
func FuzzFinishRegistration(f *testing.F) {
	fx := newMemFixture(f)
	a := passkeystest.New(tRPID, tOrigin)
	a.UserHandle = []byte(tUser)
	f.Add(a.CreateWithChallenge(fixedChallengeB64))
	f.Add(fx.auth.CreateWithChallenge(fixedChallengeB64)) // registered already
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"id":"AA","rawId":"AA","type":"public-key","response":{"clientDataJSON":"e30","attestationObject":"oA"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		fx.beginRegistration(t)
		p, err := fx.svc.FinishRegistration(context.Background(), tUser, tBind, "", body)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrConflict) {
				t.Fatalf("unexpected refusal: %v", err)
			}
			return
		}
		parsed, perr := protocol.ParseCredentialCreationResponseBytes(body)
		if perr != nil || p.UserID != tUser || parsed.Response.CollectedClientData.Challenge != fixedChallengeB64 ||
			parsed.Response.CollectedClientData.Origin != tOrigin || len(p.PublicKey) == 0 {
			t.Fatalf("accepted a registration that does not verify: %+v %v\n%s", p, perr, body)
		}
		if err := fx.svc.Delete(context.Background(), tUser, p.ID); err != nil { // keep the seed registrable
			t.Fatal(err)
		}
	})
}

// TestFuzzSeedsVerify keeps the fuzz targets meaningful: their valid seeds must be accepted,
// so that mutations start from a body that reaches every check.
func TestFuzzSeedsVerify(t *testing.T) {
	fx := newMemFixture(t)
	fx.beginLogin(t)
	if _, err := fx.svc.FinishLogin(context.Background(), tBind, fx.auth.GetWithChallenge(fixedChallengeB64), Client{}); err != nil {
		t.Fatalf("login seed: %v", err)
	}
	fx.beginRegistration(t)
	if _, err := fx.svc.FinishRegistration(context.Background(), tUser, tBind, "", passkeystest.New(tRPID, tOrigin).CreateWithChallenge(fixedChallengeB64)); err != nil {
		t.Fatalf("registration seed: %v", err)
	}
}
