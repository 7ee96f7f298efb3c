// Package smtptest runs a real SMTP server (github.com/emersion/go-smtp) on a loopback port
// for the tests of the packages that send email, so that they exercise the real client, the
// real protocol and real outages (Stop, then Start again on the same port), not a fake of
// our own mailer interface. It is imported only by tests.
package smtptest

import (
	"io"
	"log"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one email the server accepted.
type Message struct {
	From, To  string
	MessageID string
	Subject   string
	Text      string // the decoded text/plain part
	Raw       []byte
}

// Server is an SMTP server on 127.0.0.1 that requires AUTH PLAIN with User and Pass (in
// plain text: the sender allows that only to a loopback relay).
type Server struct {
	tb   testing.TB
	Addr string
	User string
	Pass string

	mu     sync.Mutex
	got    []Message
	notify chan struct{}
	srv    *smtp.Server
	l      net.Listener
	done   chan struct{}
}

// Start starts a server and stops it when the test ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{tb: tb, User: "mailer", Pass: "s3cret/p@ss", notify: make(chan struct{}, 1)}
	s.Start()
	tb.Cleanup(s.Stop)
	return s
}

// URL is the smtp_url of the server.
func (s *Server) URL() string {
	return "smtp://" + s.User + ":" + strings.NewReplacer("/", "%2F", "@", "%40").Replace(s.Pass) + "@" + s.Addr
}

// Start listens (on the previous address after a Stop) and serves.
func (s *Server) Start() {
	s.tb.Helper()
	addr := s.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var l net.Listener
	var err error
	for range 100 { // the old socket may linger a moment after a Stop
		if l, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.tb.Fatal(err)
	}
	s.Addr = l.Addr().String()
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }))
	srv.Domain = "mail.test"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(l) }()
	s.mu.Lock()
	s.srv, s.l, s.done = srv, l, done
	s.mu.Unlock()
}

// Stop closes the listener and every connection: an SMTP outage.
func (s *Server) Stop() {
	s.mu.Lock()
	srv, l, done := s.srv, s.l, s.done
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		l.Close()
		srv.Close()
		<-done
	}
}

// Messages returns every message accepted so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.got...)
}

// WaitFor waits (up to 20 s) until a message to addr arrived whose subject contains
// subject, and returns the last such message.
func (s *Server) WaitFor(tb testing.TB, to, subject string) Message {
	tb.Helper()
	deadline := time.After(20 * time.Second)
	for {
		msgs := s.Messages()
		for i := len(msgs) - 1; i >= 0; i-- {
			if msgs[i].To == to && strings.Contains(msgs[i].Subject, subject) {
				return msgs[i]
			}
		}
		select {
		case <-s.notify:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			tb.Fatalf("no message to %s with subject %q; got %d messages", to, subject, len(msgs))
		}
	}
}

var (
	linkToken = regexp.MustCompile(`#token=([A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+)`)
	sixDigits = regexp.MustCompile(`\b([0-9]{6})\b`)
)

// Token returns the token of the first link in the message's text, or "".
func (m Message) Token() string {
	if s := linkToken.FindStringSubmatch(m.Text); s != nil {
		return s[1]
	}
	return ""
}

// Code returns the first 6-digit number in the message's text, or "".
func (m Message) Code() string {
	if s := sixDigits.FindStringSubmatch(m.Text); s != nil {
		return s[1]
	}
	return ""
}

type session struct {
	s      *Server
	authed bool
	from   string
	to     []string
}

func (ss *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != ss.s.User || pass != ss.s.Pass {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		ss.authed = true
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if !ss.authed {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := Message{From: ss.from, Raw: raw}
	if len(ss.to) > 0 {
		m.To = ss.to[0]
	}
	if pm, err := mail.ReadMessage(strings.NewReader(string(raw))); err == nil {
		m.MessageID = pm.Header.Get("Message-ID")
		m.Subject, _ = new(mime.WordDecoder).DecodeHeader(pm.Header.Get("Subject"))
		m.Text = textPart(pm)
	}
	ss.s.mu.Lock()
	ss.s.got = append(ss.s.got, m)
	ss.s.mu.Unlock()
	select {
	case ss.s.notify <- struct{}{}:
	default:
	}
	return nil
}

func textPart(pm *mail.Message) string {
	mt, params, err := mime.ParseMediaType(pm.Header.Get("Content-Type"))
	if err != nil {
		return ""
	}
	if !strings.HasPrefix(mt, "multipart/") {
		b, _ := io.ReadAll(quotedprintable.NewReader(pm.Body))
		return string(b)
	}
	mr := multipart.NewReader(pm.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			return ""
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") {
			b, _ := io.ReadAll(p) // multipart.Reader decodes quoted-printable
			return string(b)
		}
	}
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }
