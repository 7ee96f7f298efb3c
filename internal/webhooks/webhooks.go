// Package webhooks tells operators' systems about audit events: for every event of a type an
// endpoint subscribed to, a JSON POST signed with the endpoint's secret (see Sign and
// SignatureHeader). Events are queued in the durable outbox (package outbox) and delivered
// by a background worker with retries and backoff, so the request that caused an event never
// waits for a receiver, and a receiver that is down gets its events when it comes back.
// Delivery is at least once: receivers drop duplicates by the Gatehouse-Delivery header.
package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/outbox"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
)

// Queue is the outbox queue of webhook deliveries.
const Queue = "webhook"

// Headers of a delivery besides SignatureHeader.
const (
	// DeliveryHeader is the delivery's id, the same on every retry: the idempotency key.
	DeliveryHeader = "Gatehouse-Delivery"
	// EventHeader is the event type, so receivers can route without parsing.
	EventHeader = "Gatehouse-Event"
)

// MinSecretLen is the shortest accepted endpoint secret.
const MinSecretLen = 16

// Endpoint is one entry of the webhooks config: {url, secret, events}.
type Endpoint struct {
	URL    string          `json:"url"`
	Secret secret.Redacted `json:"secret"`
	// Events lists event types ("user.login"), prefixes ending in ".*" ("admin.*"), or "*"
	// for every event.
	Events []string `json:"events"`
}

// Matches reports whether the endpoint subscribed to events of type typ.
func (e Endpoint) Matches(typ string) bool {
	for _, p := range e.Events {
		switch {
		case p == "*" || p == typ:
			return true
		case strings.HasSuffix(p, ".*") && strings.HasPrefix(typ, p[:len(p)-1]):
			return true
		}
	}
	return false
}

// host is how an endpoint appears in logs and errors: its query may hold a token.
func (e Endpoint) host() string {
	u, err := url.Parse(e.URL)
	if err != nil {
		return "?"
	}
	return u.Scheme + "://" + u.Host
}

// Validate returns every problem of the webhooks config at once.
func Validate(endpoints []Endpoint) error {
	var errs []error
	seen := map[string]bool{}
	for i, e := range endpoints {
		bad := func(format string, a ...any) {
			errs = append(errs, fmt.Errorf("webhooks[%d]: "+format, append([]any{i}, a...)...))
		}
		u, err := url.Parse(e.URL)
		switch {
		case err != nil:
			bad("url is not a URL")
		case u.Scheme != "https" && u.Scheme != "http":
			bad("url must be http or https, not %q", u.Scheme)
		case u.Host == "" || u.Hostname() == "":
			bad("url has no host")
		case u.User != nil:
			bad("url must not hold a user or password (the secret authenticates)")
		case u.Fragment != "":
			bad("url must not have a fragment")
		}
		if seen[e.URL] {
			bad("url appears twice")
		}
		seen[e.URL] = true
		if len(e.Secret) < MinSecretLen {
			bad("secret must be at least %d characters", MinSecretLen)
		}
		if len(e.Events) == 0 {
			bad("events is empty (use [\"*\"] for every event)")
		}
		for _, p := range e.Events {
			if p == "" || p == ".*" || strings.Contains(strings.TrimSuffix(p, "*"), "*") || (strings.HasSuffix(p, "*") && p != "*" && !strings.HasSuffix(p, ".*")) {
				bad("event pattern %q: use a type, a prefix ending in \".*\", or \"*\"", p)
			}
		}
	}
	return errors.Join(errs...)
}

// Config configures a Dispatcher.
type Config struct {
	Endpoints []Endpoint
	// Timeout bounds one delivery, connection to response (default 10s). It must stay below
	// Worker.Lease.
	Timeout time.Duration
	Worker  outbox.Config // retry tuning; Queue is set to "webhook"
	// Transport sends the requests (default: a clone of http.DefaultTransport).
	Transport http.RoundTripper
}

// Dispatcher queues and delivers webhooks.
type Dispatcher struct {
	endpoints []Endpoint
	byURL     map[string]Endpoint
	store     outbox.Store
	client    *http.Client
	now       func() time.Time
	worker    *outbox.Worker
}

// NewDispatcher returns a Dispatcher for cfg. observe counts outcomes and may be nil.
func NewDispatcher(store outbox.Store, cfg Config, now func() time.Time, observe outbox.Observer, log *slog.Logger) (*Dispatcher, error) {
	if err := Validate(cfg.Endpoints); err != nil {
		return nil, err
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Transport == nil {
		cfg.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	d := &Dispatcher{endpoints: cfg.Endpoints, byURL: map[string]Endpoint{}, store: store, now: now,
		client: &http.Client{
			Transport: cfg.Transport,
			Timeout:   cfg.Timeout,
			// A redirect would carry a signed event somewhere the operator did not configure:
			// a 3xx is a failed delivery.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}}
	for _, e := range cfg.Endpoints {
		d.byURL[e.URL] = e
	}
	wcfg := cfg.Worker
	wcfg.Queue = Queue
	var err error
	if d.worker, err = outbox.NewWorker(store, outbox.DelivererFunc(d.deliver), wcfg, now, observe, log); err != nil {
		return nil, err
	}
	return d, nil
}

// eventJSON is the body of a delivery: the event as GET /v1/admin/events shows it.
type eventJSON struct {
	ID        int64  `json:"id"`
	Type      string `json:"type"`
	Time      string `json:"time"`
	UserID    string `json:"user_id,omitempty"`
	SessionID string `json:"session_id,omitempty"`
	Actor     string `json:"actor,omitempty"`
	IP        string `json:"ip,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`
	Outcome   string `json:"outcome,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

// payload is what the outbox keeps for one delivery. Audit events hold no secrets, so it is
// stored as it is; the endpoint's secret is looked up at delivery time and never stored.
type payload struct {
	URL  string          `json:"url"`
	Type string          `json:"type"`
	Body json.RawMessage `json:"body"`
}

// Prepare returns one outbox item per endpoint subscribed to e's type (none when no endpoint
// is), without storing them: a caller with a transaction enqueues them there.
func (d *Dispatcher) Prepare(e audit.Event) ([]*outbox.Item, error) {
	var items []*outbox.Item
	var body []byte
	for _, ep := range d.endpoints {
		if !ep.Matches(e.Type) {
			continue
		}
		if body == nil {
			var err error
			body, err = json.Marshal(eventJSON{ID: e.ID, Type: e.Type, Time: e.Time.UTC().Format("2006-01-02T15:04:05.000000Z07:00"),
				UserID: e.UserID, SessionID: e.SessionID, Actor: e.Actor, IP: e.IP, UserAgent: e.UserAgent, Outcome: e.Outcome, Reason: e.Reason})
			if err != nil {
				return nil, err
			}
		}
		p, err := json.Marshal(payload{URL: ep.URL, Type: e.Type, Body: body})
		if err != nil {
			return nil, err
		}
		items = append(items, outbox.NewItem(Queue, p, d.now()))
	}
	return items, nil
}

// Enqueue queues e for every subscribed endpoint and wakes the worker. It writes to the
// store and returns: it never waits for a receiver.
func (d *Dispatcher) Enqueue(ctx context.Context, e audit.Event) error {
	items, err := d.Prepare(e)
	if err != nil {
		return err
	}
	for _, it := range items {
		if err := d.store.OutboxEnqueue(ctx, it); err != nil {
			return fmt.Errorf("webhooks: enqueue: %w", err)
		}
	}
	if len(items) > 0 {
		d.worker.Notify()
	}
	return nil
}

// Notify wakes the worker (after enqueuing items in a transaction). It never blocks.
func (d *Dispatcher) Notify() { d.worker.Notify() }

// Run delivers queued webhooks until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) error { return d.worker.Run(ctx) }

// RunOnce delivers one batch of due webhooks.
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) { return d.worker.RunOnce(ctx) }

func (d *Dispatcher) deliver(ctx context.Context, it *outbox.Item) error {
	var p payload
	if err := json.Unmarshal(it.Payload, &p); err != nil {
		return outbox.Permanent(fmt.Errorf("webhooks: queued delivery: %w", err))
	}
	ep, ok := d.byURL[p.URL]
	if !ok {
		// The operator removed the endpoint; its secret is gone with it.
		return outbox.Permanent(errors.New("webhooks: endpoint no longer configured"))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.URL, strings.NewReader(string(p.Body)))
	if err != nil {
		return outbox.Permanent(fmt.Errorf("webhooks: %s: %w", ep.host(), err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Gatehouse-Webhooks/1")
	req.Header.Set(DeliveryHeader, it.ID)
	req.Header.Set(EventHeader, p.Type)
	// Signed at each attempt: a retry days later still falls in the receiver's tolerance.
	req.Header.Set(SignatureHeader, Sign(string(ep.Secret), d.now(), p.Body))
	resp, err := d.client.Do(req)
	if err != nil {
		// *url.Error repeats the full URL, whose query may hold a token: keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("webhooks: %s: %w", ep.host(), err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhooks: %s answered %s", ep.host(), resp.Status)
	}
	return nil
}

// AuditStore wraps an audit.Store so that every event it appends is also queued for the
// webhooks (after the append, so the body carries the event's id). Wiring it in place of
// the plain store is all it takes to feed the webhooks from every audited action.
type AuditStore struct {
	audit.Store
	Dispatcher *Dispatcher
}

// AppendEvent appends e, then queues it. A failure to queue is returned like a failure to
// append: the store is the same, and an action is not half-recorded silently.
func (s AuditStore) AppendEvent(ctx context.Context, e *audit.Event) error {
	if err := s.Store.AppendEvent(ctx, e); err != nil {
		return err
	}
	return s.Dispatcher.Enqueue(ctx, *e)
}
