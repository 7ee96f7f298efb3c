package main

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/mail"
	"github.com/gatehouse-auth/gatehouse/internal/mail/smtptest"
	"github.com/gatehouse-auth/gatehouse/internal/outbox"
	"github.com/gatehouse-auth/gatehouse/internal/store/postgres"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-auth/gatehouse/internal/webhooks"
)

// durableStore is a store the outbox tests can close and open again, like a process that
// is killed and restarted.
type durableStore interface {
	outbox.Store
	audit.Store
	Close() error
}

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func durableBackends(t *testing.T, run func(t *testing.T, open func(t *testing.T) durableStore)) {
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "gatehouse.db")
		run(t, func(t *testing.T) durableStore {
			db, err := sqlite.Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			return db
		})
	})
	t.Run("postgres", func(t *testing.T) {
		u := testDatabase(t)
		run(t, func(t *testing.T) durableStore {
			db, err := postgres.Open(context.Background(), u)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			return db
		})
	})
}

// countOutcomes is an outbox.Observer that counts.
type countOutcomes struct {
	mu sync.Mutex
	n  map[outbox.Outcome]int
}

func (c *countOutcomes) observe(_ string, o outbox.Outcome) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[outbox.Outcome]int{}
	}
	c.n[o]++
}

func (c *countOutcomes) get(o outbox.Outcome) int { c.mu.Lock(); defer c.mu.Unlock(); return c.n[o] }

// failMarkOnce fails the first OutboxMarkSent: the process died between the SMTP server
// accepting a message and the row saying so.
type failMarkOnce struct {
	outbox.Store
	failed atomic.Bool
}

func (f *failMarkOnce) OutboxMarkSent(ctx context.Context, id, claim string, now time.Time) error {
	if f.failed.CompareAndSwap(false, true) {
		return errors.New("crash before the mark")
	}
	return f.Store.OutboxMarkSent(ctx, id, claim, now)
}

// TestMailOutboxDurable: a message queued during an SMTP outage is sent once the server is
// back; a message queued just before the process dies is sent by the next process; nothing
// is sent twice in normal operation; and when the mark after a delivery is lost, the message
// goes out again with the same Message-ID (at least once, with an idempotency key).
func TestMailOutboxDurable(t *testing.T) {
	durableBackends(t, func(t *testing.T, open func(t *testing.T) durableStore) {
		ctx := context.Background()
		mailSrv := smtptest.Start(t)
		sc, err := mail.ParseSMTPURL(mailSrv.URL())
		if err != nil {
			t.Fatal(err)
		}
		sc.Timeout = 5 * time.Second
		sender, err := mail.NewSMTPSender(sc)
		if err != nil {
			t.Fatal(err)
		}
		tpl, err := mail.NewTemplates(nil, mail.Brand{Name: "Acme"})
		if err != nil {
			t.Fatal(err)
		}
		key := make([]byte, 32)
		rand.Read(key)
		clock := &testClock{t: time.Now()}
		outcomes := &countOutcomes{}
		newOutbox := func(st outbox.Store) *mail.Outbox {
			ob, err := mail.NewOutbox(st, sender, tpl, mail.Config{From: emailTestSender, Key: key}, clock.Now, outcomes.observe, nil)
			if err != nil {
				t.Fatal(err)
			}
			return ob
		}
		runOnce := func(ob *mail.Outbox, want int) {
			t.Helper()
			n, err := ob.RunOnce(ctx)
			if err != nil || n != want {
				t.Fatalf("RunOnce claimed %d (%v), want %d", n, err, want)
			}
		}

		// An outage: the attempt fails and is retried later; the request never saw it.
		mailSrv.Stop()
		db1 := open(t)
		ob1 := newOutbox(db1)
		if err := ob1.Enqueue(ctx, mail.PasswordReset, "dana@example.com", mail.Data{Link: "https://a.test/r#token=x", Expires: 30 * time.Minute}); err != nil {
			t.Fatal(err)
		}
		runOnce(ob1, 1)
		if outcomes.get(outbox.Retry) != 1 || len(mailSrv.Messages()) != 0 {
			t.Fatalf("outage: %v outcomes, %d messages", outcomes.n, len(mailSrv.Messages()))
		}
		db1.Close()

		// A message queued, then the process dies before its worker ran.
		mailSrv.Start()
		db2 := open(t)
		if err := newOutbox(db2).Enqueue(ctx, mail.VerifyEmail, "erin@example.com", mail.Data{Link: "https://a.test/v#token=y", Code: "123456", Expires: 24 * time.Hour}); err != nil {
			t.Fatal(err)
		}
		db2.Close()

		// The next process sends both, once each.
		db3 := open(t)
		defer db3.Close()
		ob3 := newOutbox(db3)
		clock.Add(time.Minute) // past the first retry's backoff (30 s at most)
		runOnce(ob3, 2)
		runOnce(ob3, 0)
		got := map[string]int{}
		for _, m := range mailSrv.Messages() {
			got[m.To]++
		}
		if got["dana@example.com"] != 1 || got["erin@example.com"] != 1 || len(got) != 2 {
			t.Fatalf("delivered %v, want each message once", got)
		}

		// The mark after a delivery is lost: the lease ends and the message goes out again
		// with the same Message-ID, which the receiver can use to drop the duplicate.
		flaky := &failMarkOnce{Store: db3}
		ob4 := newOutbox(flaky)
		if err := ob4.Enqueue(ctx, mail.PasswordChanged, "fred@example.com", mail.Data{}); err != nil {
			t.Fatal(err)
		}
		runOnce(ob4, 1)
		runOnce(ob4, 0) // leased
		clock.Add(3 * time.Minute)
		runOnce(ob4, 1)
		var ids []string
		for _, m := range mailSrv.Messages() {
			if m.To == "fred@example.com" {
				ids = append(ids, m.MessageID)
			}
		}
		if len(ids) != 2 || ids[0] != ids[1] || ids[0] == "" {
			t.Fatalf("redelivery Message-IDs %q, want the same twice", ids)
		}
	})
}

// TestWebhooksSignedAndRetried: an audit event of a subscribed type is queued when it is
// written, delivered signed, retried after a failure with the same delivery id, and signed
// afresh at each attempt.
func TestWebhooksSignedAndRetried(t *testing.T) {
	durableBackends(t, func(t *testing.T, open func(t *testing.T) durableStore) {
		ctx := context.Background()
		clock := &testClock{t: time.Now()}
		var mu sync.Mutex
		var attempts []http.Header
		var bodies [][]byte
		recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			defer mu.Unlock()
			attempts = append(attempts, r.Header.Clone())
			bodies = append(bodies, b)
			if len(attempts) == 1 {
				w.WriteHeader(http.StatusServiceUnavailable) // the receiver is down at first
				return
			}
		}))
		defer recv.Close()
		db := open(t)
		defer db.Close()
		outcomes := &countOutcomes{}
		d, err := webhooks.NewDispatcher(db, webhooks.Config{Endpoints: []webhooks.Endpoint{{URL: recv.URL, Secret: testHookSecret, Events: []string{"user.password_reset"}}}},
			clock.Now, outcomes.observe, nil)
		if err != nil {
			t.Fatal(err)
		}
		log := audit.NewLog(webhooks.AuditStore{Store: db, Dispatcher: d}, clock.Now)
		for _, typ := range []string{audit.LoginSucceeded, audit.PasswordResetCompleted} {
			if err := log.Record(ctx, audit.Event{Type: typ, UserID: "u1", Actor: "user", Outcome: audit.Success}); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := d.RunOnce(ctx); err != nil || n != 1 {
			t.Fatalf("first round claimed %d (%v), want only the subscribed event", n, err)
		}
		if outcomes.get(outbox.Retry) != 1 {
			t.Fatalf("outcomes %v after a 503", outcomes.n)
		}
		clock.Add(2 * time.Minute)
		if n, err := d.RunOnce(ctx); err != nil || n != 1 {
			t.Fatalf("retry round claimed %d (%v)", n, err)
		}
		if outcomes.get(outbox.Sent) != 1 {
			t.Fatalf("outcomes %v after the retry", outcomes.n)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(attempts) != 2 || attempts[0].Get(webhooks.DeliveryHeader) == "" || attempts[0].Get(webhooks.DeliveryHeader) != attempts[1].Get(webhooks.DeliveryHeader) {
			t.Fatalf("attempts %v: want two with one delivery id", attempts)
		}
		for i, h := range attempts {
			if err := webhooks.Verify(h.Get(webhooks.SignatureHeader), testHookSecret, bodies[i], 5*time.Minute, clock.Now()); err != nil {
				t.Fatalf("attempt %d signature: %v", i, err)
			}
			if h.Get(webhooks.EventHeader) != "user.password_reset" {
				t.Fatalf("event header %q", h.Get(webhooks.EventHeader))
			}
		}
		if attempts[0].Get(webhooks.SignatureHeader) == attempts[1].Get(webhooks.SignatureHeader) {
			t.Fatal("the retry reused the first attempt's signature")
		}
	})
}
