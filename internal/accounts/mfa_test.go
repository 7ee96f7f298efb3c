package accounts_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/mfa"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

type mfaStore interface {
	store
	mfa.Store
	mfa.UsedCodes
	mfa.ChallengeStore
}

type mfaFixture struct {
	*fixture
	totp *mfa.Service
}

var testKEK = []byte("0123456789abcdef0123456789abcdef")

func newMFAFixture(t *testing.T, db store, policy string) *mfaFixture {
	t.Helper()
	f := newFixture(t, db, nil, generous)
	ms := db.(mfaStore)
	mem := ratelimit.NewMemory(0)
	att, err := mfa.NewAttempts(mem, nil, f.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := mfa.New(mfa.Config{Issuer: "gatehouse.test", KEK: testKEK}, ms, ms, att, f.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.WithMFA(accounts.MFAConfig{Policy: policy, TOTP: svc, Challenges: mfa.NewChallenges(ms, f.clock.Now),
		Signals: mem, DeviceKey: testKEK}); err != nil {
		t.Fatal(err)
	}
	return &mfaFixture{fixture: f, totp: svc}
}

// enrol signs u in (password only), enrols and confirms an authenticator app, and returns
// its seed and recovery codes.
func (f *mfaFixture) enrol(t *testing.T, u *users.User) ([]byte, []string) {
	t.Helper()
	ctx := context.Background()
	res, err := f.svc.Login(ctx, u.Email, testPassword, client("198.51.100.1"))
	if err != nil {
		t.Fatalf("password sign-in before enrolment: %v", err)
	}
	e, err := f.svc.EnrolTOTP(ctx, res.Session)
	if err != nil {
		t.Fatal(err)
	}
	seed, err := mfa.ParseSeed(string(e.Secret))
	if err != nil {
		t.Fatal(err)
	}
	codes, err := f.svc.ConfirmTOTP(ctx, res.Session, mfa.Code(seed, f.clock.Now()), client("198.51.100.1"))
	if err != nil || len(codes) != 10 {
		t.Fatalf("confirm: %d codes, %v", len(codes), err)
	}
	f.clock.Add(mfa.Period * 3) // the confirming code is spent; start on a fresh step
	return seed, codes
}

func mustMFARequired(t *testing.T, res *accounts.Result, err error) *accounts.MFARequiredError {
	t.Helper()
	var mr *accounts.MFARequiredError
	if !errors.As(err, &mr) {
		t.Fatalf("sign-in answered %+v, %v; want mfa_required", res, err)
	}
	return mr
}

func TestMFASignInStepUp(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			f := newMFAFixture(t, b.open(t), accounts.MFAOptional)
			ctx := context.Background()
			u := f.mustUser(t, "two@example.com", testPassword)
			seed, recovery := f.enrol(t, u)
			c := client("198.51.100.7")

			mr := mustMFARequired(t, nil, errOf(f.svc.Login(ctx, u.Email, testPassword, c)))
			if !slices.Equal(mr.Methods, []string{"totp", "recovery_code"}) {
				t.Errorf("methods %v", mr.Methods)
			}
			code := mfa.Code(seed, f.clock.Now())

			// The token is bound to the network, the user agent and the delivery.
			other := client("203.0.113.9")
			if _, err := f.svc.LoginMFA(ctx, string(mr.Token), accounts.Proof{Code: code}, other); !errors.Is(err, accounts.ErrMFAToken) {
				t.Fatalf("token from another network: %v", err)
			}
			ua := c
			ua.UserAgent = "other"
			if _, err := f.svc.LoginMFA(ctx, string(mr.Token), accounts.Proof{Code: code}, ua); !errors.Is(err, accounts.ErrMFAToken) {
				t.Fatalf("token from another user agent: %v", err)
			}
			tok := c
			tok.Delivery = accounts.DeliverTokens
			if _, err := f.svc.LoginMFA(ctx, string(mr.Token), accounts.Proof{Code: code}, tok); !errors.Is(err, accounts.ErrMFAToken) {
				t.Fatalf("token with another delivery: %v", err)
			}
			if _, err := f.svc.LoginMFA(ctx, string(mr.Token), accounts.Proof{Code: wrong(code)}, c); !errors.Is(err, mfa.ErrInvalidCode) {
				t.Fatalf("wrong code: %v", err)
			}
			res, err := f.svc.LoginMFA(ctx, string(mr.Token), accounts.Proof{Code: code}, c)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.Session.AMR, []string{"pwd", "otp", "mfa"}) || res.Session.ACR() != sessions.ACRMFA {
				t.Errorf("amr %v acr %s", res.Session.AMR, res.Session.ACR())
			}
			if res.Device != "" {
				t.Error("a device cookie outside the adaptive policy")
			}
			if _, err := f.svc.LoginMFA(ctx, string(mr.Token), accounts.Proof{Code: code}, c); !errors.Is(err, accounts.ErrMFAToken) {
				t.Fatalf("token used twice: %v", err)
			}

			// The same code again, through a new token: a replay.
			mr = mustMFARequired(t, nil, errOf(f.svc.Login(ctx, u.Email, testPassword, c)))
			if _, err := f.svc.LoginMFA(ctx, string(mr.Token), accounts.Proof{Code: code}, c); !errors.Is(err, mfa.ErrInvalidCode) {
				t.Fatalf("replayed code: %v", err)
			}
			if ev := f.events(t, audit.MFAChallengeFailed); len(ev) == 0 || ev[len(ev)-1].Reason != "replayed_code" {
				t.Errorf("replay not audited: %+v", ev)
			}

			// A recovery code works once and says how many are left.
			if _, err := f.svc.LoginMFA(ctx, string(mr.Token), accounts.Proof{RecoveryCode: recovery[3]}, c); err != nil {
				t.Fatalf("recovery code: %v", err)
			}
			if ev := f.events(t, audit.RecoveryCodeUsed); len(ev) != 1 || ev[0].Reason != "remaining_9" {
				t.Errorf("recovery_code.used events %+v", ev)
			}
			mr = mustMFARequired(t, nil, errOf(f.svc.Login(ctx, u.Email, testPassword, c)))
			if _, err := f.svc.LoginMFA(ctx, string(mr.Token), accounts.Proof{RecoveryCode: recovery[3]}, c); !errors.Is(err, mfa.ErrInvalidCode) {
				t.Fatalf("recovery code used twice: %v", err)
			}
			if _, err := f.svc.LoginMFA(ctx, string(mr.Token), accounts.Proof{Code: code, RecoveryCode: recovery[4]}, c); !errors.Is(err, accounts.ErrNoProof) {
				t.Fatalf("two proofs: %v", err)
			}

			// Sensitive operations need a recent sign-in; step-up gives one on a new session.
			f.clock.Add(accounts.RecentAuth)
			if err := f.svc.RemoveTOTP(ctx, res.Session, c); !errors.Is(err, accounts.ErrStepUpRequired) {
				t.Fatalf("remove with an old sign-in: %v", err)
			}
			if _, err := f.svc.RegenerateRecoveryCodes(ctx, res.Session, c); !errors.Is(err, accounts.ErrStepUpRequired) {
				t.Fatalf("new recovery codes with an old sign-in: %v", err)
			}
			up, err := f.svc.StepUp(ctx, res.Session, accounts.Proof{Code: mfa.Code(seed, f.clock.Now())}, c)
			if err != nil {
				t.Fatal(err)
			}
			if up.Session.ID == res.Session.ID || !up.Session.AuthTime.Equal(f.clock.Now()) || up.Session.ACR() != sessions.ACRMFA {
				t.Errorf("step-up session %+v", up.Session)
			}
			if _, err := f.sessions.Validate(ctx, string(res.Token)); !errors.Is(err, sessions.ErrInvalid) {
				t.Errorf("the session before step-up still works: %v", err)
			}
			if codes, err := f.svc.RegenerateRecoveryCodes(ctx, up.Session, c); err != nil || len(codes) != 10 {
				t.Fatalf("new recovery codes after step-up: %d %v", len(codes), err)
			}
			if err := f.svc.RemoveTOTP(ctx, up.Session, c); err != nil {
				t.Fatalf("remove after step-up: %v", err)
			}
			if st, err := f.svc.MFAStatus(ctx, u.ID); err != nil || st.TOTP || st.RecoveryCodes != 0 {
				t.Errorf("status after removal: %+v %v", st, err)
			}
			if res, err := f.svc.Login(ctx, u.Email, testPassword, c); err != nil || res.Session.ACR() != sessions.ACRPassword {
				t.Fatalf("sign-in after removal: %v", err)
			}
		})
	}
}

func errOf(_ *accounts.Result, err error) error { return err }

// wrong returns another 6-digit code.
func wrong(code string) string {
	b := []byte(code)
	b[0] = '0' + (b[0]-'0'+1)%10
	return string(b)
}

// TestMFAPerUserLimitAcrossTokens: a guesser with the password opens many mfa_tokens; the
// per-user limit still stops him after 5 wrong codes, and the right code then waits too.
func TestMFAPerUserLimitAcrossTokens(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			f := newMFAFixture(t, b.open(t), accounts.MFAOptional)
			ctx := context.Background()
			u := f.mustUser(t, "guess@example.com", testPassword)
			seed, _ := f.enrol(t, u)
			c := client("198.51.100.8")
			code := mfa.Code(seed, f.clock.Now())
			for i := range 5 {
				mr := mustMFARequired(t, nil, errOf(f.svc.Login(ctx, u.Email, testPassword, c)))
				if _, err := f.svc.LoginMFA(ctx, string(mr.Token), accounts.Proof{Code: wrong(code)}, c); !errors.Is(err, mfa.ErrInvalidCode) {
					t.Fatalf("guess %d: %v", i, err)
				}
			}
			mr := mustMFARequired(t, nil, errOf(f.svc.Login(ctx, u.Email, testPassword, c)))
			var rl *accounts.RateLimitedError
			_, err := f.svc.LoginMFA(ctx, string(mr.Token), accounts.Proof{Code: code}, c)
			if !errors.As(err, &rl) || rl.RetryAfter <= 0 {
				t.Fatalf("6th attempt through a new token: %v, want rate limited", err)
			}
			// Step-up is limited by the same buckets.
			f.clock.Add(time.Second)
			if _, err := f.svc.StepUp(ctx, &sessions.Session{ID: "x", UserID: u.ID}, accounts.Proof{RecoveryCode: "aaaaa-bbbbb"}, c); !errors.As(err, &rl) {
				t.Fatalf("step-up while limited: %v", err)
			}
		})
	}
}

// TestMFATokenTries: five wrong codes end an mfa_token.
func TestMFATokenTries(t *testing.T) {
	f := newMFAFixture(t, openSQLite(t), accounts.MFAOptional)
	ctx := context.Background()
	u := f.mustUser(t, "tries@example.com", testPassword)
	seed, _ := f.enrol(t, u)
	c := client("198.51.100.9")
	mr := mustMFARequired(t, nil, errOf(f.svc.Login(ctx, u.Email, testPassword, c)))
	code := mfa.Code(seed, f.clock.Now())
	for range mfa.MaxChallengeFailures {
		f.clock.Add(time.Minute) // keep the per-user limit out of the way
		code = mfa.Code(seed, f.clock.Now())
		f.svc.LoginMFA(ctx, string(mr.Token), accounts.Proof{Code: wrong(code)}, c)
	}
	if _, err := f.svc.LoginMFA(ctx, string(mr.Token), accounts.Proof{Code: code}, c); !errors.Is(err, accounts.ErrMFAToken) {
		t.Fatalf("right code after 5 wrong ones: %v", err)
	}
	mr = mustMFARequired(t, nil, errOf(f.svc.Login(ctx, u.Email, testPassword, c)))
	f.clock.Add(mfa.ChallengeTTL)
	if _, err := f.svc.LoginMFA(ctx, string(mr.Token), accounts.Proof{Code: mfa.Code(seed, f.clock.Now())}, c); !errors.Is(err, accounts.ErrMFAToken) {
		t.Fatalf("expired token: %v", err)
	}
}

// TestMFATokenAfterPasswordChange: a password change between the two steps kills the token.
func TestMFATokenAfterPasswordChange(t *testing.T) {
	f := newMFAFixture(t, openSQLite(t), accounts.MFAOptional)
	ctx := context.Background()
	u := f.mustUser(t, "changed@example.com", testPassword)
	seed, _ := f.enrol(t, u)
	c := client("198.51.100.10")
	mr := mustMFARequired(t, nil, errOf(f.svc.Login(ctx, u.Email, testPassword, c)))
	pw := "another long passphrase here"
	if _, err := f.svc.UpdateUser(ctx, u.ID, accounts.UserPatch{Password: &pw}, adminClient); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.LoginMFA(ctx, string(mr.Token), accounts.Proof{Code: mfa.Code(seed, f.clock.Now())}, c); !errors.Is(err, accounts.ErrInvalidCredentials) {
		t.Fatalf("second step after a password change: %v", err)
	}
}

func TestMFAAdaptive(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			f := newMFAFixture(t, b.open(t), accounts.MFAAdaptive)
			ctx := context.Background()
			u := f.mustUser(t, "adaptive@example.com", testPassword)
			seed, _ := f.enrol(t, u)
			home := client("198.51.100.20")

			// First sign-in from here: no device cookie, unknown network.
			mr := mustMFARequired(t, nil, errOf(f.svc.Login(ctx, u.Email, testPassword, home)))
			res, err := f.svc.LoginMFA(ctx, string(mr.Token), accounts.Proof{Code: mfa.Code(seed, f.clock.Now())}, home)
			if err != nil {
				t.Fatal(err)
			}
			home.Device = res.Device
			other := f.mustUser(t, "other@example.com", testPassword)

			tests := []struct {
				name   string
				c      accounts.Client
				before func()
				want   string // reasons of login.risk; "none" = signed in without a second factor
			}{
				{"known device and network", home, nil, "none"},
				{"same /24, other address", withIP(home, "198.51.100.99"), nil, "none"},
				{"no device cookie", withDevice(home, ""), nil, accounts.RiskNewDevice},
				{"forged device cookie", withDevice(home, strings.Repeat("a", 26)+".x"), nil, accounts.RiskNewDevice},
				{"another network", withIP(home, "203.0.113.5"), nil, accounts.RiskNewNetwork},
				{"after a wrong password", home, func() {
					if _, err := f.svc.Login(ctx, u.Email, "wrong password!", home); !errors.Is(err, accounts.ErrInvalidCredentials) {
						t.Fatal(err)
					}
				}, accounts.RiskRecentFailures},
				{"a day later", home, func() { f.clock.Add(25 * time.Hour) }, "none"},
			}
			for _, tc := range tests {
				if tc.before != nil {
					tc.before()
				}
				res, err := f.svc.Login(ctx, u.Email, testPassword, tc.c)
				ev := f.events(t, audit.LoginRisk)
				last := ev[len(ev)-1]
				if last.Reason != tc.want {
					t.Errorf("%s: login.risk reason %q, want %q", tc.name, last.Reason, tc.want)
				}
				if tc.want == "none" && (err != nil || res.Session == nil) {
					t.Errorf("%s: %v, want a session", tc.name, err)
				}
				var mr *accounts.MFARequiredError
				if tc.want != "none" && !errors.As(err, &mr) {
					t.Errorf("%s: %v, want mfa_required", tc.name, err)
				}
			}
			// A device cookie of another account does not make this one familiar.
			res, err = f.svc.Login(ctx, other.Email, testPassword, home)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.Login(ctx, u.Email, testPassword, withDevice(home, res.Device)); !errors.As(err, new(*accounts.MFARequiredError)) {
				t.Fatalf("device cookie of another user accepted: %v", err)
			}
		})
	}
}

func withIP(c accounts.Client, ip string) accounts.Client { c.IP, c.RateKey = ip, ip; return c }
func withDevice(c accounts.Client, d string) accounts.Client {
	c.Device = d
	return c
}

func TestMFARequiredPolicy(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			f := newMFAFixture(t, b.open(t), accounts.MFARequired)
			ctx := context.Background()
			u := f.mustUser(t, "must@example.com", testPassword)
			c := client("198.51.100.30")
			c.Delivery = accounts.DeliverTokens
			_, err := f.svc.Login(ctx, u.Email, testPassword, c)
			var er *accounts.EnrolmentRequiredError
			if !errors.As(err, &er) {
				t.Fatalf("sign-in without a factor: %v, want enrolment required", err)
			}
			limited := er.Result.Session
			if limited.Purpose != sessions.PurposeMFAEnrolment || er.Result.Refresh != "" {
				t.Fatalf("limited session %+v (refresh token %v)", limited, er.Result.Refresh != "")
			}
			if err := accounts.RequireFull(limited); !errors.Is(err, accounts.ErrEnrolmentOnly) {
				t.Fatalf("RequireFull on a limited session: %v", err)
			}
			if _, err := f.svc.StepUp(ctx, limited, accounts.Proof{Code: "123456"}, c); !errors.Is(err, accounts.ErrEnrolmentOnly) {
				t.Fatalf("step-up of a limited session: %v", err)
			}
			e, err := f.svc.EnrolTOTP(ctx, limited)
			if err != nil {
				t.Fatal(err)
			}
			seed, _ := mfa.ParseSeed(string(e.Secret))
			if _, err := f.svc.ConfirmTOTP(ctx, limited, mfa.Code(seed, f.clock.Now()), c); err != nil {
				t.Fatal(err)
			}
			if _, err := f.sessions.Validate(ctx, string(er.Result.Token)); !errors.Is(err, sessions.ErrInvalid) {
				t.Fatalf("the limited session outlived enrolment: %v", err)
			}
			f.clock.Add(time.Minute)
			mr := mustMFARequired(t, nil, errOf(f.svc.Login(ctx, u.Email, testPassword, c)))
			res, err := f.svc.LoginMFA(ctx, string(mr.Token), accounts.Proof{Code: mfa.Code(seed, f.clock.Now())}, c)
			if err != nil || res.Session.Purpose != "" || res.Refresh == "" {
				t.Fatalf("full sign-in after enrolment: %+v %v", res, err)
			}
		})
	}
}

// TestFactorChangeEndsOtherSessions: enrolling ends the user's other sessions, not this one.
func TestFactorChangeEndsOtherSessions(t *testing.T) {
	f := newMFAFixture(t, openSQLite(t), accounts.MFAOptional)
	ctx := context.Background()
	u := f.mustUser(t, "change@example.com", testPassword)
	c := client("198.51.100.40")
	a, err := f.svc.Login(ctx, u.Email, testPassword, c)
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.svc.Login(ctx, u.Email, testPassword, c)
	if err != nil {
		t.Fatal(err)
	}
	e, err := f.svc.EnrolTOTP(ctx, a.Session)
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := mfa.ParseSeed(string(e.Secret))
	if _, err := f.svc.ConfirmTOTP(ctx, a.Session, mfa.Code(seed, f.clock.Now()), c); err != nil {
		t.Fatal(err)
	}
	if _, err := f.sessions.Validate(ctx, string(a.Token)); err != nil {
		t.Errorf("the enrolling session ended: %v", err)
	}
	if _, err := f.sessions.Validate(ctx, string(b.Token)); !errors.Is(err, sessions.ErrInvalid) {
		t.Errorf("another session survived the factor change: %v", err)
	}
	if err := f.svc.ResetMFA(ctx, u.ID, adminClient); err != nil {
		t.Fatal(err)
	}
	if _, err := f.sessions.Validate(ctx, string(a.Token)); !errors.Is(err, sessions.ErrInvalid) {
		t.Errorf("a session survived the admin reset: %v", err)
	}
	if st, _ := f.svc.MFAStatus(ctx, u.ID); st.TOTP || st.RecoveryCodes != 0 {
		t.Errorf("factors after reset: %+v", st)
	}
}
