package passkeys

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// mutateAssertion flips the byte at pos (modulo the length) of one member of a valid
// assertion body by xor, or, for field 5, truncates clientDataJSON/authenticatorData.
func mutateAssertion(t testing.TB, body []byte, field uint8, pos uint16, xor byte) []byte {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	resp := m["response"].(map[string]any)
	flip := func(s string) string {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil || len(b) == 0 {
			return s
		}
		b[int(pos)%len(b)] ^= xor
		return base64.RawURLEncoding.EncodeToString(b)
	}
	switch field % 7 {
	case 0:
		resp["clientDataJSON"] = flip(resp["clientDataJSON"].(string))
	case 1:
		resp["authenticatorData"] = flip(resp["authenticatorData"].(string))
	case 2:
		resp["signature"] = flip(resp["signature"].(string))
	case 3:
		id := flip(m["rawId"].(string))
		m["rawId"], m["id"] = id, id
	case 4:
		if uh, ok := resp["userHandle"].(string); ok {
			resp["userHandle"] = flip(uh)
		}
	case 5:
		b, _ := base64.RawURLEncoding.DecodeString(resp["authenticatorData"].(string))
		resp["authenticatorData"] = base64.RawURLEncoding.EncodeToString(b[:int(pos)%(len(b)+1)])
	case 6:
		b, _ := base64.RawURLEncoding.DecodeString(resp["clientDataJSON"].(string))
		resp["clientDataJSON"] = base64.RawURLEncoding.EncodeToString(b[:int(pos)%(len(b)+1)])
	}
	out, _ := json.Marshal(m)
	return out
}

// libraryAccepts is what go-webauthn decides of body for the ceremony the fixture began
// (password-less when login, else a second factor of tUser), with the counter rule the
// service applies (a clone warning is a refusal).
func libraryAccepts(fx *memFixture, login bool, body []byte) error {
	ctx := context.Background()
	parsed, err := protocol.ParseCredentialRequestResponseBytes(body)
	if err != nil {
		return err
	}
	u, _, err := fx.svc.user(ctx, tUser, "")
	if err != nil {
		return err
	}
	var cred *webauthn.Credential
	if login {
		_, sd, berr := fx.svc.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired), webauthn.WithChallenge(fixedChallenge))
		if berr != nil {
			return berr
		}
		_, cred, err = fx.svc.wa.ValidatePasskeyLogin(func(_, h []byte) (webauthn.User, error) {
			if string(h) != tUser {
				return nil, errors.New("unknown user")
			}
			return u, nil
		}, *sd, parsed)
	} else {
		_, sd, berr := fx.svc.wa.BeginLogin(u, webauthn.WithChallenge(fixedChallenge))
		if berr != nil {
			return berr
		}
		cred, err = fx.svc.wa.ValidateLogin(u, *sd, parsed)
	}
	if err != nil {
		return err
	}
	if cred.Authenticator.CloneWarning {
		return errors.New("clone warning")
	}
	return nil
}

// FuzzAssertion is differential: valid assertions (password-less and second factor) with
// one byte flipped in clientDataJSON, authenticatorData, the signature, the credential id
// or the user handle, or with clientDataJSON/authenticatorData truncated, must be accepted
// by our verifier exactly when go-webauthn accepts them.
func FuzzAssertion(f *testing.F) {
	fx := newMemFixture(f)
	fx.auth.UserHandle = []byte(tUser)
	fx.auth.Step = 0 // the counter stays where the fake's reset puts it
	fx.mem.resetCounters()
	valid := fx.auth.GetWithChallenge(fixedChallengeB64)
	for field := range uint8(7) {
		f.Add(field, uint16(0), byte(1), true)
		f.Add(field, uint16(32), byte(0x04), false)
		f.Add(field, uint16(12), byte(0x20), true)
	}
	f.Add(uint8(1), uint16(32), byte(0x01), true) // UP
	f.Add(uint8(1), uint16(32), byte(0x04), true) // UV
	f.Add(uint8(1), uint16(32), byte(0x08), true) // BE
	f.Add(uint8(1), uint16(32), byte(0x10), true) // BS
	f.Add(uint8(1), uint16(36), byte(0x01), true) // counter
	f.Fuzz(func(t *testing.T, field uint8, pos uint16, xor byte, login bool) {
		body := mutateAssertion(t, valid, field, pos, xor)
		fx.mem.resetCounters()
		libErr := libraryAccepts(fx, login, body)
		fx.mem.resetCounters()
		var ourErr error
		if login {
			fx.beginLogin(t)
			_, ourErr = fx.svc.FinishLogin(context.Background(), tBind, body, Client{})
		} else {
			fx.beginAssertion(t)
			_, ourErr = fx.svc.VerifyAssertion(context.Background(), tUser, tBind, body, Client{})
		}
		fx.mem.codes = map[string][]byte{} // a challenge our side refused before consuming
		if ourErr != nil && !errors.Is(ourErr, ErrInvalid) {
			t.Fatalf("refusal is not ErrInvalid: %v", ourErr)
		}
		if (ourErr == nil) != (libErr == nil) {
			t.Fatalf("disagreement (field %d pos %d xor %#x login %v): ours %v, go-webauthn %v\n%s", field, pos, xor, login, ourErr, libErr, body)
		}
	})
}
