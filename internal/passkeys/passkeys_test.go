package passkeys_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/passkeys"
	"github.com/gatehouse-auth/gatehouse/internal/passkeys/passkeystest"
)

func TestRegisterAndPasswordlessLogin(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		a := passkeystest.New(rpID, origin)
		a.Flags |= passkeystest.FlagBE | passkeystest.FlagBS // a synced passkey
		p := f.register(t, f.user.ID, a)
		if p.UserID != f.user.ID || string(p.CredentialID) != string(a.CredID) || !p.BackupEligible || !p.BackupState || !p.UserVerified ||
			p.SignCount != 0 || p.Attachment != "platform" || string(p.AAGUID) != string(a.AAGUID[:]) ||
			!slices.Equal(p.Transports, []string{"internal", "hybrid"}) || !strings.HasPrefix(p.Name, "Passkey added ") {
			t.Fatalf("stored passkey: %+v", p)
		}
		if len(f.events(t, passkeys.EventRegistered)) != 1 {
			t.Fatal("registration not audited")
		}

		f.clock.Add(time.Minute)
		as, err := f.login(t, a)
		if err != nil {
			t.Fatalf("password-less sign-in: %v", err)
		}
		if as.UserID != f.user.ID || !as.UserVerified || !slices.Equal(as.AMR(), []string{"swk"}) {
			t.Fatalf("assertion: user %s uv %v amr %v", as.UserID, as.UserVerified, as.AMR())
		}
		list, err := f.svc.List(ctx, f.user.ID)
		if err != nil || len(list) != 1 {
			t.Fatalf("list: %v %v", list, err)
		}
		if list[0].SignCount != 1 || !list[0].LastUsedAt.Equal(f.clock.Now()) {
			t.Fatalf("after use: count %d last used %v", list[0].SignCount, list[0].LastUsedAt)
		}

		// A device-bound security key is "hwk".
		k := passkeystest.New(rpID, origin)
		k.Attachment = "cross-platform"
		kp := f.register(t, f.user.ID, k)
		if !strings.HasPrefix(kp.Name, "Security key added ") {
			t.Fatalf("default name: %q", kp.Name)
		}
		if as, err := f.login(t, k); err != nil || !slices.Equal(as.AMR(), []string{"hwk"}) {
			t.Fatalf("security key: %v %v", as, err)
		}
	})
}

func TestRegistrationOptions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		a := f.register(t, f.user.ID, passkeystest.New(rpID, origin))
		opts, err := f.svc.BeginRegistration(ctx, f.user.ID, "alice@example.com", bind)
		if err != nil {
			t.Fatal(err)
		}
		var o struct {
			PublicKey struct {
				RP struct {
					ID string `json:"id"`
				} `json:"rp"`
				User struct {
					ID   string `json:"id"`
					Name string `json:"name"`
				} `json:"user"`
				Challenge string `json:"challenge"`
				Exclude   []struct {
					ID string `json:"id"`
				} `json:"excludeCredentials"`
				Selection struct {
					ResidentKey      string `json:"residentKey"`
					UserVerification string `json:"userVerification"`
				} `json:"authenticatorSelection"`
				Timeout int `json:"timeout"`
			} `json:"publicKey"`
		}
		if err := json.Unmarshal(opts, &o); err != nil {
			t.Fatal(err)
		}
		pk := o.PublicKey
		if pk.RP.ID != rpID || pk.User.Name != "alice@example.com" || len(pk.Challenge) < 43 || pk.Timeout != 300000 ||
			pk.Selection.ResidentKey != "preferred" || pk.Selection.UserVerification != "preferred" {
			t.Fatalf("options: %s", opts)
		}
		if len(pk.Exclude) != 1 || pk.Exclude[0].ID != b64(a.CredentialID) {
			t.Fatalf("excludeCredentials: %+v, want the registered passkey", pk.Exclude)
		}
	})
}

func b64(b []byte) string {
	s, _ := json.Marshal(b) // standard base64 with padding
	r := strings.NewReplacer("+", "-", "/", "_", "=", "", `"`, "")
	return r.Replace(string(s))
}

func TestRegistrationRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		tests := []struct {
			name   string
			change func(a *passkeystest.Authenticator)
			bind   string
		}{
			{"wrong origin", func(a *passkeystest.Authenticator) { a.Origin = "https://evil.example" }, bind},
			{"sibling origin", func(a *passkeystest.Authenticator) { a.Origin = "https://other.example.com" }, bind},
			{"wrong RP ID", func(a *passkeystest.Authenticator) { a.RPID = "example.com" }, bind},
			{"no user presence", func(a *passkeystest.Authenticator) { a.Flags = passkeystest.FlagUV }, bind},
			{"backup state without eligibility", func(a *passkeystest.Authenticator) { a.Flags |= passkeystest.FlagBS }, bind},
			{"get instead of create", func(a *passkeystest.Authenticator) { a.Type = "webauthn.get" }, bind},
			{"another caller", func(a *passkeystest.Authenticator) {}, "another session"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a := passkeystest.New(rpID, origin)
				tt.change(a)
				opts, err := f.svc.BeginRegistration(ctx, f.user.ID, "alice@example.com", bind)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := a.Create(opts)
				if _, err := f.svc.FinishRegistration(ctx, f.user.ID, tt.bind, "", body); !errors.Is(err, passkeys.ErrInvalid) {
					t.Fatalf("FinishRegistration = %v, want ErrInvalid", err)
				}
			})
		}
		if list, _ := f.svc.List(ctx, f.user.ID); len(list) != 0 {
			t.Fatalf("refused registrations stored %d passkeys", len(list))
		}

		t.Run("another user", func(t *testing.T) {
			bob := f.mustUser(t, "bob@example.com")
			opts, _ := f.svc.BeginRegistration(ctx, f.user.ID, "alice@example.com", bind)
			body, _ := passkeystest.New(rpID, origin).Create(opts)
			if _, err := f.svc.FinishRegistration(ctx, bob.ID, bind, "", body); !errors.Is(err, passkeys.ErrInvalid) {
				t.Fatalf("finished by another user: %v", err)
			}
		})
		t.Run("replayed", func(t *testing.T) {
			a := passkeystest.New(rpID, origin)
			opts, _ := f.svc.BeginRegistration(ctx, f.user.ID, "alice@example.com", bind)
			body, _ := a.Create(opts)
			if _, err := f.svc.FinishRegistration(ctx, f.user.ID, bind, "first", body); err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.FinishRegistration(ctx, f.user.ID, bind, "again", body); !errors.Is(err, passkeys.ErrInvalid) {
				t.Fatalf("replayed registration: %v", err)
			}
		})
		t.Run("expired", func(t *testing.T) {
			opts, _ := f.svc.BeginRegistration(ctx, f.user.ID, "alice@example.com", bind)
			body, _ := passkeystest.New(rpID, origin).Create(opts)
			f.clock.Add(passkeys.ChallengeTTL + time.Second)
			if _, err := f.svc.FinishRegistration(ctx, f.user.ID, bind, "", body); !errors.Is(err, passkeys.ErrInvalid) {
				t.Fatalf("expired challenge: %v", err)
			}
		})
		t.Run("bad name", func(t *testing.T) {
			opts, _ := f.svc.BeginRegistration(ctx, f.user.ID, "alice@example.com", bind)
			body, _ := passkeystest.New(rpID, origin).Create(opts)
			if _, err := f.svc.FinishRegistration(ctx, f.user.ID, bind, strings.Repeat("x", passkeys.MaxNameLen+1), body); !errors.Is(err, passkeys.ErrBadName) {
				t.Fatalf("long name: %v", err)
			}
		})
	})
}

func TestLoginRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		tests := []struct {
			name   string
			change func(a *passkeystest.Authenticator)
		}{
			{"wrong origin", func(a *passkeystest.Authenticator) { a.Origin = "https://auth.example.com.evil.example" }},
			{"wrong RP ID", func(a *passkeystest.Authenticator) { a.RPID = "evil.example" }},
			{"user verification missing", func(a *passkeystest.Authenticator) { a.Flags = passkeystest.FlagUP }},
			{"user presence missing", func(a *passkeystest.Authenticator) { a.Flags = passkeystest.FlagUV }},
			{"backup eligibility appears", func(a *passkeystest.Authenticator) { a.Flags |= passkeystest.FlagBE }},
			{"create instead of get", func(a *passkeystest.Authenticator) { a.Type = "webauthn.create" }},
			{"another user's handle", func(a *passkeystest.Authenticator) { a.UserHandle = []byte("someone-else") }},
			{"no user handle", func(a *passkeystest.Authenticator) { a.UserHandle = nil }},
			{"another key", func(a *passkeystest.Authenticator) { a.Key = passkeystest.New(rpID, origin).Key }},
			{"unknown credential", func(a *passkeystest.Authenticator) { a.CredID = []byte("never registered") }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a := passkeystest.New(rpID, origin)
				f.register(t, f.user.ID, a)
				tt.change(a)
				if as, err := f.login(t, a); !errors.Is(err, passkeys.ErrInvalid) {
					t.Fatalf("FinishLogin = %+v, %v; want ErrInvalid", as, err)
				}
			})
		}

		a := passkeystest.New(rpID, origin)
		f.register(t, f.user.ID, a)
		t.Run("replayed challenge", func(t *testing.T) {
			opts, _ := f.svc.BeginLogin(ctx, bind)
			body, _ := a.Get(opts)
			c := passkeys.Client{IP: "192.0.2.1"}
			if _, err := f.svc.FinishLogin(ctx, bind, body, c); err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.FinishLogin(ctx, bind, body, c); !errors.Is(err, passkeys.ErrInvalid) {
				t.Fatalf("same response twice: %v", err)
			}
			// A fresh signature over the used challenge is refused too.
			ch, _ := passkeystest.Challenge(opts)
			if _, err := f.svc.FinishLogin(ctx, bind, a.GetWithChallenge(ch), c); !errors.Is(err, passkeys.ErrInvalid) {
				t.Fatalf("used challenge signed again: %v", err)
			}
		})
		t.Run("challenge failed once is gone", func(t *testing.T) {
			opts, _ := f.svc.BeginLogin(ctx, bind)
			ch, _ := passkeystest.Challenge(opts)
			bad := *a
			bad.Origin = "https://evil.example"
			if _, err := f.svc.FinishLogin(ctx, bind, bad.GetWithChallenge(ch), passkeys.Client{}); !errors.Is(err, passkeys.ErrInvalid) {
				t.Fatal(err)
			}
			a.Counter = bad.Counter
			if _, err := f.svc.FinishLogin(ctx, bind, a.GetWithChallenge(ch), passkeys.Client{}); !errors.Is(err, passkeys.ErrInvalid) {
				t.Fatalf("challenge reused after a failure: %v", err)
			}
		})
		t.Run("expired challenge", func(t *testing.T) {
			opts, _ := f.svc.BeginLogin(ctx, bind)
			body, _ := a.Get(opts)
			f.clock.Add(passkeys.ChallengeTTL)
			if _, err := f.svc.FinishLogin(ctx, bind, body, passkeys.Client{}); !errors.Is(err, passkeys.ErrInvalid) {
				t.Fatalf("expired: %v", err)
			}
		})
		t.Run("another caller", func(t *testing.T) {
			opts, _ := f.svc.BeginLogin(ctx, bind)
			body, _ := a.Get(opts)
			if _, err := f.svc.FinishLogin(ctx, "another network", body, passkeys.Client{}); !errors.Is(err, passkeys.ErrInvalid) {
				t.Fatalf("other binding: %v", err)
			}
		})
		t.Run("registration challenge", func(t *testing.T) {
			opts, _ := f.svc.BeginRegistration(ctx, f.user.ID, "alice@example.com", bind)
			ch, _ := passkeystest.Challenge(opts)
			if _, err := f.svc.FinishLogin(ctx, bind, a.GetWithChallenge(ch), passkeys.Client{}); !errors.Is(err, passkeys.ErrInvalid) {
				t.Fatalf("registration challenge used to sign in: %v", err)
			}
		})
		t.Run("still works", func(t *testing.T) {
			if _, err := f.login(t, a); err != nil {
				t.Fatalf("the refusals above broke the passkey: %v", err)
			}
		})
	})
}

func TestCloneDetected(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		a := passkeystest.New(rpID, origin)
		a.Counter = 10
		f.register(t, f.user.ID, a)
		if _, err := f.login(t, a); err != nil { // 11
			t.Fatal(err)
		}
		clone := *a
		tests := []struct {
			name    string
			counter uint32 // before Get adds 1
			ok      bool
		}{
			{"back", 4, false},
			{"equal", 10, false},
			{"zero", ^uint32(0), false},
			{"forward", 20, true},
			{"the original, now behind", 11, false},
		}
		for _, tt := range tests {
			clone.Counter = tt.counter
			_, err := f.login(t, &clone)
			if tt.ok != (err == nil) || (err != nil && !errors.Is(err, passkeys.ErrCloned)) {
				t.Fatalf("%s: counter %d: %v", tt.name, tt.counter+1, err)
			}
		}
		ev := f.events(t, passkeys.EventCloneDetected)
		if len(ev) != 4 || ev[0].UserID != f.user.ID || ev[0].IP != "192.0.2.1" || ev[0].Outcome != "failure" {
			t.Fatalf("clone events: %d %+v", len(ev), ev)
		}
		list, _ := f.svc.List(context.Background(), f.user.ID)
		if list[0].SignCount != 21 {
			t.Fatalf("counter %d, want 21 (refusals must not move it)", list[0].SignCount)
		}

		// Authenticators that always say zero are not clones.
		z := passkeystest.New(rpID, origin)
		z.Step = 0
		f.register(t, f.user.ID, z)
		for range 2 {
			if _, err := f.login(t, z); err != nil {
				t.Fatalf("zero counter: %v", err)
			}
		}
	})
}

func TestSecondFactor(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		if _, err := f.svc.BeginAssertion(ctx, f.user.ID, bind); !errors.Is(err, passkeys.ErrNoPasskeys) {
			t.Fatalf("no passkeys: %v", err)
		}
		a, b := passkeystest.New(rpID, origin), passkeystest.New(rpID, origin)
		pa, pb := f.register(t, f.user.ID, a), f.register(t, f.user.ID, b)
		bob := f.mustUser(t, "bob@example.com")
		c := passkeystest.New(rpID, origin)
		f.register(t, bob.ID, c)

		opts, err := f.svc.BeginAssertion(ctx, f.user.ID, bind)
		if err != nil {
			t.Fatal(err)
		}
		var o struct {
			PublicKey struct {
				Allow []struct {
					ID string `json:"id"`
				} `json:"allowCredentials"`
				UV string `json:"userVerification"`
			} `json:"publicKey"`
		}
		json.Unmarshal(opts, &o)
		var allowed []string
		for _, c := range o.PublicKey.Allow {
			allowed = append(allowed, c.ID)
		}
		slices.Sort(allowed)
		want := []string{b64(pa.CredentialID), b64(pb.CredentialID)}
		slices.Sort(want)
		if !slices.Equal(allowed, want) || o.PublicKey.UV != "preferred" {
			t.Fatalf("assertion options: %s", opts)
		}
		// Without user verification: fine as a second factor (the password was the first).
		b.Flags = passkeystest.FlagUP
		as, err := f.svc.VerifyAssertion(ctx, f.user.ID, bind, must(b.Get(opts)), passkeys.Client{})
		if err != nil || as.UserID != f.user.ID || as.Passkey.ID != pb.ID || as.UserVerified {
			t.Fatalf("second factor: %+v %v", as, err)
		}
		// Bob's passkey is no second factor for Alice, even over Alice's challenge.
		opts, _ = f.svc.BeginAssertion(ctx, f.user.ID, bind)
		if _, err := f.svc.VerifyAssertion(ctx, f.user.ID, bind, must(c.Get(opts)), passkeys.Client{}); !errors.Is(err, passkeys.ErrInvalid) {
			t.Fatalf("another user's passkey: %v", err)
		}
		// Alice's challenge is no use for Bob.
		opts, _ = f.svc.BeginAssertion(ctx, f.user.ID, bind)
		if _, err := f.svc.VerifyAssertion(ctx, bob.ID, bind, must(c.Get(opts)), passkeys.Client{}); !errors.Is(err, passkeys.ErrInvalid) {
			t.Fatalf("challenge of another user: %v", err)
		}
		// A password-less challenge is no second factor, and the reverse.
		opts, _ = f.svc.BeginLogin(ctx, bind)
		if _, err := f.svc.VerifyAssertion(ctx, f.user.ID, bind, must(a.Get(opts)), passkeys.Client{}); !errors.Is(err, passkeys.ErrInvalid) {
			t.Fatalf("login challenge as a second factor: %v", err)
		}
		opts, _ = f.svc.BeginAssertion(ctx, f.user.ID, bind)
		if _, err := f.svc.FinishLogin(ctx, bind, must(a.Get(opts)), passkeys.Client{}); !errors.Is(err, passkeys.ErrInvalid) {
			t.Fatalf("second-factor challenge for a password-less sign-in: %v", err)
		}
	})
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestManage(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		a := passkeystest.New(rpID, origin)
		p := f.register(t, f.user.ID, a)
		bob := f.mustUser(t, "bob@example.com")
		for _, name := range []string{"", " ", strings.Repeat("é", passkeys.MaxNameLen+1), "tab\there", "\xff"} {
			if err := f.svc.Rename(ctx, f.user.ID, p.ID, name); !errors.Is(err, passkeys.ErrBadName) {
				t.Fatalf("rename to %q: %v", name, err)
			}
		}
		if err := f.svc.Rename(ctx, f.user.ID, p.ID, strings.Repeat("é", passkeys.MaxNameLen)); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Rename(ctx, bob.ID, p.ID, "stolen"); !errors.Is(err, passkeys.ErrNotFound) {
			t.Fatalf("rename by bob: %v", err)
		}
		if err := f.svc.Delete(ctx, bob.ID, p.ID); !errors.Is(err, passkeys.ErrNotFound) {
			t.Fatalf("delete by bob: %v", err)
		}
		// The same authenticator cannot register twice.
		opts, _ := f.svc.BeginRegistration(ctx, f.user.ID, "alice@example.com", bind)
		if _, err := f.svc.FinishRegistration(ctx, f.user.ID, bind, "", must(a.Create(opts))); !errors.Is(err, passkeys.ErrConflict) {
			t.Fatalf("registered twice: %v", err)
		}
		if err := f.svc.Delete(ctx, f.user.ID, p.ID); err != nil {
			t.Fatal(err)
		}
		if len(f.events(t, passkeys.EventDeleted)) != 1 || len(f.events(t, passkeys.EventRenamed)) != 1 {
			t.Fatal("rename and delete not audited")
		}
		if _, err := f.login(t, a); !errors.Is(err, passkeys.ErrInvalid) {
			t.Fatalf("deleted passkey signs in: %v", err)
		}
	})
}

func TestConfig(t *testing.T) {
	def, err := passkeys.DefaultConfig("https://auth.example.com:8443/base")
	if err != nil || def.RPID != "auth.example.com" || !slices.Equal(def.Origins, []string{"https://auth.example.com:8443"}) {
		t.Fatalf("DefaultConfig: %+v %v", def, err)
	}
	if def, _ := passkeys.DefaultConfig("http://localhost:8080"); def.Validate() != nil {
		t.Fatalf("the default local issuer must be valid: %v", def.Validate())
	}
	tests := []struct {
		name    string
		cfg     passkeys.Config
		wantErr string
	}{
		{"ok", passkeys.Config{RPID: "example.com", Origins: []string{"https://example.com", "https://auth.example.com:8443"}}, ""},
		{"localhost", passkeys.Config{RPID: "localhost", Origins: []string{"http://localhost:8080"}}, ""},
		{"empty", passkeys.Config{}, "webauthn_rp_id: must not be empty"},
		{"no origins", passkeys.Config{RPID: "example.com"}, "want at least one origin"},
		{"rp id with scheme", passkeys.Config{RPID: "https://example.com", Origins: []string{"https://example.com"}}, "lower-case domain"},
		{"rp id with port", passkeys.Config{RPID: "example.com:443", Origins: []string{"https://example.com"}}, "lower-case domain"},
		{"rp id IP", passkeys.Config{RPID: "192.0.2.1", Origins: []string{"https://192.0.2.1"}}, "lower-case domain"},
		{"origin outside rp id", passkeys.Config{RPID: "example.com", Origins: []string{"https://example.org"}}, "neither the RP ID"},
		{"origin suffix trick", passkeys.Config{RPID: "example.com", Origins: []string{"https://badexample.com"}}, "neither the RP ID"},
		{"http origin", passkeys.Config{RPID: "example.com", Origins: []string{"http://example.com"}}, "must use https"},
		{"origin with path", passkeys.Config{RPID: "example.com", Origins: []string{"https://example.com/login"}}, "is not an origin"},
		{"origin with trailing slash", passkeys.Config{RPID: "example.com", Origins: []string{"https://example.com/"}}, "is not an origin"},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%s: Validate() = %v, want %q", tt.name, err, tt.wantErr)
		}
	}
	// Every problem at once.
	err = passkeys.Config{RPID: "Example.COM", Origins: []string{"ftp://x", "https://y.org"}}.Validate()
	if err == nil || strings.Count(err.Error(), "\n") != 2 {
		t.Fatalf("want three problems, got %v", err)
	}
}

// TestConcurrentFinish: the same signed response sent many times at once signs in once.
func TestConcurrentFinish(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		a := passkeystest.New(rpID, origin)
		a.Step = 0 // a zero counter: only the challenge stops the copies
		f.register(t, f.user.ID, a)
		opts, _ := f.svc.BeginLogin(ctx, bind)
		body := must(a.Get(opts))
		results := make(chan error, 8)
		start := make(chan struct{})
		for range 8 {
			go func() {
				<-start
				_, err := f.svc.FinishLogin(ctx, bind, body, passkeys.Client{})
				results <- err
			}()
		}
		close(start)
		wins := 0
		for range 8 {
			switch err := <-results; {
			case err == nil:
				wins++
			case !errors.Is(err, passkeys.ErrInvalid):
				t.Errorf("FinishLogin: %v", err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d of 8 concurrent finishes succeeded, want exactly 1", wins)
		}
	})
}
