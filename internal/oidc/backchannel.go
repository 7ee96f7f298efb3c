package oidc

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

	"github.com/gatehouse-auth/gatehouse/internal/outbox"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
	"github.com/gatehouse-auth/gatehouse/internal/tokens"
)

// OpenID Connect Back-Channel Logout 1.0: when a session of a registered client ends, for
// whatever reason (RP-Initiated Logout, /v1/logout, an administrator, refresh-token reuse,
// a password reset, a disabled or deleted user, a replayed code), the client's
// backchannel_logout_uri receives a signed logout token naming the session (sid, the one in
// the client's ID tokens) and the user (sub). Notifications go through the durable outbox:
// ending a session never waits for a relying party, and a receiver that is down gets the
// token later (at least once; the jti is the same on every retry).
//
// Which clients are told: the client a session was created for (every session the code
// grant creates belongs to one client, and its tokens carry that session's sid). Sessions of
// first-party sign-ins belong to no client and notify nobody.

// BackchannelQueue is the outbox queue of logout tokens.
const BackchannelQueue = "oidc_logout"

// CheckBackchannelURI accepts a back-channel logout URI (Back-Channel Logout 1.0 §2.2): an
// absolute https URI, or http on a loopback address for development; a query is allowed, a
// fragment is not.
func CheckBackchannelURI(raw string) error {
	if len(raw) > maxURILen {
		return inputErr("backchannel_logout_uri is longer than %d bytes", maxURILen)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Fragment != "" || strings.ContainsAny(raw, " \t\r\n#") || u.User != nil || u.Host == "" {
		return inputErr("backchannel_logout_uri %q must be an absolute URI without user info or fragment", raw)
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && loopback(u)) {
		return inputErr("backchannel_logout_uri %q must be https (http only on 127.0.0.1 or [::1])", raw)
	}
	return nil
}

// LogoutSigner signs logout tokens (*tokens.Service).
type LogoutSigner interface {
	IssueLogoutToken(ctx context.Context, p tokens.LogoutParams) (string, error)
}

// BackchannelConfig tunes the notifier; zero values take defaults.
type BackchannelConfig struct {
	Timeout   time.Duration // one delivery (default 10s)
	Worker    outbox.Config // retry tuning; Queue is set to BackchannelQueue
	Transport http.RoundTripper
}

// Backchannel queues and delivers logout tokens.
type Backchannel struct {
	clients *Service
	store   outbox.Store
	sign    LogoutSigner
	http    *http.Client
	now     func() time.Time
	log     *slog.Logger
	worker  *outbox.Worker
}

type logoutItem struct {
	ClientID string `json:"client_id"`
	Subject  string `json:"sub"`
	Session  string `json:"sid"`
}

// NewBackchannel returns a notifier; install its SessionsEnded with
// sessions.Manager.WithEndHook and run Run.
func NewBackchannel(clients *Service, store outbox.Store, sign LogoutSigner, cfg BackchannelConfig, now func() time.Time, observe outbox.Observer, log *slog.Logger) (*Backchannel, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Transport == nil {
		cfg.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	b := &Backchannel{clients: clients, store: store, sign: sign, now: now, log: log,
		http: &http.Client{Transport: cfg.Transport, Timeout: cfg.Timeout,
			// A relying party answers; it does not send us elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	cfg.Worker.Queue = BackchannelQueue
	w, err := outbox.NewWorker(store, outbox.DelivererFunc(b.deliver), cfg.Worker, now, observe, log)
	if err != nil {
		return nil, err
	}
	b.worker = w
	return b, nil
}

// Run delivers queued logout tokens until ctx ends.
func (b *Backchannel) Run(ctx context.Context) error { return b.worker.Run(ctx) }

// SessionsEnded is a sessions.EndHook: it queues one logout token per ended session whose
// client registered a backchannel_logout_uri. Failures are logged, never returned: the
// session has already ended.
func (b *Backchannel) SessionsEnded(ctx context.Context, ended []*sessions.Session) {
	ctx = context.WithoutCancel(ctx)
	queued := false
	for _, s := range ended {
		c, err := b.clients.Client(ctx, s.ClientID)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err == nil && c.BackchannelLogoutURI == "" {
			continue
		}
		if err == nil {
			p, _ := json.Marshal(logoutItem{ClientID: c.ID, Subject: s.UserID, Session: s.ID})
			it := outbox.NewItem(BackchannelQueue, p, b.now())
			err = b.store.OutboxEnqueue(ctx, it)
		}
		if err != nil {
			b.log.Error("back-channel logout not queued", "client_id", s.ClientID, "sid", s.ID, "err", err)
			continue
		}
		queued = true
	}
	if queued {
		b.worker.Notify()
	}
}

// deliver POSTs one logout token (Back-Channel Logout 1.0 §2.5). It is signed at each
// attempt (a short exp, the same jti) so that a late retry is still acceptable.
func (b *Backchannel) deliver(ctx context.Context, it *outbox.Item) error {
	var li logoutItem
	if err := json.Unmarshal(it.Payload, &li); err != nil {
		return outbox.Permanent(err)
	}
	c, err := b.clients.Client(ctx, li.ClientID)
	if errors.Is(err, ErrNotFound) {
		return nil // the client is gone: nobody to tell
	}
	if err != nil {
		return err
	}
	if c.BackchannelLogoutURI == "" {
		return nil
	}
	tok, err := b.sign.IssueLogoutToken(ctx, tokens.LogoutParams{ClientID: c.ID, Subject: li.Subject, Session: li.Session, JTI: it.ID})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BackchannelLogoutURI, strings.NewReader(url.Values{"logout_token": {tok}}.Encode()))
	if err != nil {
		return outbox.Permanent(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := b.http.Do(req)
	if err != nil {
		return fmt.Errorf("back-channel logout to %s: %w", req.URL.Host, errors.Unwrap(err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 4096))
	res.Body.Close()
	switch {
	case res.StatusCode == http.StatusOK || res.StatusCode == http.StatusNoContent:
		return nil
	case res.StatusCode == http.StatusBadRequest:
		// §2.8: the relying party refused the token; sending it again changes nothing.
		return outbox.Permanent(fmt.Errorf("back-channel logout to %s: status %d", req.URL.Host, res.StatusCode))
	}
	return fmt.Errorf("back-channel logout to %s: status %d", req.URL.Host, res.StatusCode)
}
