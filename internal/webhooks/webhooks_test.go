package webhooks_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/clock"
	"github.com/gatehouse-auth/gatehouse/internal/outbox"
	"github.com/gatehouse-auth/gatehouse/internal/outbox/outboxtest"
	"github.com/gatehouse-auth/gatehouse/internal/webhooks"
)

const whSecret = "whsec_0123456789abcdef"

var t0 = time.Unix(1700000000, 0).UTC()

func TestSignKnownVector(t *testing.T) {
	// Computed independently: printf '%s' '1700000000.{"id":1,"type":"user.login"}' |
	// openssl dgst -sha256 -hmac whsec_0123456789abcdef
	body := []byte(`{"id":1,"type":"user.login"}`)
	want := "t=1700000000,v1=1b4c50aca6311c2b166bd6c149de0b6abd1834fa6fd8d30d5d6ac33f3fd35bf3"
	if got := webhooks.Sign(whSecret, t0, body); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestVerify(t *testing.T) {
	body := []byte(`{"id":1,"type":"user.login"}`)
	good := webhooks.Sign(whSecret, t0, body)
	sig := strings.TrimPrefix(good, "t=1700000000,")
	other := webhooks.Sign("another-secret-value", t0, body)
	otherSig := strings.TrimPrefix(other, "t=1700000000,")
	tests := []struct {
		name   string
		header string
		secret string
		body   []byte
		now    time.Time
		want   error
	}{
		{"valid", good, whSecret, body, t0, nil},
		{"valid within tolerance", good, whSecret, body, t0.Add(4 * time.Minute), nil},
		{"valid with spaces and a future scheme", "t=1700000000, v2=abc, " + sig, whSecret, body, t0, nil},
		{"rotation: one of two v1 matches", "t=1700000000," + otherSig + "," + sig, whSecret, body, t0, nil},
		{"tampered body", good, whSecret, []byte(`{"id":2,"type":"user.login"}`), t0, webhooks.ErrSignatureMismatch},
		{"wrong secret", good, "wrong-secret-value", body, t0, webhooks.ErrSignatureMismatch},
		{"timestamp moved", "t=1700000001," + sig, whSecret, body, t0, webhooks.ErrSignatureMismatch},
		{"too old", good, whSecret, body, t0.Add(6 * time.Minute), webhooks.ErrSignatureExpired},
		{"from the future", good, whSecret, body, t0.Add(-6 * time.Minute), webhooks.ErrSignatureExpired},
		{"empty", "", whSecret, body, t0, webhooks.ErrSignatureFormat},
		{"no timestamp", sig, whSecret, body, t0, webhooks.ErrSignatureFormat},
		{"no signature", "t=1700000000", whSecret, body, t0, webhooks.ErrSignatureFormat},
		{"two timestamps", "t=1700000000,t=1700000000," + sig, whSecret, body, t0, webhooks.ErrSignatureFormat},
		{"signed timestamp", "t=+1700000000," + sig, whSecret, body, t0, webhooks.ErrSignatureFormat},
		{"not hex", "t=1700000000,v1=" + strings.Repeat("z", 64), whSecret, body, t0, webhooks.ErrSignatureFormat},
		{"short signature", "t=1700000000,v1=abcd", whSecret, body, t0, webhooks.ErrSignatureFormat},
		{"no equals", "t=1700000000,v1", whSecret, body, t0, webhooks.ErrSignatureFormat},
		{"huge", "t=1700000000," + strings.Repeat(sig+",", 100), whSecret, body, t0, webhooks.ErrSignatureFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := webhooks.Verify(tt.header, tt.secret, tt.body, 5*time.Minute, tt.now)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func FuzzVerify(f *testing.F) {
	body := []byte(`{}`)
	f.Add(webhooks.Sign(whSecret, t0, body))
	f.Add("t=1,v1=00")
	_, validSig, _ := strings.Cut(webhooks.Sign(whSecret, t0, body), ",")
	f.Fuzz(func(t *testing.T, header string) {
		// With no tolerance only t0 passes, and only with its real signature.
		if webhooks.Verify(header, whSecret, body, 0, t0) == nil && !strings.Contains(header, validSig) {
			t.Fatalf("accepted %q", header)
		}
	})
}

func TestValidate(t *testing.T) {
	ok := webhooks.Endpoint{URL: "https://hooks.example.com/gatehouse", Secret: whSecret, Events: []string{"user.login"}}
	tests := []struct {
		name   string
		mutate func(e *webhooks.Endpoint)
		want   string
	}{
		{"ok", func(*webhooks.Endpoint) {}, ""},
		{"http is allowed", func(e *webhooks.Endpoint) { e.URL = "http://10.0.0.5:8080/hook" }, ""},
		{"file scheme", func(e *webhooks.Endpoint) { e.URL = "file:///etc/passwd" }, "http or https"},
		{"gopher scheme", func(e *webhooks.Endpoint) { e.URL = "gopher://x.test/" }, "http or https"},
		{"no host", func(e *webhooks.Endpoint) { e.URL = "https:///path" }, "no host"},
		{"user info", func(e *webhooks.Endpoint) { e.URL = "https://u:p@x.test/" }, "user or password"},
		{"short secret", func(e *webhooks.Endpoint) { e.Secret = "short" }, "secret"},
		{"no events", func(e *webhooks.Endpoint) { e.Events = nil }, "events is empty"},
		{"bad pattern", func(e *webhooks.Endpoint) { e.Events = []string{"user*"} }, "pattern"},
		{"inner star", func(e *webhooks.Endpoint) { e.Events = []string{"*.login"} }, "pattern"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := ok
			tt.mutate(&e)
			err := webhooks.Validate([]webhooks.Endpoint{e})
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("Validate = %v, want %q", err, tt.want)
			}
		})
	}
	// Every problem at once, and duplicates.
	err := webhooks.Validate([]webhooks.Endpoint{ok, ok, {URL: "ftp://x"}})
	if err == nil || !strings.Contains(err.Error(), "appears twice") || !strings.Contains(err.Error(), "webhooks[2]: url must be") || !strings.Contains(err.Error(), "webhooks[2]: secret") {
		t.Fatalf("joined errors: %v", err)
	}
}

func TestMatches(t *testing.T) {
	e := webhooks.Endpoint{Events: []string{"user.login", "admin.*"}}
	for typ, want := range map[string]bool{
		"user.login": true, "user.login_failed": false, "admin.user.created": true, "admin": false, "adminx.y": false, "user.signup": false,
	} {
		if e.Matches(typ) != want {
			t.Errorf("Matches(%q) = %v", typ, !want)
		}
	}
	if !(webhooks.Endpoint{Events: []string{"*"}}).Matches("anything") {
		t.Error(`"*" does not match everything`)
	}
}

// receiver is an operator's endpoint: it verifies every request like a real receiver.
type receiver struct {
	mu       sync.Mutex
	statuses []int // answers to give, in order; then 204
	got      []delivery
	clk      *clock.Fake
	block    chan struct{} // when set, hang until the client gives up or the test ends
}

type delivery struct {
	header http.Header
	body   []byte
	sigErr error
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	if r.block != nil {
		select {
		case <-req.Context().Done():
		case <-r.block:
		}
		return
	}
	err := webhooks.Verify(req.Header.Get(webhooks.SignatureHeader), whSecret, body, 5*time.Minute, r.clk.Now())
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, delivery{header: req.Header.Clone(), body: body, sigErr: err})
	if err != nil {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if len(r.statuses) > 0 {
		s := r.statuses[0]
		r.statuses = r.statuses[1:]
		w.WriteHeader(s)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

type counts struct {
	mu sync.Mutex
	n  map[outbox.Outcome]int
}

func (c *counts) observe(q string, o outbox.Outcome) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if q != webhooks.Queue {
		panic(q)
	}
	if c.n == nil {
		c.n = map[outbox.Outcome]int{}
	}
	c.n[o]++
}

func (c *counts) get(o outbox.Outcome) int { c.mu.Lock(); defer c.mu.Unlock(); return c.n[o] }

type fixture struct {
	store *outboxtest.Memory
	clk   *clock.Fake
	rcv   *receiver
	srv   *httptest.Server
	d     *webhooks.Dispatcher
	obs   *counts
}

func newFixture(t *testing.T, events []string, timeout time.Duration) *fixture {
	t.Helper()
	f := &fixture{store: outboxtest.NewMemory(), clk: clock.NewFake(t0), obs: &counts{}}
	f.rcv = &receiver{clk: f.clk}
	f.srv = httptest.NewServer(f.rcv)
	t.Cleanup(f.srv.Close)
	f.d = f.dispatcher(t, []webhooks.Endpoint{{URL: f.srv.URL + "/hook?token=query-secret", Secret: whSecret, Events: events}}, timeout)
	return f
}

func (f *fixture) dispatcher(t *testing.T, eps []webhooks.Endpoint, timeout time.Duration) *webhooks.Dispatcher {
	t.Helper()
	d, err := webhooks.NewDispatcher(f.store, webhooks.Config{Endpoints: eps, Timeout: timeout,
		Worker: outbox.Config{BaseDelay: time.Minute}}, f.clk.Now, f.obs.observe, nil)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (f *fixture) runOnce(t *testing.T, d *webhooks.Dispatcher) int {
	t.Helper()
	n, err := d.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

var loginEvent = audit.Event{ID: 42, Type: audit.LoginSucceeded, Time: t0, UserID: "u1", SessionID: "s1", Actor: "user",
	IP: "203.0.113.7", UserAgent: "curl/8", Outcome: audit.Success}

func TestDeliverSignedEvent(t *testing.T) {
	f := newFixture(t, []string{"user.login"}, 0)
	ctx := context.Background()
	if err := f.d.Enqueue(ctx, loginEvent); err != nil {
		t.Fatal(err)
	}
	other := loginEvent
	other.Type = audit.Logout
	if err := f.d.Enqueue(ctx, other); err != nil {
		t.Fatal(err)
	}
	if n := len(f.store.All()); n != 1 {
		t.Fatalf("queued %d deliveries, want 1 (the logout is not subscribed)", n)
	}
	if f.rcv.deliveries() != nil {
		t.Fatal("Enqueue delivered synchronously")
	}
	f.runOnce(t, f.d)
	got := f.rcv.deliveries()
	if len(got) != 1 || got[0].sigErr != nil {
		t.Fatalf("deliveries %+v", got)
	}
	var body map[string]any
	if err := json.Unmarshal(got[0].body, &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"id": 42.0, "type": "user.login", "time": "2023-11-14T22:13:20.000000Z", "user_id": "u1",
		"session_id": "s1", "actor": "user", "ip": "203.0.113.7", "user_agent": "curl/8", "outcome": "success"}
	if len(body) != len(want) {
		t.Fatalf("body %v", body)
	}
	for k, v := range want {
		if body[k] != v {
			t.Fatalf("body[%s] = %v, want %v", k, body[k], v)
		}
	}
	item := f.store.All()[0]
	h := got[0].header
	if h.Get(webhooks.DeliveryHeader) != item.Item.ID || h.Get(webhooks.EventHeader) != "user.login" || h.Get("Content-Type") != "application/json" {
		t.Fatalf("headers %v", h)
	}
	if !item.Done || item.Dead || f.obs.get(outbox.Sent) != 1 {
		t.Fatalf("item %+v", item)
	}
}

func TestRetryAfterServerErrorWithBackoff(t *testing.T) {
	f := newFixture(t, []string{"user.*"}, 0)
	f.rcv.statuses = []int{http.StatusInternalServerError}
	if err := f.d.Enqueue(context.Background(), loginEvent); err != nil {
		t.Fatal(err)
	}
	f.runOnce(t, f.d)
	st := f.store.All()[0]
	wait := st.Item.NextAttemptAt.Sub(t0)
	if st.Done || f.obs.get(outbox.Retry) != 1 || wait < 30*time.Second || wait > time.Minute || !strings.Contains(st.Item.LastError, "500") {
		t.Fatalf("after a 500: %+v (wait %v)", st, wait)
	}
	if strings.Contains(st.Item.LastError, "query-secret") {
		t.Fatal("the kept error holds the URL's query")
	}
	f.clk.Add(wait - time.Second)
	if n := f.runOnce(t, f.d); n != 0 {
		t.Fatal("retried before the backoff delay")
	}
	f.clk.Add(time.Second)
	f.runOnce(t, f.d)
	got := f.rcv.deliveries()
	if len(got) != 2 || got[1].sigErr != nil {
		t.Fatalf("deliveries %+v", got)
	}
	if got[0].header.Get(webhooks.DeliveryHeader) != got[1].header.Get(webhooks.DeliveryHeader) || string(got[0].body) != string(got[1].body) {
		t.Fatal("a retry changed the delivery id or the body")
	}
	if got[0].header.Get(webhooks.SignatureHeader) == got[1].header.Get(webhooks.SignatureHeader) {
		t.Fatal("the retry was not signed afresh")
	}
	if st := f.store.All()[0]; !st.Done || f.obs.get(outbox.Sent) != 1 {
		t.Fatalf("not sent after the retry: %+v", st)
	}
}

func TestTimeoutIsRetried(t *testing.T) {
	f := newFixture(t, []string{"*"}, 100*time.Millisecond)
	f.rcv.block = make(chan struct{})
	t.Cleanup(func() { close(f.rcv.block) }) // runs before the server's Close
	if err := f.d.Enqueue(context.Background(), loginEvent); err != nil {
		t.Fatal(err)
	}
	f.runOnce(t, f.d)
	st := f.store.All()[0]
	if st.Done || f.obs.get(outbox.Retry) != 1 || !strings.Contains(st.Item.LastError, "Timeout") {
		t.Fatalf("after a hung receiver: %+v", st)
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	f := newFixture(t, []string{"*"}, 0)
	var hit sync.Mutex
	hits := 0
	elsewhere := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hit.Lock(); hits++; hit.Unlock() }))
	defer elsewhere.Close()
	redirector := httptest.NewServer(http.RedirectHandler(elsewhere.URL, http.StatusTemporaryRedirect))
	defer redirector.Close()
	d := f.dispatcher(t, []webhooks.Endpoint{{URL: redirector.URL, Secret: whSecret, Events: []string{"*"}}}, 0)
	if err := d.Enqueue(context.Background(), loginEvent); err != nil {
		t.Fatal(err)
	}
	f.runOnce(t, d)
	hit.Lock()
	defer hit.Unlock()
	if st := f.store.All()[0]; hits != 0 || st.Done || !strings.Contains(st.Item.LastError, "307") {
		t.Fatalf("redirect: hits %d, %+v", hits, st)
	}
}

func TestEndpointRemovedGivesUp(t *testing.T) {
	f := newFixture(t, []string{"*"}, 0)
	if err := f.d.Enqueue(context.Background(), loginEvent); err != nil {
		t.Fatal(err)
	}
	// Restarted with another config: the queued delivery's endpoint and secret are gone.
	d := f.dispatcher(t, []webhooks.Endpoint{{URL: "https://new.example.com/", Secret: whSecret, Events: []string{"*"}}}, 0)
	f.runOnce(t, d)
	if st := f.store.All()[0]; !st.Dead || f.obs.get(outbox.Failed) != 1 || len(f.rcv.deliveries()) != 0 {
		t.Fatalf("%+v", st)
	}
}

// memEvents is an audit.Store that numbers events.
type memEvents struct{ n int64 }

func (m *memEvents) AppendEvent(_ context.Context, e *audit.Event) error {
	m.n++
	e.ID = m.n
	return nil
}

func (m *memEvents) ListEvents(context.Context, audit.Filter) ([]*audit.Event, error) {
	return nil, nil
}

func TestAuditStoreFeedsWebhooks(t *testing.T) {
	f := newFixture(t, []string{"user.login"}, 0)
	log := audit.NewLog(webhooks.AuditStore{Store: &memEvents{}, Dispatcher: f.d}, f.clk.Now)
	if err := log.Record(context.Background(), audit.Event{Type: audit.LoginSucceeded, UserID: "u9"}); err != nil {
		t.Fatal(err)
	}
	f.runOnce(t, f.d)
	got := f.rcv.deliveries()
	if len(got) != 1 || !strings.Contains(string(got[0].body), `"id":1,`) || !strings.Contains(string(got[0].body), `"user_id":"u9"`) {
		t.Fatalf("deliveries %+v", got)
	}
}
