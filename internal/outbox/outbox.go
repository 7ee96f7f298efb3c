// Package outbox is the durable queue behind every message Gatehouse sends on its own: emails
// (package mail) and operator webhooks (package webhooks). A message is written to the store
// first, in the same transaction as the change that caused it when the caller has one, and a
// Worker delivers it later, retrying with exponential backoff until it is delivered or given
// up. Nothing a request does ever waits for a mail server or a webhook receiver.
//
// # Delivery guarantee: at least once
//
// A worker claims due items with a lease, delivers, then marks them sent. If the process dies
// after the receiver accepted an item but before the mark reaches the store, the lease
// expires and the item is delivered again. No protocol lets us make "the SMTP server queued
// it" and "our row says sent" one atomic step, so exactly-once is impossible; the outbox is
// at-least-once and gives every item a stable identity that survives retries (the email's
// Message-ID header, the webhook's Gatehouse-Delivery header), which receivers use to drop
// duplicates. Duplicates need a crash or a lease expiry inside that window; in normal
// operation each item is delivered once.
//
// # Several instances
//
// ClaimDue is atomic in the store: of several instances polling the same table, one gets each
// item. An item whose lease expires (its worker died or hung) becomes claimable again. Every
// mark carries the claim token, so a worker whose lease was taken over cannot overwrite the
// new owner's outcome.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/secret"
)

// ErrLeaseLost is returned by a Mark method when the item is no longer claimed with that
// claim token (its lease expired and another worker claimed it, or it is already finished).
var ErrLeaseLost = errors.New("outbox: lease lost")

// Item is one queued delivery.
type Item struct {
	ID    string // secret.NewID; also the delivery's idempotency key
	Queue string // "mail", "webhook": which worker delivers it
	// Payload is opaque to the outbox. It may hold secrets (a password-reset link): the mail
	// package seals it, and the store erases it once the item is sent or given up.
	Payload   []byte
	CreatedAt time.Time
	// NotAfter, when set, is the moment after which delivering is pointless (the code inside
	// has expired); the worker gives the item up instead of sending it late.
	NotAfter      time.Time
	NextAttemptAt time.Time
	Attempts      int    // attempts started, counting the current claim
	Claim         string // the lease token of the current claim, set by ClaimDue
	LastError     string // the last failure, for operators; never holds a secret
}

// LogValue keeps the payload out of logs.
func (it *Item) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", it.ID), slog.String("queue", it.Queue),
		slog.Int("attempts", it.Attempts))
}

// Store keeps the queue. An implementation backs one table shared by every queue (see
// docs/outbox.md for the suggested schema); outboxtest.Run is its conformance suite.
type Store interface {
	// OutboxEnqueue inserts it. A store that offers transactions lets the caller enqueue in
	// the transaction of the change that causes the message, so both happen or neither.
	OutboxEnqueue(ctx context.Context, it *Item) error
	// OutboxClaimDue atomically claims up to limit items of queue whose NextAttemptAt is not
	// after now and that are not sent, not given up, and not leased (or whose lease ended
	// before now). Each claimed item gets a fresh Claim token, a lease until now+lease, and
	// Attempts incremented; the items are returned as stored after the claim, oldest
	// NextAttemptAt first.
	OutboxClaimDue(ctx context.Context, queue string, now time.Time, lease time.Duration, limit int) ([]*Item, error)
	// OutboxMarkSent finishes the item: it is never claimed again and its payload is erased
	// (the row may be deleted). ErrLeaseLost when claim no longer holds it.
	OutboxMarkSent(ctx context.Context, id, claim string, now time.Time) error
	// OutboxMarkRetry releases the claim and makes the item due again at next, recording
	// lastErr. ErrLeaseLost when claim no longer holds it.
	OutboxMarkRetry(ctx context.Context, id, claim string, next time.Time, lastErr string) error
	// OutboxMarkDead gives the item up: it is never claimed again, its payload is erased, and
	// lastErr is kept for operators. ErrLeaseLost when claim no longer holds it.
	OutboxMarkDead(ctx context.Context, id, claim string, now time.Time, lastErr string) error
}

// NewItem returns an item for queue due at now, with a fresh id.
func NewItem(queue string, payload []byte, now time.Time) *Item {
	return &Item{ID: secret.NewID(), Queue: queue, Payload: payload, CreatedAt: now, NextAttemptAt: now}
}

// Deliverer delivers one item. Its error decides what happens next: nil means delivered; an
// error wrapped by Permanent gives the item up at once; any other error is retried.
type Deliverer interface {
	Deliver(ctx context.Context, it *Item) error
}

// DelivererFunc adapts a function to Deliverer.
type DelivererFunc func(ctx context.Context, it *Item) error

// Deliver calls f.
func (f DelivererFunc) Deliver(ctx context.Context, it *Item) error { return f(ctx, it) }

type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as not worth retrying (a recipient the mail server says does not
// exist, a payload that cannot be opened).
func Permanent(err error) error { return permanentError{err} }

// IsPermanent reports whether err was wrapped by Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// Outcome is what happened to one delivery attempt; each is counted by the metric hook.
type Outcome string

const (
	// Sent: delivered and marked sent.
	Sent Outcome = "sent"
	// Retry: the attempt failed and the item is due again later.
	Retry Outcome = "retry"
	// Failed: the item was given up (permanent error, too many attempts, too old, or
	// expired before it could be delivered).
	Failed Outcome = "failed"
)

// Config tunes a Worker. Zero fields take the defaults shown.
type Config struct {
	Queue string // required
	// Lease is how long a claim protects an item from other workers (default 2m). It must be
	// longer than one delivery can take (the deliverer's own timeout), or a slow delivery is
	// repeated by another instance.
	Lease time.Duration
	Batch int           // items claimed per round (default 10)
	Poll  time.Duration // wait between rounds when the queue is idle (default 2s)
	// MaxAttempts gives an item up after this many attempts (default 25; with the default
	// backoff the 25th attempt comes about two days after the first).
	MaxAttempts int
	MaxAge      time.Duration // gives an item up this long after it was enqueued (default 72h)
	BaseDelay   time.Duration // delay after the first failure (default 30s)
	MaxDelay    time.Duration // ceiling of the delay between attempts (default 4h)
}

func (c Config) withDefaults() Config {
	if c.Lease <= 0 {
		c.Lease = 2 * time.Minute
	}
	if c.Batch <= 0 {
		c.Batch = 10
	}
	if c.Poll <= 0 {
		c.Poll = 2 * time.Second
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 25
	}
	if c.MaxAge <= 0 {
		c.MaxAge = 72 * time.Hour
	}
	if c.BaseDelay <= 0 {
		c.BaseDelay = 30 * time.Second
	}
	if c.MaxDelay <= 0 {
		c.MaxDelay = 4 * time.Hour
	}
	return c
}

// Backoff returns the delay before attempt n+1 after n failed attempts: BaseDelay·2^(n-1)
// capped at MaxDelay, with "equal jitter" (a uniform draw in [d/2, d]) so that instances
// that failed together do not retry together, while the delay still grows.
func (c Config) Backoff(n int, rnd func(int64) int64) time.Duration {
	c = c.withDefaults()
	d := c.MaxDelay
	if n < 1 {
		n = 1
	}
	if n <= 32 {
		if e := c.BaseDelay << (n - 1); e > 0 && e < c.MaxDelay {
			d = e
		}
	}
	half := d / 2
	return half + time.Duration(rnd(int64(d-half)+1))
}

// Observer is told each outcome (for a Prometheus counter labelled by queue and outcome).
type Observer func(queue string, o Outcome)

// Worker delivers the items of one queue.
type Worker struct {
	store   Store
	deliver Deliverer
	cfg     Config
	now     func() time.Time
	observe Observer
	log     *slog.Logger
	rnd     func(int64) int64
	wake    chan struct{}
	mu      sync.Mutex // serialises RunOnce (Run and a test calling RunOnce)
}

// NewWorker returns a Worker. observe and log may be nil.
func NewWorker(store Store, d Deliverer, cfg Config, now func() time.Time, observe Observer, log *slog.Logger) (*Worker, error) {
	if cfg.Queue == "" {
		return nil, errors.New("outbox: worker needs a queue name")
	}
	if observe == nil {
		observe = func(string, Outcome) {}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Worker{store: store, deliver: d, cfg: cfg.withDefaults(), now: now, observe: observe,
		log: log, rnd: rand.Int64N, wake: make(chan struct{}, 1)}, nil
}

// Notify wakes Run without waiting for the next poll (call it after enqueuing). It never
// blocks.
func (w *Worker) Notify() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run delivers due items until ctx ends, then returns ctx's error. A store failure is logged
// and retried at the next poll; it never stops the loop.
func (w *Worker) Run(ctx context.Context) error {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		case <-w.wake:
		}
		n, err := w.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			w.log.Warn("outbox: claim failed", "queue", w.cfg.Queue, "err", err)
		}
		// A full batch means more may be due: go again at once.
		next := w.cfg.Poll
		if n == w.cfg.Batch {
			next = 0
		}
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		t.Reset(next)
	}
}

// RunOnce claims one batch of due items and delivers them one by one, returning how many it
// claimed. Tests drive it under a fake clock.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	items, err := w.store.OutboxClaimDue(ctx, w.cfg.Queue, w.now(), w.cfg.Lease, w.cfg.Batch)
	if err != nil {
		return 0, fmt.Errorf("outbox %s: claim: %w", w.cfg.Queue, err)
	}
	for _, it := range items {
		if ctx.Err() != nil {
			// The lease expires and another round (or instance) takes the rest.
			break
		}
		w.process(ctx, it)
	}
	return len(items), nil
}

func (w *Worker) process(ctx context.Context, it *Item) {
	// Outcomes are recorded even when ctx ends (shutdown) during a delivery: a delivery that
	// succeeded just before must be marked sent, or it would go out again after the restart.
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	now := w.now()
	if reason := w.expired(it, now); reason != "" {
		w.finish(mctx, it, Failed, reason)
		return
	}
	err := w.deliver.Deliver(ctx, it)
	now = w.now()
	switch {
	case err == nil:
		if mErr := w.store.OutboxMarkSent(mctx, it.ID, it.Claim, now); mErr != nil {
			// The receiver has it; the item comes back when the lease ends and is delivered
			// again with the same identity (at least once).
			w.log.Error("outbox: delivered but not marked sent", "item", it, "err", mErr)
			return
		}
		w.observe(w.cfg.Queue, Sent)
	case ctx.Err() != nil:
		// Interrupted by shutdown, not the receiver's fault: due again at once, for the next
		// instance to take.
		if mErr := w.store.OutboxMarkRetry(mctx, it.ID, it.Claim, now, truncate(err.Error())); mErr != nil {
			w.log.Error("outbox: cannot release item", "item", it, "err", mErr)
		}
	case IsPermanent(err):
		w.finish(mctx, it, Failed, truncate(err.Error()))
	case it.Attempts >= w.cfg.MaxAttempts:
		w.finish(mctx, it, Failed, truncate(fmt.Sprintf("gave up after %d attempts: %v", it.Attempts, err)))
	default:
		next := now.Add(w.cfg.Backoff(it.Attempts, w.rnd))
		if r := w.expired(it, next); r != "" {
			w.finish(mctx, it, Failed, truncate(fmt.Sprintf("%s: %v", r, err)))
			return
		}
		if mErr := w.store.OutboxMarkRetry(mctx, it.ID, it.Claim, next, truncate(err.Error())); mErr != nil {
			w.log.Error("outbox: cannot schedule retry", "item", it, "err", mErr)
			return
		}
		w.log.Warn("outbox: delivery failed, will retry", "item", it, "next", next, "err", err)
		w.observe(w.cfg.Queue, Retry)
	}
}

// expired says why it must not be delivered at t, or "".
func (w *Worker) expired(it *Item, t time.Time) string {
	if !it.NotAfter.IsZero() && t.After(it.NotAfter) {
		return "expired before delivery"
	}
	if t.Sub(it.CreatedAt) > w.cfg.MaxAge {
		return "too old"
	}
	return ""
}

func (w *Worker) finish(ctx context.Context, it *Item, o Outcome, reason string) {
	if err := w.store.OutboxMarkDead(ctx, it.ID, it.Claim, w.now(), reason); err != nil {
		w.log.Error("outbox: cannot give item up", "item", it, "err", err)
		return
	}
	w.log.Error("outbox: gave up", "item", it, "reason", reason)
	w.observe(w.cfg.Queue, o)
}

// truncate bounds the error kept with an item (a receiver's answer can be long).
func truncate(s string) string {
	const max = 500
	if len(s) <= max {
		return s
	}
	return strings.ToValidUTF8(s[:max], "") + "…"
}
