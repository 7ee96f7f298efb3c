// Package mail sends Gatehouse's emails: verification links and codes, password resets,
// security notices and email sign-in codes. Messages are rendered from templates (embedded,
// overridable from a directory), queued in the durable outbox (package outbox) and delivered
// over SMTP (RFC 5321) with STARTTLS or implicit TLS by a background worker, so a request never
// waits for a mail server and an outage never loses a message. Delivery is at least once;
// the Message-ID header stays the same on every attempt so that duplicates can be recognised
// (see docs/outbox.md).
//
// Without SMTP, development deployments print messages to the log with DevLogSender, whose
// name says what it does: it writes sign-in links and codes into the log, and production must
// never use it.
package mail

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"
)

// ErrHeaderInjection is returned for an address or subject holding a line break or another
// control character, which could add headers to a message.
var ErrHeaderInjection = errors.New("mail: control character in a header value")

// Message is one email, ready to be built into RFC 5322 bytes.
type Message struct {
	From      mail.Address // the configured email_from
	To        string       // bare address, no display name
	Subject   string
	Text      string // text/plain part
	HTML      string // text/html part; empty sends a text-only message
	Date      time.Time
	MessageID string // "<id@domain>", the same on every delivery attempt
}

// LogValue keeps the body (which may hold a link or a code) out of logs.
func (m *Message) LogValue() slog.Value {
	return slog.GroupValue(slog.String("message_id", m.MessageID), slog.String("to", m.To))
}

// ParseAddress parses a single address such as email_from ("Acme <no-reply@acme.test>"),
// refusing control characters.
func ParseAddress(s string) (mail.Address, error) {
	if hasControl(s) {
		return mail.Address{}, ErrHeaderInjection
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return mail.Address{}, fmt.Errorf("mail: address %q: %w", s, err)
	}
	if hasControl(a.Name) || hasControl(a.Address) {
		return mail.Address{}, ErrHeaderInjection
	}
	return *a, nil
}

// CheckRecipient reports whether to is a bare address (no display name, no comment, no line
// break) that can go into an envelope and a To header as it is.
func CheckRecipient(to string) error {
	if hasControl(to) {
		return ErrHeaderInjection
	}
	a, err := mail.ParseAddress(to)
	if err != nil || a.Address != to || a.Name != "" {
		return fmt.Errorf("mail: %q is not a bare email address", to)
	}
	return nil
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}

// Bytes builds the message: RFC 5322 headers, RFC 2047 encoded subject, and a
// multipart/alternative body (RFC 2046 §5.1.4) with the text part first and the HTML part
// last (the one clients prefer), both UTF-8 in quoted-printable.
func (m *Message) Bytes() ([]byte, error) {
	if hasControl(m.From.Name) || hasControl(m.From.Address) || hasControl(m.Subject) || hasControl(m.MessageID) {
		return nil, ErrHeaderInjection
	}
	if err := CheckRecipient(m.To); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(m.MessageID, "<") || !strings.HasSuffix(m.MessageID, ">") || strings.ContainsAny(m.MessageID, " \t") {
		return nil, fmt.Errorf("mail: bad Message-ID %q", m.MessageID)
	}
	var b bytes.Buffer
	header := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	header("From", m.From.String()) // net/mail encodes a non-ASCII name per RFC 2047
	header("To", m.To)
	header("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	header("Date", m.Date.Format(time.RFC1123Z))
	header("Message-ID", m.MessageID)
	header("MIME-Version", "1.0")
	header("Auto-Submitted", "auto-generated") // RFC 3834: no vacation replies
	if m.HTML == "" {
		header("Content-Type", `text/plain; charset="utf-8"`)
		header("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		if err := writeQP(&b, m.Text); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
	boundary := newBoundary()
	header("Content-Type", `multipart/alternative; boundary="`+boundary+`"`)
	b.WriteString("\r\n")
	for _, p := range []struct{ ctype, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		b.WriteString("--" + boundary + "\r\n")
		header("Content-Type", p.ctype+`; charset="utf-8"`)
		header("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		if err := writeQP(&b, p.body); err != nil {
			return nil, err
		}
		b.WriteString("\r\n")
	}
	b.WriteString("--" + boundary + "--\r\n")
	return b.Bytes(), nil
}

func writeQP(b *bytes.Buffer, s string) error {
	// Normalise line ends to CRLF so quoted-printable keeps them as real line breaks.
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
	w := quotedprintable.NewWriter(b)
	if _, err := w.Write([]byte(s)); err != nil {
		return err
	}
	return w.Close()
}

// newBoundary returns a multipart boundary. It starts with "=_", which never occurs in
// quoted-printable output (a literal "=" is written "=3D" and a soft break is "=" at the end
// of a line; RFC 2045 §6.7), so no body can contain it.
func newBoundary() string {
	var r [12]byte
	rand.Read(r[:])
	return "=_gatehouse_" + hex.EncodeToString(r[:])
}
