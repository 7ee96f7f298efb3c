package accounts_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/onetime"
	"github.com/gatehouse-auth/gatehouse/internal/passkeys"
	"github.com/gatehouse-auth/gatehouse/internal/passkeys/passkeystest"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
)

func TestPasskeySignIn(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, b.open(t), nil, ratelimit.Policy{PerIP: ratelimit.Limit{Burst: 4, Per: time.Hour}})
			db := f.db.(interface {
				passkeys.Store
				onetime.Store
			})
			pk, err := passkeys.New(passkeys.Config{RPID: "localhost", Origins: []string{"http://localhost:8080"}}, db, db, audit.NewLog(f.db, f.clock.Now), f.clock.Now)
			if err != nil {
				t.Fatal(err)
			}
			u := f.mustUser(t, "pk@example.com", testPassword)
			a := passkeystest.New("localhost", "http://localhost:8080")
			opts, _ := pk.BeginRegistration(ctx, u.ID, u.Email, "sess")
			body, _ := a.Create(opts)
			if _, err := pk.FinishRegistration(ctx, u.ID, "sess", "", body); err != nil {
				t.Fatal(err)
			}
			c := client("198.51.100.7")
			signIn := func() (*accounts.Result, error) {
				t.Helper()
				if err := f.svc.AdmitPasskeySignIn(ctx, c); err != nil {
					return nil, err
				}
				opts, err := pk.BeginLogin(ctx, "bind")
				if err != nil {
					t.Fatal(err)
				}
				body, _ := a.Get(opts)
				return f.svc.PasskeySignIn(ctx, pk, "bind", body, c)
			}

			res, err := signIn()
			if err != nil {
				t.Fatal(err)
			}
			if res.User.ID != u.ID || !slices.Equal(res.Session.AMR, []string{"hwk"}) || !res.Session.AuthTime.Equal(f.clock.Now()) {
				t.Fatalf("session: user %s amr %v auth_time %v", res.User.ID, res.Session.AMR, res.Session.AuthTime)
			}
			if ev := f.events(t, audit.LoginSucceeded); len(ev) != 1 || ev[0].SessionID != res.Session.ID {
				t.Fatalf("sign-in events: %+v", ev)
			}

			// A response that does not verify is audited and refused.
			opts, _ = pk.BeginLogin(ctx, "bind")
			wrong := *a
			wrong.Origin = "https://evil.example"
			if _, err := f.svc.PasskeySignIn(ctx, pk, "bind", must(wrong.Get(opts)), c); !errors.Is(err, passkeys.ErrInvalid) {
				t.Fatalf("wrong origin: %v", err)
			}
			a.Counter = wrong.Counter
			if ev := f.events(t, audit.LoginFailed); len(ev) != 1 || ev[0].Reason != "passkey_invalid" {
				t.Fatalf("failure events: %+v", ev)
			}

			// A disabled user's passkey opens nothing.
			disabled := true
			if _, err := f.svc.UpdateUser(ctx, u.ID, accounts.UserPatch{Disabled: &disabled}, adminClient); err != nil {
				t.Fatal(err)
			}
			if _, err := signIn(); !errors.Is(err, accounts.ErrInvalidCredentials) {
				t.Fatalf("disabled user: %v", err)
			}
			// The per-IP bucket holds 4: two admissions above (the wrong-origin attempt
			// was not admitted: its BeginLogin was called directly), two more, then refusal.
			for i := range 2 {
				if _, err := signIn(); !errors.Is(err, accounts.ErrInvalidCredentials) {
					t.Fatalf("admission %d: %v", i+3, err)
				}
			}
			var rl *accounts.RateLimitedError
			if _, err := signIn(); !errors.As(err, &rl) || rl.Limit != ratelimit.LimitIP {
				t.Fatalf("fifth sign-in from one IP: %v, want rate limited per IP", err)
			}
			if _, err := f.svc.Login(ctx, u.Email, testPassword, c); !errors.As(err, &rl) {
				t.Fatalf("password sign-in from the same IP: %v, want rate limited (shared bucket)", err)
			}
		})
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
