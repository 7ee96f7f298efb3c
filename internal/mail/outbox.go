package mail

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/outbox"
)

// Queue is the outbox queue of emails.
const Queue = "mail"

// Sender delivers one message. SMTPSender sends it; DevLogSender prints it. An error wrapped
// with outbox.Permanent is not retried.
type Sender interface {
	Send(ctx context.Context, m *Message) error
}

// Config configures an Outbox.
type Config struct {
	From string // email_from, e.g. "Acme <no-reply@acme.example>" (required)
	// Key seals queued messages at rest (32 bytes; see DeriveKey). Required: a queued
	// password-reset link is as good as the password.
	Key    []byte
	Worker outbox.Config // retry tuning; Queue is set to "mail"
}

// DeriveKey derives the outbox sealing key from the deployment's key-encryption key with
// HKDF-SHA256 (RFC 5869), so the KEK itself never encrypts two kinds of data.
func DeriveKey(kek []byte) ([]byte, error) {
	if len(kek) < 32 {
		return nil, errors.New("mail: key-encryption key shorter than 32 bytes")
	}
	return hkdf.Key(sha256.New, kek, nil, "gatehouse mail outbox v1", 32)
}

// Outbox queues emails and delivers them in the background: handlers call Enqueue (or
// Prepare, then enqueue the item in their own transaction) and return at once; Run sends.
type Outbox struct {
	store  outbox.Store
	sender Sender
	tpl    *Templates
	from   mail.Address
	domain string
	aead   cipher.AEAD
	now    func() time.Time
	worker *outbox.Worker
}

// NewOutbox returns an Outbox. observe counts outcomes (sent, retry, failed) and may be nil.
func NewOutbox(store outbox.Store, sender Sender, tpl *Templates, cfg Config, now func() time.Time, observe outbox.Observer, log *slog.Logger) (*Outbox, error) {
	var errs []error
	if sender == nil {
		errs = append(errs, errors.New("mail: no sender: configure smtp_url (or, in development only, DevLogSender)"))
	}
	if tpl == nil {
		errs = append(errs, errors.New("mail: no templates"))
	}
	from, err := ParseAddress(cfg.From)
	if err != nil {
		errs = append(errs, fmt.Errorf("email_from: %w", err))
	}
	var aead cipher.AEAD
	if len(cfg.Key) != 32 {
		errs = append(errs, errors.New("mail: the outbox key must be 32 bytes"))
	} else {
		block, _ := aes.NewCipher(cfg.Key)
		aead, _ = cipher.NewGCM(block)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	o := &Outbox{store: store, sender: sender, tpl: tpl, from: from, aead: aead, now: now,
		domain: from.Address[strings.LastIndexByte(from.Address, '@')+1:]}
	wcfg := cfg.Worker
	wcfg.Queue = Queue
	if o.worker, err = outbox.NewWorker(store, outbox.DelivererFunc(o.deliver), wcfg, now, observe, log); err != nil {
		return nil, err
	}
	return o, nil
}

// Prepare renders kind k for to and returns the sealed outbox item, without storing it: a
// caller with a transaction enqueues it there (tx.OutboxEnqueue) so that the message exists
// if and only if the change that causes it commits, then calls Notify after the commit. The
// item is not delivered after d.Expires (a late code is useless).
func (o *Outbox) Prepare(k Kind, to string, d Data) (*outbox.Item, error) {
	if err := CheckRecipient(to); err != nil {
		return nil, err
	}
	d.Email = to
	r, err := o.tpl.Render(k, d)
	if err != nil {
		return nil, err
	}
	now := o.now()
	it := outbox.NewItem(Queue, nil, now)
	if d.Expires > 0 {
		it.NotAfter = now.Add(d.Expires)
	}
	m := &Message{From: o.from, To: to, Subject: r.Subject, Text: r.Text, HTML: r.HTML, Date: now,
		MessageID: "<" + it.ID + "@" + o.domain + ">"}
	if _, err := m.Bytes(); err != nil { // refuse now what could never be sent
		return nil, err
	}
	plain, err := json.Marshal(stored{From: m.From.String(), To: m.To, Subject: m.Subject, Text: m.Text,
		HTML: m.HTML, Date: m.Date, MessageID: m.MessageID})
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, o.aead.NonceSize())
	rand.Read(nonce)
	it.Payload = o.aead.Seal(append([]byte{sealVersion}, nonce...), nonce, plain, []byte(it.ID))
	return it, nil
}

const sealVersion = 1

// stored is the sealed form of a queued message.
type stored struct {
	From      string    `json:"from"`
	To        string    `json:"to"`
	Subject   string    `json:"subject"`
	Text      string    `json:"text"`
	HTML      string    `json:"html,omitempty"`
	Date      time.Time `json:"date"`
	MessageID string    `json:"message_id"`
}

// Enqueue queues kind k for to in its own write and wakes the worker.
func (o *Outbox) Enqueue(ctx context.Context, k Kind, to string, d Data) error {
	it, err := o.Prepare(k, to, d)
	if err != nil {
		return err
	}
	if err := o.store.OutboxEnqueue(ctx, it); err != nil {
		return fmt.Errorf("mail: enqueue: %w", err)
	}
	o.worker.Notify()
	return nil
}

// Notify wakes the worker (after enqueuing an item in a transaction). It never blocks.
func (o *Outbox) Notify() { o.worker.Notify() }

// Run delivers queued emails until ctx ends.
func (o *Outbox) Run(ctx context.Context) error { return o.worker.Run(ctx) }

// RunOnce delivers one batch of due emails (for tests and for a one-shot command).
func (o *Outbox) RunOnce(ctx context.Context) (int, error) { return o.worker.RunOnce(ctx) }

func (o *Outbox) open(it *outbox.Item) (*Message, error) {
	n := o.aead.NonceSize()
	if len(it.Payload) < 1+n || it.Payload[0] != sealVersion {
		return nil, errors.New("mail: queued message has an unknown format")
	}
	plain, err := o.aead.Open(nil, it.Payload[1:1+n], it.Payload[1+n:], []byte(it.ID))
	if err != nil {
		return nil, errors.New("mail: queued message cannot be opened (was the key changed?)")
	}
	var s stored
	if err := json.Unmarshal(plain, &s); err != nil {
		return nil, fmt.Errorf("mail: queued message: %w", err)
	}
	from, err := ParseAddress(s.From)
	if err != nil {
		return nil, err
	}
	return &Message{From: from, To: s.To, Subject: s.Subject, Text: s.Text, HTML: s.HTML, Date: s.Date, MessageID: s.MessageID}, nil
}

func (o *Outbox) deliver(ctx context.Context, it *outbox.Item) error {
	m, err := o.open(it)
	if err != nil {
		return outbox.Permanent(err)
	}
	return o.sender.Send(ctx, m)
}

// DevLogSender prints every message to the log instead of sending it, sign-in links, reset
// links and codes included. It is for development without a mail server only: whoever reads
// the log can take over any account that receives mail. Production refuses email flows when
// no SMTP server is configured instead of using it.
type DevLogSender struct {
	log *slog.Logger
}

// NewDevLogSender returns a DevLogSender and warns, in log, that messages and their secrets
// will be written there.
func NewDevLogSender(log *slog.Logger) *DevLogSender {
	log.Warn("DEVELOPMENT MODE: emails are not sent but printed to this log, with their sign-in links and codes; never use this in production")
	return &DevLogSender{log: log}
}

// Send implements Sender by logging m, body included.
func (s *DevLogSender) Send(ctx context.Context, m *Message) error {
	s.log.LogAttrs(ctx, slog.LevelWarn, "DEVELOPMENT MODE email (not sent)",
		slog.String("message_id", m.MessageID), slog.String("to", m.To),
		slog.String("subject", m.Subject), slog.String("text", m.Text))
	return nil
}
