package userimport

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// PasswordEndpoint asks the system users migrate from whether a password is right: lazy
// password migration for hashes that cannot be exported (docs/migration.md). It POSTs
// {"email", "password"} as JSON to the configured URL with the header
//
//	Gatehouse-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" under the secret>
//
// (the form Gatehouse's webhooks use), and expects 200 {"ok": bool, "email_verified"?: bool,
// "name"?: string}. Anything else (another status, a malformed answer, a timeout) is an error,
// which the sign-in answers exactly like a wrong password. After maxFailures failures in a row
// the endpoint is not asked for breakerOpen (a circuit breaker), so that a dead endpoint costs
// sign-ins no timeouts and gets no storm of retries.
type PasswordEndpoint struct {
	url    string
	secret []byte
	client *http.Client
	now    func() time.Time

	mu        sync.Mutex
	failures  int
	openUntil time.Time
}

// Limits of the endpoint client.
const (
	EndpointTimeout = 3 * time.Second
	maxFailures     = 5
	breakerOpen     = 30 * time.Second
	maxAnswerBytes  = 4 << 10
)

// ErrEndpointUnavailable is returned while the circuit breaker is open.
var ErrEndpointUnavailable = errors.New("legacy password endpoint: not asked for a while after repeated failures")

// NewPasswordEndpoint returns a client for url, signing with secret. client may be nil (a
// client with EndpointTimeout that follows no redirects); tests pass the client of an
// httptest TLS server.
func NewPasswordEndpoint(url string, secret []byte, client *http.Client, now func() time.Time) *PasswordEndpoint {
	if client == nil {
		client = &http.Client{}
	}
	c := *client
	c.Timeout = EndpointTimeout
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &PasswordEndpoint{url: url, secret: secret, client: &c, now: now}
}

// Sign returns the Gatehouse-Signature header value for body at time t.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// CheckPassword implements accounts.LegacyPasswords.
func (p *PasswordEndpoint) CheckPassword(ctx context.Context, email, password string) (ok, emailVerified bool, err error) {
	now := p.now()
	p.mu.Lock()
	open := now.Before(p.openUntil)
	p.mu.Unlock()
	if open {
		return false, false, ErrEndpointUnavailable
	}
	ok, emailVerified, err = p.ask(ctx, email, password, now)
	p.mu.Lock()
	defer p.mu.Unlock()
	var ae *answerError
	switch {
	case err == nil || errors.As(err, &ae):
		p.failures = 0 // the endpoint answers; a strange answer is not an outage
	case ctx.Err() != nil:
		// The sign-in's own deadline or client went away: says nothing about the endpoint.
	default:
		if p.failures++; p.failures >= maxFailures {
			p.openUntil, p.failures = now.Add(breakerOpen), 0
		}
	}
	return ok, emailVerified, err
}

// answerError is an answer that arrived but is not a valid one.
type answerError struct{ msg string }

func (e *answerError) Error() string { return "legacy password endpoint: " + e.msg }

func (p *PasswordEndpoint) ask(ctx context.Context, email, password string, now time.Time) (bool, bool, error) {
	body, err := json.Marshal(struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}{email, password})
	if err != nil {
		return false, false, err
	}
	ctx, cancel := context.WithTimeout(ctx, EndpointTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return false, false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Gatehouse-Signature", Sign(p.secret, now, body))
	req.Header.Set("User-Agent", "gatehouse-lazy-migration")
	res, err := p.client.Do(req)
	if err != nil {
		return false, false, fmt.Errorf("legacy password endpoint: %w", err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxAnswerBytes+1))
	if err != nil {
		return false, false, fmt.Errorf("legacy password endpoint: reading the answer: %w", err)
	}
	if res.StatusCode >= 500 {
		return false, false, fmt.Errorf("legacy password endpoint: status %d", res.StatusCode)
	}
	if res.StatusCode != http.StatusOK {
		return false, false, &answerError{fmt.Sprintf("status %d, want 200", res.StatusCode)}
	}
	if len(data) > maxAnswerBytes {
		return false, false, &answerError{fmt.Sprintf("answer longer than %d bytes", maxAnswerBytes)}
	}
	var a struct {
		OK            *bool  `json:"ok"`
		EmailVerified bool   `json:"email_verified"`
		Name          string `json:"name"`
	}
	if err := json.Unmarshal(data, &a); err != nil || a.OK == nil {
		return false, false, &answerError{`answer is not {"ok": true|false, ...}`}
	}
	return *a.OK, *a.OK && a.EmailVerified, nil
}
