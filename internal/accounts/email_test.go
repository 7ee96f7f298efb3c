package accounts_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/mail"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

// sentMail is one message a test mailer was asked to queue.
type sentMail struct {
	kind mail.Kind
	to   string
	data mail.Data
}

// recordingMailer stands in for the outbox in these rule tests; the real SMTP path is
// tested end to end in cmd/gatehouse.
type recordingMailer struct {
	mu   sync.Mutex
	sent []sentMail
}

func (m *recordingMailer) Enqueue(_ context.Context, k mail.Kind, to string, d mail.Data) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, sentMail{k, to, d})
	return nil
}

func (m *recordingMailer) last(t *testing.T, k mail.Kind, to string) sentMail {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.sent) - 1; i >= 0; i-- {
		if m.sent[i].kind == k && m.sent[i].to == to {
			return m.sent[i]
		}
	}
	t.Fatalf("no %s mail to %s in %v", k, to, m.sent)
	return sentMail{}
}

func (m *recordingMailer) count(to string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, s := range m.sent {
		if s.to == to {
			n++
		}
	}
	return n
}

func linkToken(t *testing.T, link string) string {
	t.Helper()
	_, tok, ok := strings.Cut(link, "#token=")
	if !ok {
		t.Fatalf("link %q has no token fragment", link)
	}
	return tok
}

func newEmailFixture(t *testing.T, db store) (*fixture, *recordingMailer) {
	t.Helper()
	f := newFixture(t, db, nil, generous)
	m := &recordingMailer{}
	if err := f.svc.WithEmail(accounts.EmailConfig{Mailer: m, Tokens: db.(accounts.TokenStore), Buckets: ratelimit.NewMemory(0),
		CodeKey: []byte("code key for tests, 32 bytes ok!"), BaseURL: "https://auth.example.com/", EmailLogin: true}); err != nil {
		t.Fatal(err)
	}
	return f, m
}

func TestEmailRules(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Run("ForgotUnknownQueuesNothing", func(t *testing.T) { testForgotUnknown(t, b.open(t)) })
			t.Run("CodeAttemptsBounded", func(t *testing.T) { testCodeAttempts(t, b.open(t)) })
			t.Run("TokenExpiry", func(t *testing.T) { testTokenExpiry(t, b.open(t)) })
			t.Run("ChangeEmailAndUndo", func(t *testing.T) { testChangeEmail(t, b.open(t)) })
			t.Run("RecentAuth", func(t *testing.T) { testRecentAuth(t, b.open(t)) })
		})
	}
}

func testForgotUnknown(t *testing.T, db store) {
	f, m := newEmailFixture(t, db)
	ctx := context.Background()
	f.mustUser(t, "known@example.com", testPassword)
	for _, e := range []string{"nobody@example.com", "known@example.com"} {
		if err := f.svc.ForgotPassword(ctx, e, client("198.51.100.1")); err != nil {
			t.Fatalf("forgot %s: %v", e, err)
		}
	}
	f.svc.Wait()
	if m.count("nobody@example.com") != 0 || m.count("known@example.com") != 1 {
		t.Fatalf("mails: %v", m.sent)
	}
	outcomes := map[string]string{}
	for _, e := range f.events(t, audit.PasswordResetRequested) {
		outcomes[e.Outcome+"/"+e.Reason] = e.UserID
	}
	if uid, ok := outcomes["failure/unknown_user"]; len(outcomes) != 2 || !ok || uid != "" || outcomes["success/"] == "" {
		t.Fatalf("events %v", outcomes)
	}
	// The per-address limit holds for unknown addresses exactly as for known ones.
	var rl *accounts.RateLimitedError
	for _, e := range []string{"nobody@example.com", "known@example.com"} {
		var err error
		for range 5 {
			if err = f.svc.ForgotPassword(ctx, e, client("198.51.100.2")); err != nil {
				break
			}
		}
		if !errors.As(err, &rl) {
			t.Fatalf("forgot %s never rate limited: %v", e, err)
		}
	}
	f.svc.Wait()
}

func testCodeAttempts(t *testing.T, db store) {
	f, m := newEmailFixture(t, db)
	ctx := context.Background()
	res, err := f.svc.Signup(ctx, "coder@example.com", testPassword, client("198.51.100.3"))
	if err != nil {
		t.Fatal(err)
	}
	code := m.last(t, mail.VerifyEmail, "coder@example.com").data.Code
	if len(code) != 6 {
		t.Fatalf("code %q", code)
	}
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	for i := range accounts.CodeAttempts {
		if _, _, err := f.svc.VerifyEmailCode(ctx, res.User.ID, wrong, client("198.51.100.3")); !errors.Is(err, accounts.ErrInvalidCode) {
			t.Fatalf("wrong code %d: %v", i, err)
		}
	}
	// The tries are spent: even the right code no longer works.
	if _, _, err := f.svc.VerifyEmailCode(ctx, res.User.ID, code, client("198.51.100.3")); !errors.Is(err, accounts.ErrInvalidCode) {
		t.Fatalf("right code after %d wrong ones: %v", accounts.CodeAttempts, err)
	}
	// A new code works.
	if sent, err := f.svc.ResendVerification(ctx, res.Session, client("198.51.100.3")); err != nil || !sent {
		t.Fatalf("resend: %v %v", sent, err)
	}
	code = m.last(t, mail.VerifyEmail, "coder@example.com").data.Code
	u, outcome, err := f.svc.VerifyEmailCode(ctx, res.User.ID, code, client("198.51.100.3"))
	if err != nil || outcome != accounts.EmailVerifiedOutcome || !u.EmailVerified {
		t.Fatalf("new code: %v %v %v", u, outcome, err)
	}
	// Email sign-in codes are bounded the same way, and unknown addresses look alike.
	if err := f.svc.RequestEmailLogin(ctx, "coder@example.com", client("198.51.100.3")); err != nil {
		t.Fatal(err)
	}
	f.svc.Wait()
	lc := m.last(t, mail.LoginCode, "coder@example.com").data.Code
	if _, err := f.svc.EmailLogin(ctx, "nobody@example.com", lc, client("198.51.100.3")); !errors.Is(err, accounts.ErrInvalidCode) {
		t.Fatalf("unknown address: %v", err)
	}
	r, err := f.svc.EmailLogin(ctx, "coder@example.com", lc, client("198.51.100.3"))
	if err != nil || len(r.Session.AMR) != 1 || r.Session.AMR[0] != "email" {
		t.Fatalf("email login: %+v %v", r, err)
	}
}

func testTokenExpiry(t *testing.T, db store) {
	f, m := newEmailFixture(t, db)
	ctx := context.Background()
	f.mustUser(t, "late@example.com", testPassword)
	if err := f.svc.ForgotPassword(ctx, "late@example.com", client("198.51.100.4")); err != nil {
		t.Fatal(err)
	}
	f.svc.Wait()
	tok := linkToken(t, m.last(t, mail.PasswordReset, "late@example.com").data.Link)
	f.clock.Add(accounts.ResetTTL + time.Second)
	if err := f.svc.ResetPassword(ctx, tok, "another long passphrase", client("198.51.100.4")); !errors.Is(err, accounts.ErrInvalidToken) {
		t.Fatalf("reset after 30 min: %v", err)
	}
	for _, bad := range []string{"", "x", "a.b", tok + "x", strings.Replace(tok, ".", "", 1)} {
		if err := f.svc.ResetPassword(ctx, bad, "another long passphrase", client("198.51.100.4")); !errors.Is(err, accounts.ErrInvalidToken) {
			t.Fatalf("reset with %q: %v", bad, err)
		}
	}
	res, err := f.svc.Signup(ctx, "slow@example.com", testPassword, client("198.51.100.4"))
	if err != nil {
		t.Fatal(err)
	}
	vt := linkToken(t, m.last(t, mail.VerifyEmail, "slow@example.com").data.Link)
	f.clock.Add(accounts.VerifyTTL + time.Second)
	if _, _, err := f.svc.VerifyEmail(ctx, vt, client("198.51.100.4")); !errors.Is(err, accounts.ErrInvalidToken) {
		t.Fatalf("verify after 24 h: %v", err)
	}
	if u, _ := db.UserByID(ctx, res.User.ID); u.EmailVerified {
		t.Fatal("verified by an expired link")
	}
}

func testChangeEmail(t *testing.T, db store) {
	f, m := newEmailFixture(t, db)
	ctx := context.Background()
	f.mustUser(t, "old@example.com", testPassword)
	f.mustUser(t, "taken@example.com", testPassword)
	res, err := f.svc.Login(ctx, "old@example.com", testPassword, client("198.51.100.5"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.ChangeEmail(ctx, res.Session, "taken@example.com", client("198.51.100.5")); !errors.Is(err, users.ErrEmailTaken) {
		t.Fatalf("change to a taken address: %v", err)
	}
	if err := f.svc.ChangeEmail(ctx, res.Session, "new@example.com", client("198.51.100.5")); err != nil {
		t.Fatal(err)
	}
	if u, _ := db.UserByID(ctx, res.User.ID); u.Email != "old@example.com" {
		t.Fatalf("address changed before verification: %s", u.Email)
	}
	verify := m.last(t, mail.VerifyEmail, "new@example.com")
	notice := m.last(t, mail.EmailChanged, "old@example.com")
	if notice.data.NewEmail != "new@example.com" || notice.data.UndoLink == "" {
		t.Fatalf("notice to the old address: %+v", notice.data)
	}
	u, outcome, err := f.svc.VerifyEmail(ctx, linkToken(t, verify.data.Link), client("198.51.100.5"))
	if err != nil || outcome != accounts.EmailChangedOutcome || u.Email != "new@example.com" || !u.EmailVerified {
		t.Fatalf("verify new address: %+v %v %v", u, outcome, err)
	}
	if _, err := f.sessions.Validate(ctx, string(res.Token)); err != nil {
		t.Fatalf("session ended by a verified change: %v", err)
	}
	// While the change can be undone, another change would replace the undo link.
	var pe *accounts.ProfileError
	if err := f.svc.ChangeEmail(ctx, res.Session, "third@example.com", client("198.51.100.5")); !errors.As(err, &pe) {
		t.Fatalf("second change within the undo window: %v", err)
	}
	// The owner of the old address undoes it: the address comes back, every session ends.
	u, outcome, err = f.svc.VerifyEmail(ctx, linkToken(t, notice.data.UndoLink), client("203.0.113.9"))
	if err != nil || outcome != accounts.EmailChangeUndone || u.Email != "old@example.com" {
		t.Fatalf("undo: %+v %v %v", u, outcome, err)
	}
	if _, err := f.sessions.Validate(ctx, string(res.Token)); !errors.Is(err, sessions.ErrInvalid) {
		t.Fatalf("session after undo: %v", err)
	}
	if len(f.events(t, audit.EmailChangeUndone)) != 1 || len(f.events(t, audit.EmailChangeCompleted)) != 1 {
		t.Fatal("email change events missing")
	}
}

func testRecentAuth(t *testing.T, db store) {
	f, m := newEmailFixture(t, db)
	ctx := context.Background()
	f.mustUser(t, "stepper@example.com", testPassword)
	c := client("198.51.100.6")
	res, err := f.svc.Login(ctx, "stepper@example.com", testPassword, c)
	if err != nil {
		t.Fatal(err)
	}
	other, err := f.svc.Login(ctx, "stepper@example.com", testPassword, c)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Add(accounts.RecentAuth + time.Second)
	if err := f.svc.DeleteAccount(ctx, res.Session, c); !errors.Is(err, accounts.ErrStepUpRequired) {
		t.Fatalf("delete with an old sign-in: %v", err)
	}
	if err := f.svc.ChangePassword(ctx, res.Session, "", "a brand new passphrase", c); !errors.Is(err, accounts.ErrStepUpRequired) {
		t.Fatalf("change without current password and an old sign-in: %v", err)
	}
	if err := f.svc.ChangePassword(ctx, res.Session, "not my password", "a brand new passphrase", c); !errors.Is(err, accounts.ErrCurrentPassword) {
		t.Fatalf("change with a wrong current password: %v", err)
	}
	if err := f.svc.ChangePassword(ctx, res.Session, testPassword, "a brand new passphrase", c); err != nil {
		t.Fatal(err)
	}
	if _, err := f.sessions.Validate(ctx, string(res.Token)); err != nil {
		t.Fatalf("the caller's session ended: %v", err)
	}
	if _, err := f.sessions.Validate(ctx, string(other.Token)); !errors.Is(err, sessions.ErrInvalid) {
		t.Fatalf("another session survived a password change: %v", err)
	}
	m.last(t, mail.PasswordChanged, "stepper@example.com")
	fresh, err := f.svc.Login(ctx, "stepper@example.com", "a brand new passphrase", c)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteAccount(ctx, fresh.Session, c); err != nil {
		t.Fatal(err)
	}
	if _, err := db.UserByID(ctx, fresh.User.ID); !errors.Is(err, users.ErrNotFound) {
		t.Fatalf("user after delete: %v", err)
	}
	if evs := f.events(t, audit.AccountDeleted); len(evs) != 1 || evs[0].Actor != "user" {
		t.Fatalf("delete events %+v", evs)
	}
}

// blockingLookups holds every UserByEmail until released: it shows whether a request waits
// for the account lookup.
type blockingLookups struct {
	emailStore
	release chan struct{}
}

type emailStore interface {
	store
	accounts.TokenStore
}

func (b *blockingLookups) UserByEmail(ctx context.Context, email string) (*users.User, error) {
	<-b.release
	return b.emailStore.UserByEmail(ctx, email)
}

// TestForgotAnswersBeforeLookup: forgot-password and email sign-in return before the
// account is even looked up, so the time of their answer cannot depend on whether it exists.
func TestForgotAnswersBeforeLookup(t *testing.T) {
	db := &blockingLookups{emailStore: openSQLite(t).(emailStore), release: make(chan struct{})}
	f, m := newEmailFixture(t, db)
	ctx := context.Background()
	done := make(chan error, 2)
	go func() { done <- f.svc.ForgotPassword(ctx, "someone@example.com", client("198.51.100.7")) }()
	go func() { done <- f.svc.RequestEmailLogin(ctx, "someone@example.com", client("198.51.100.7")) }()
	for range 2 {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the request waited for the account lookup")
		}
	}
	close(db.release)
	f.svc.Wait()
	if len(m.sent) != 0 {
		t.Fatalf("mail for an unknown address: %v", m.sent)
	}
}
