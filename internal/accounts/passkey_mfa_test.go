package accounts_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/mfa"
	"github.com/gatehouse-auth/gatehouse/internal/onetime"
	"github.com/gatehouse-auth/gatehouse/internal/passkeys"
	"github.com/gatehouse-auth/gatehouse/internal/passkeys/passkeystest"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

// passkeyMFAFixture has MFA (optional policy) with passkeys as a factor, and a user with a
// registered passkey on authenticator a.
type passkeyMFAFixture struct {
	*mfaFixture
	pk   *passkeys.Service
	user *users.User
	a    *passkeystest.Authenticator
}

func newPasskeyMFAFixture(t *testing.T, db store) *passkeyMFAFixture {
	t.Helper()
	f := newMFAFixture(t, db, accounts.MFAOptional)
	pdb := db.(interface {
		passkeys.Store
		onetime.Store
	})
	pk, err := passkeys.New(passkeys.Config{RPID: "localhost", Origins: []string{"http://localhost:8080"}}, pdb, pdb, audit.NewLog(db, f.clock.Now), f.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	f.svc.WithPasskeyFactor(pk)
	u := f.mustUser(t, "pkmfa@example.com", testPassword)
	a := passkeystest.New("localhost", "http://localhost:8080")
	opts, _ := pk.BeginRegistration(context.Background(), u.ID, u.Email, "sess")
	body, _ := a.Create(opts)
	if _, err := pk.FinishRegistration(context.Background(), u.ID, "sess", "", body); err != nil {
		t.Fatal(err)
	}
	return &passkeyMFAFixture{mfaFixture: f, pk: pk, user: u, a: a}
}

func TestPasskeySecondFactor(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			f := newPasskeyMFAFixture(t, b.open(t))
			c := client("198.51.100.9")

			// A user whose only factor is a passkey is asked for it after the password.
			mr := f.password(t, c)
			if !slices.Equal(mr.Methods, []string{"passkey"}) {
				t.Fatalf("methods %v, want [passkey]", mr.Methods)
			}
			tok := string(mr.Token)
			opts, err := f.svc.BeginMFAPasskey(ctx, tok, c)
			if err != nil {
				t.Fatal(err)
			}
			// The options name only this user's credentials.
			if !containsCredential(t, opts, f.a.CredID) {
				t.Fatalf("allowCredentials lacks the user's passkey: %s", opts)
			}
			// A passkey answer to another ceremony (a password-less challenge) is refused and
			// counted as a wrong factor.
			other, _ := f.pk.BeginLogin(ctx, "bind")
			if _, err := f.svc.LoginMFA(ctx, tok, accounts.Proof{Credential: must(f.a.Get(other))}, c); !errors.Is(err, mfa.ErrInvalidCode) {
				t.Fatalf("assertion of another ceremony: %v", err)
			}
			if ev := f.events(t, audit.MFAChallengeFailed); len(ev) != 1 || ev[0].Reason != "wrong_code" {
				t.Fatalf("failure events %+v", ev)
			}
			res, err := f.svc.LoginMFA(ctx, tok, accounts.Proof{Credential: must(f.a.Get(opts))}, c)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.Session.AMR, []string{"pwd", "hwk", "mfa"}) || res.Session.ACR() != sessions.ACRPhishingResistant {
				t.Fatalf("amr %v acr %s", res.Session.AMR, res.Session.ACR())
			}

			// The challenge was used: the same assertion again is refused.
			mr = f.password(t, c)
			if _, err := f.svc.LoginMFA(ctx, string(mr.Token), accounts.Proof{Credential: must(f.a.Get(opts))}, c); !errors.Is(err, mfa.ErrInvalidCode) {
				t.Fatalf("replayed challenge: %v", err)
			}
			// Options begun for one mfa_token do not serve another.
			mr2 := f.password(t, c)
			opts2, _ := f.svc.BeginMFAPasskey(ctx, string(mr2.Token), c)
			if _, err := f.svc.LoginMFA(ctx, string(mr.Token), accounts.Proof{Credential: must(f.a.Get(opts2))}, c); !errors.Is(err, mfa.ErrInvalidCode) {
				t.Fatalf("assertion bound to another mfa_token: %v", err)
			}
			if _, err := f.svc.BeginMFAPasskey(ctx, "made-up", c); !errors.Is(err, accounts.ErrMFAToken) {
				t.Fatalf("begin with a made-up token: %v", err)
			}

			// Step-up with a passkey on a password session.
			f.clock.Add(accounts.RecentAuth + 1)
			sopts, err := f.svc.BeginStepUpPasskey(ctx, res.Session)
			if err != nil {
				t.Fatal(err)
			}
			up, err := f.svc.StepUp(ctx, res.Session, accounts.Proof{Credential: must(f.a.Get(sopts))}, c)
			if err != nil {
				t.Fatal(err)
			}
			if up.Session.ID == res.Session.ID || !up.Session.AuthTime.Equal(f.clock.Now()) || up.Session.ACR() != sessions.ACRPhishingResistant {
				t.Fatalf("step-up session %+v", up.Session)
			}
			// Step-up options are bound to their session.
			sopts, _ = f.svc.BeginStepUpPasskey(ctx, up.Session)
			if _, err := f.svc.StepUp(ctx, res.Session, accounts.Proof{Credential: must(f.a.Get(sopts))}, c); !errors.Is(err, mfa.ErrInvalidCode) {
				t.Fatalf("step-up assertion of another session: %v", err)
			}
		})
	}
}

// TestPasskeySecondFactorLimit: wrong assertions count toward the per-user limit of wrong
// second factors, shared with TOTP codes.
func TestPasskeySecondFactorLimit(t *testing.T) {
	ctx := context.Background()
	f := newPasskeyMFAFixture(t, openSQLite(t))
	c := client("198.51.100.9")
	wrongKey := passkeystest.New("localhost", "http://localhost:8080")
	wrongKey.CredID = f.a.CredID // right credential id, wrong private key
	var rl *accounts.RateLimitedError
	for i := range 6 {
		mr := f.password(t, c)
		opts, err := f.svc.BeginMFAPasskey(ctx, string(mr.Token), c)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.LoginMFA(ctx, string(mr.Token), accounts.Proof{Credential: must(wrongKey.Get(opts))}, c)
		switch {
		case i < 5 && !errors.Is(err, mfa.ErrInvalidCode):
			t.Fatalf("wrong assertion %d: %v", i+1, err)
		case i == 5 && !errors.As(err, &rl):
			t.Fatalf("sixth wrong assertion: %v, want the per-user limit", err)
		}
	}
	// The limit holds for the right passkey too, until it refills.
	mr := f.password(t, c)
	opts, _ := f.svc.BeginMFAPasskey(ctx, string(mr.Token), c)
	if _, err := f.svc.LoginMFA(ctx, string(mr.Token), accounts.Proof{Credential: must(f.a.Get(opts))}, c); !errors.As(err, &rl) {
		t.Fatalf("right passkey while limited: %v", err)
	}
}

// password signs the user in with the password and returns the mfa_required answer.
func (f *passkeyMFAFixture) password(t *testing.T, c accounts.Client) *accounts.MFARequiredError {
	t.Helper()
	res, err := f.svc.Login(context.Background(), f.user.Email, testPassword, c)
	return mustMFARequired(t, res, err)
}

// containsCredential reports whether the request options allow exactly the credential id.
func containsCredential(t *testing.T, opts []byte, id []byte) bool {
	t.Helper()
	var o struct {
		PublicKey struct {
			Allow []struct {
				ID string `json:"id"`
			} `json:"allowCredentials"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(opts, &o); err != nil {
		t.Fatal(err)
	}
	return len(o.PublicKey.Allow) == 1 && o.PublicKey.Allow[0].ID == base64.RawURLEncoding.EncodeToString(id)
}
