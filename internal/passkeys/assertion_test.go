package passkeys

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/passkeys/passkeystest"
)

// signedAssertion is an assertion body of fx's authenticator over clientDataJSON cd and
// authenticator data ad, properly signed, with edit applied to the JSON object last.
func signedAssertion(t *testing.T, key *ecdsa.PrivateKey, credID, userHandle []byte, cd, ad []byte, edit func(m, resp map[string]any)) []byte {
	t.Helper()
	cdh := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), cdh[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	e := base64.RawURLEncoding.EncodeToString
	resp := map[string]any{"clientDataJSON": e(cd), "authenticatorData": e(ad), "signature": e(sig)}
	if userHandle != nil {
		resp["userHandle"] = e(userHandle)
	}
	m := map[string]any{"id": e(credID), "rawId": e(credID), "type": "public-key", "response": resp, "clientExtensionResults": map[string]any{}}
	if edit != nil {
		edit(m, resp)
	}
	b, _ := json.Marshal(m)
	return b
}

func authData(rpID string, flags byte, count uint32, extra ...byte) []byte {
	h := sha256.Sum256([]byte(rpID))
	ad := append(h[:], flags, 0, 0, 0, 0)
	binary.BigEndian.PutUint32(ad[33:], count)
	return append(ad, extra...)
}

func clientDataJSON(fields map[string]any) []byte {
	cd := map[string]any{"type": "webauthn.get", "challenge": fixedChallengeB64, "origin": tOrigin}
	for k, v := range fields {
		if v == nil {
			delete(cd, k)
		} else {
			cd[k] = v
		}
	}
	b, _ := json.Marshal(cd)
	return b
}

// TestAssertionRules: each §7.2 rule the verifier applies, broken alone in an otherwise
// valid, correctly signed assertion, is refused (password-less and second factor); the
// unbroken assertion is accepted, so each case fails only by its rule.
func TestAssertionRules(t *testing.T) {
	up, uv := byte(passkeystest.FlagUP), byte(passkeystest.FlagUV)
	type tc struct {
		name       string
		cd         map[string]any
		ad         []byte
		edit       func(m, resp map[string]any)
		userHandle []byte
		secondOnly bool // refused only in the second-factor ceremony
		loginOnly  bool // refused only in the password-less ceremony
	}
	tests := []tc{
		{name: "valid"},
		{name: "type not public-key", edit: func(m, _ map[string]any) { m["type"] = "public-key2" }},
		{name: "id differs from rawId", edit: func(m, _ map[string]any) { m["id"] = "AAAA" }},
		{name: "padded base64url", edit: func(_, r map[string]any) { r["signature"] = r["signature"].(string) + "=" }},
		{name: "unknown credential", edit: func(m, _ map[string]any) { m["id"], m["rawId"] = "AAAA", "AAAA" }},
		{name: "client data type create", cd: map[string]any{"type": "webauthn.create"}},
		{name: "client data type missing", cd: map[string]any{"type": nil}},
		{name: "client data not JSON", edit: func(_, r map[string]any) {
			r["clientDataJSON"] = base64.RawURLEncoding.EncodeToString([]byte(`{"type":"webauthn.get",`))
		}},
		{name: "origin not configured", cd: map[string]any{"origin": "https://evil.example"}},
		{name: "origin differs in case", cd: map[string]any{"origin": strings.ToUpper(tOrigin)}},
		{name: "crossOrigin true", cd: map[string]any{"crossOrigin": true}},
		{name: "topOrigin present", cd: map[string]any{"topOrigin": tOrigin}},
		{name: "topOrigin with crossOrigin", cd: map[string]any{"crossOrigin": true, "topOrigin": tOrigin}},
		{name: "authenticator data too short", ad: authData(tRPID, up|uv, 0)[:36]},
		{name: "authenticator data trailing bytes", ad: authData(tRPID, up|uv, 0, 0)},
		{name: "attested credential data", ad: authData(tRPID, up|uv|passkeystest.FlagAT, 0)},
		{name: "extensions flag without extensions", ad: authData(tRPID, up|uv|0x80, 0)},
		{name: "rpIdHash of another RP", ad: authData("evil.example", up|uv, 0)},
		{name: "user not present", ad: authData(tRPID, uv, 0)},
		{name: "user not verified", ad: authData(tRPID, up, 0), loginOnly: true},
		{name: "backup eligibility appears", ad: authData(tRPID, up|uv|passkeystest.FlagBE, 0)},
		{name: "backup state without eligibility", ad: authData(tRPID, up|uv|passkeystest.FlagBS, 0)},
		{name: "bad signature", edit: func(_, r map[string]any) {
			s, _ := base64.RawURLEncoding.DecodeString(r["signature"].(string))
			s[len(s)-1] ^= 1
			r["signature"] = base64.RawURLEncoding.EncodeToString(s)
		}},
		{name: "another user's handle", userHandle: []byte("someone-else")},
		{name: "no user handle", userHandle: []byte{}, loginOnly: true},
	}
	for _, tt := range tests {
		for _, login := range []bool{true, false} {
			name := tt.name + map[bool]string{true: " password-less", false: " second factor"}[login]
			t.Run(name, func(t *testing.T) {
				fx := newMemFixture(t)
				ad := tt.ad
				if ad == nil {
					ad = authData(tRPID, up|uv, 0)
				}
				uh := tt.userHandle
				if uh == nil {
					uh = []byte(tUser)
				} else if len(uh) == 0 {
					uh = nil
				}
				body := signedAssertion(t, fx.auth.Key, fx.auth.CredID, uh, clientDataJSON(tt.cd), ad, tt.edit)
				fx.mem.resetCounters()
				var err error
				if login {
					fx.beginLogin(t)
					_, err = fx.svc.FinishLogin(context.Background(), tBind, body, Client{})
				} else {
					fx.beginAssertion(t)
					_, err = fx.svc.VerifyAssertion(context.Background(), tUser, tBind, body, Client{})
				}
				wantOK := tt.name == "valid" || (tt.loginOnly && !login) || (tt.secondOnly && login)
				if wantOK && err != nil {
					t.Fatalf("refused: %v", err)
				}
				if !wantOK && !errors.Is(err, ErrInvalid) {
					t.Fatalf("err = %v, want ErrInvalid", err)
				}
			})
		}
	}
}

// TestAssertionCredentialOwnership: a second factor must present one of the user's own
// passkeys that the options allowed; a password-less sign-in a credential whose user is
// the returned user handle.
func TestAssertionCredentialOwnership(t *testing.T) {
	ctx := context.Background()
	fx := newMemFixture(t)
	// Another user's passkey, registered in the same store.
	other := passkeystest.New(tRPID, tOrigin)
	opts, err := fx.svc.BeginRegistration(ctx, "user-2", "two@example.com", tBind)
	if err != nil {
		t.Fatal(err)
	}
	reg, _ := other.Create(opts)
	if _, err := fx.svc.FinishRegistration(ctx, "user-2", tBind, "", reg); err != nil {
		t.Fatal(err)
	}
	ok := authData(tRPID, passkeystest.FlagUP|passkeystest.FlagUV, 0)
	t.Run("second factor with another user's passkey", func(t *testing.T) {
		fx.beginAssertion(t)
		body := signedAssertion(t, other.Key, other.CredID, nil, clientDataJSON(nil), ok, nil)
		if _, err := fx.svc.VerifyAssertion(ctx, tUser, tBind, body, Client{}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("password-less with another user's handle", func(t *testing.T) {
		fx.beginLogin(t)
		body := signedAssertion(t, other.Key, other.CredID, []byte(tUser), clientDataJSON(nil), ok, nil)
		if _, err := fx.svc.FinishLogin(ctx, tBind, body, Client{}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("second factor with a passkey added after the options", func(t *testing.T) {
		fx.beginAssertion(t) // allowCredentials: the first passkey only
		late := passkeystest.New(tRPID, tOrigin)
		opts, _ := fx.svc.BeginRegistration(ctx, tUser, tAccount, "other-bind")
		reg, _ := late.Create(opts)
		if _, err := fx.svc.FinishRegistration(ctx, tUser, "other-bind", "", reg); err != nil {
			t.Fatal(err)
		}
		body := signedAssertion(t, late.Key, late.CredID, nil, clientDataJSON(nil), ok, nil)
		if _, err := fx.svc.VerifyAssertion(ctx, tUser, tBind, body, Client{}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestKeyCacheNeverStale: the cache is keyed by the stored key bytes too, so a credential
// whose stored key changed is verified with the new key, not the cached old one.
func TestKeyCacheNeverStale(t *testing.T) {
	var c keyCache
	k1, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	a1, a2 := passkeystest.New(tRPID, tOrigin), passkeystest.New(tRPID, tOrigin)
	a1.Key, a2.Key = k1, k2
	id := []byte("cred")
	ad, cd := authData(tRPID, 1, 0), clientDataJSON(nil)
	cdh := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), cdh[:]...))
	sig2, _ := ecdsa.SignASN1(rand.Reader, k2, digest[:])
	p1, err := c.key(id, a1.COSEKey())
	if err != nil {
		t.Fatal(err)
	}
	if p1.verify(ad, cd, sig2) {
		t.Fatal("key 1 verified key 2's signature")
	}
	p2, err := c.key(id, a2.COSEKey())
	if err != nil {
		t.Fatal(err)
	}
	if !p2.verify(ad, cd, sig2) {
		t.Fatal("the changed key was served stale")
	}
	if again, _ := c.key(id, a1.COSEKey()); again != p1 {
		t.Fatal("the unchanged key was parsed again")
	}
}

// TestAssertionKeyAlgorithms: keys of the other algorithms registration offers verify their
// own signatures over authData || SHA-256(clientDataJSON), and refuse a flipped one.
func TestAssertionKeyAlgorithms(t *testing.T) {
	ad, cd := authData(tRPID, 1, 0), clientDataJSON(nil)
	cdh := sha256.Sum256(cd)
	msg := append(append([]byte{}, ad...), cdh[:]...)
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	x, y := make([]byte, 48), make([]byte, 48)
	p384.X.FillBytes(x)
	p384.Y.FillBytes(y)
	d384 := sha512.Sum384(msg)
	sig384, _ := ecdsa.SignASN1(rand.Reader, p384, d384[:])
	cases := []struct {
		name      string
		cose, sig []byte
	}{
		// {1: 1 (OKP), 3: -8 (EdDSA), -1: 6 (Ed25519), -2: x}
		{"EdDSA", append([]byte{0xa4, 0x01, 0x01, 0x03, 0x27, 0x20, 0x06, 0x21, 0x58, 0x20}, edPub...), ed25519.Sign(edPriv, msg)},
		// {1: 2 (EC2), 3: -35 (ES384), -1: 2 (P-384), -2: x, -3: y}
		{"ES384", append(append(append([]byte{0xa5, 0x01, 0x02, 0x03, 0x38, 0x22, 0x20, 0x02, 0x21, 0x58, 0x30}, x...), 0x22, 0x58, 0x30), y...), sig384},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k, err := parsePublicKey(c.cose)
			if err != nil {
				t.Fatal(err)
			}
			if !k.verify(ad, cd, c.sig) {
				t.Fatal("valid signature refused")
			}
			bad := append([]byte{}, c.sig...)
			bad[len(bad)/2] ^= 1
			if k.verify(ad, cd, bad) {
				t.Fatal("flipped signature accepted")
			}
		})
	}
}
