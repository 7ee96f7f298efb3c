package main

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/mail"
	"github.com/gatehouse-auth/gatehouse/internal/outbox"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/webhooks"
)

// newOutboxCounter is the metric of every delivery outcome of the outbox workers.
func newOutboxCounter() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_outbox_deliveries_total",
		Help: "Outbox delivery outcomes (sent, retry, failed) by queue (mail, webhook).",
	}, []string{"queue", "outcome"})
}

func observer(c *prometheus.CounterVec) outbox.Observer {
	return func(queue string, o outbox.Outcome) { c.WithLabelValues(queue, string(o)).Inc() }
}

// openMail builds the email outbox: SMTP when smtp_url is set; without it, the log in
// --insecure-dev mode, else nothing (the flows that need email answer 503 email_unavailable,
// and the start says so).
func openMail(cfg Config, db storage, kek []byte, observe outbox.Observer, log *slog.Logger, now func() time.Time) (*mail.Outbox, error) {
	var sender mail.Sender
	from := cfg.EmailFrom
	switch {
	case cfg.SMTPURL != "":
		sc, err := mail.ParseSMTPURL(cfg.SMTPURL)
		if err != nil {
			return nil, err
		}
		s, err := mail.NewSMTPSender(sc)
		if err != nil {
			return nil, err
		}
		sender = s
	case cfg.InsecureDev:
		sender = mail.NewDevLogSender(log)
		if from == "" {
			host := "localhost"
			if u, err := url.Parse(cfg.Issuer); err == nil && u.Hostname() != "" {
				host = u.Hostname()
			}
			from = "Gatehouse <no-reply@" + host + ">"
		}
	default:
		return nil, nil // serve says so at start
	}
	var override fs.FS // nil: the embedded templates only
	if cfg.EmailTemplatesDir != "" {
		override = os.DirFS(cfg.EmailTemplatesDir)
	}
	tpl, err := mail.NewTemplates(override, mail.Brand{Name: cfg.BrandName, LogoURL: cfg.BrandLogoURL})
	if err != nil {
		return nil, fmt.Errorf("email templates: %w", err)
	}
	key, err := mail.DeriveKey(kek)
	if err != nil {
		return nil, err
	}
	return mail.NewOutbox(db, sender, tpl, mail.Config{From: from, Key: key}, now, observe, log)
}

// openWebhooks builds the webhook dispatcher, or nil when none is configured.
func openWebhooks(cfg Config, db storage, observe outbox.Observer, log *slog.Logger, now func() time.Time) (*webhooks.Dispatcher, error) {
	if len(cfg.Webhooks) == 0 {
		return nil, nil
	}
	return webhooks.NewDispatcher(db, webhooks.Config{Endpoints: cfg.Webhooks}, now, observe, log)
}

// emailConfig is the accounts' part of the email settings.
func emailConfig(cfg Config, db storage, m *mail.Outbox, buckets ratelimit.Store, kek []byte) (accounts.EmailConfig, error) {
	codeKey, err := hkdf.Key(sha256.New, kek, nil, "gatehouse email code key v1", 32)
	if err != nil {
		return accounts.EmailConfig{}, err
	}
	ec := accounts.EmailConfig{Tokens: db, Buckets: buckets, CodeKey: codeKey, BaseURL: cfg.Issuer,
		RequireVerified: cfg.RequireVerifiedEmail, EmailLogin: cfg.EmailLogin}
	if m != nil {
		ec.Mailer = m // a nil *mail.Outbox must stay a nil interface
	}
	return ec, nil
}

// outboxPurger is a store that deletes finished outbox items.
type outboxPurger interface {
	OutboxPurge(ctx context.Context, cutoff time.Time, limit int) (int, error)
}

// outboxKeep is how long finished outbox items (payloads already erased) stay for operators.
const outboxKeep = 30 * 24 * time.Hour

// purgeOutbox deletes outbox items finished more than outboxKeep ago.
func purgeOutbox(ctx context.Context, a *app) {
	p, ok := a.db.(outboxPurger)
	if !ok {
		return
	}
	if n, err := p.OutboxPurge(ctx, time.Now().Add(-outboxKeep), 10000); err != nil {
		a.log.Warn("outbox purge failed", "err", err)
	} else if n > 0 {
		a.log.Info("old outbox items removed", "count", n)
	}
}

// logEmailMode says at start how email goes out, or that it does not.
func logEmailMode(cfg Config, a *app) {
	switch {
	case a.mail == nil:
		a.log.Warn("email: no smtp_url configured; email verification, password reset, email change and email sign-in answer 503 email_unavailable")
	case cfg.SMTPURL != "":
		if sc, err := mail.ParseSMTPURL(cfg.SMTPURL); err == nil {
			a.log.Info("email: sending over SMTP", "host", sc.Host, "port", sc.Port, "from", cfg.EmailFrom)
		}
	}
	if a.webhooks != nil {
		a.log.Info("webhooks: delivering audit events", "endpoints", len(cfg.Webhooks))
	}
}
