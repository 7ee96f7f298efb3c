package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/clock"
	"github.com/gatehouse-auth/gatehouse/internal/outbox"
	"github.com/gatehouse-auth/gatehouse/internal/outbox/outboxtest"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// parsed is a received message taken apart the way a mail client does.
type parsed struct {
	Header     mail.Header
	Subject    string
	Text, HTML string
}

func mustParse(tb testing.TB, raw []byte) parsed {
	tb.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		tb.Fatal(err)
	}
	var p parsed
	p.Header = msg.Header
	var dec mime.WordDecoder
	if p.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		tb.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		tb.Fatalf("content type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart() // decodes quoted-printable
		if err == io.EOF {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
		b, err := io.ReadAll(part)
		if err != nil {
			tb.Fatal(err)
		}
		switch ct := part.Header.Get("Content-Type"); ct {
		case `text/plain; charset="utf-8"`:
			p.Text = string(b)
		case `text/html; charset="utf-8"`:
			p.HTML = string(b)
		default:
			tb.Fatalf("unexpected part %q", ct)
		}
	}
	return p
}

func sampleMessage() *Message {
	return &Message{
		From:      mail.Address{Name: "Acmé Accounts", Address: "no-reply@acme.test"},
		To:        "ada@example.com",
		Subject:   "Vérifiez votre adresse ✓",
		Text:      "Hello Ada,\nyour code is 123456.\n" + strings.Repeat("long line ", 20) + "\n",
		HTML:      "<p>Hello Ada, your code is <b>123456</b>.</p>",
		Date:      t0,
		MessageID: "<abc123@acme.test>",
	}
}

func TestSMTPDelivery(t *testing.T) {
	tests := []struct {
		name      string
		configure func(*smtpServer)
	}{
		{"STARTTLS with PLAIN", nil},
		{"STARTTLS with LOGIN only", func(s *smtpServer) { s.Mechs = []string{"LOGIN"} }},
		{"implicit TLS", func(s *smtpServer) { s.Implicit = true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newSMTPServer(t, tt.configure)
			m := sampleMessage()
			if err := srv.Sender(t, srv.User, srv.Pass).Send(context.Background(), m); err != nil {
				t.Fatal(err)
			}
			got := srv.Received()
			if len(got) != 1 {
				t.Fatalf("server received %d messages", len(got))
			}
			r := got[0]
			if !r.TLS || r.Authed != srv.User || r.From != "no-reply@acme.test" || len(r.To) != 1 || r.To[0] != "ada@example.com" {
				t.Fatalf("envelope %+v", r)
			}
			p := mustParse(t, r.Data)
			wantHeaders := map[string]string{
				"From":           "=?utf-8?q?Acm=C3=A9_Accounts?= <no-reply@acme.test>",
				"To":             "ada@example.com",
				"Message-Id":     "<abc123@acme.test>",
				"Mime-Version":   "1.0",
				"Date":           "Sun, 01 Mar 2026 12:00:00 +0000",
				"Auto-Submitted": "auto-generated",
			}
			for k, v := range wantHeaders {
				if got := p.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if from, err := p.Header.AddressList("From"); err != nil || from[0].Name != "Acmé Accounts" {
				t.Errorf("From decodes to %v (%v)", from, err)
			}
			if p.Subject != m.Subject {
				t.Errorf("subject %q", p.Subject)
			}
			if strings.Contains(string(r.Data), "✓") {
				t.Error("raw UTF-8 in the message: the subject was not RFC 2047 encoded")
			}
			if want := strings.ReplaceAll(m.Text, "\n", "\r\n"); p.Text != want {
				t.Errorf("text part %q, want %q", p.Text, want)
			}
			if p.HTML != m.HTML {
				t.Errorf("html part %q", p.HTML)
			}
		})
	}
}

// TestSMTPLoopbackPlaintext: a relay on the same host may be spoken to without TLS (nothing
// crosses a network), and only there.
func TestSMTPLoopbackPlaintext(t *testing.T) {
	srv := newSMTPServer(t, func(s *smtpServer) { s.NoTLS = true })
	snd := srv.Sender(t, srv.User, srv.Pass)
	snd.cfg.Host = "127.0.0.1"
	if err := snd.Send(context.Background(), sampleMessage()); err != nil {
		t.Fatal(err)
	}
	if got := srv.Received(); len(got) != 1 || got[0].TLS || got[0].Authed != srv.User {
		t.Fatalf("received %+v", got)
	}
}

func TestSMTPFailures(t *testing.T) {
	tests := []struct {
		name      string
		configure func(*smtpServer)
		user      string
		pass      string
		noRoots   bool
		to        string
		permanent bool
		contains  string
	}{
		{name: "no STARTTLS offered", configure: func(s *smtpServer) { s.NoTLS = true }, contains: "STARTTLS"},
		{name: "untrusted certificate", noRoots: true, contains: "certificate"},
		{name: "wrong password", pass: "nope", contains: "535"},
		{name: "unknown recipient", configure: func(s *smtpServer) { s.Reject = map[string]bool{"ghost@example.com": true} },
			to: "ghost@example.com", permanent: true, contains: "550"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newSMTPServer(t, tt.configure)
			pass := srv.Pass
			if tt.pass != "" {
				pass = tt.pass
			}
			snd := srv.Sender(t, srv.User, pass)
			if tt.noRoots {
				snd.cfg.RootCAs = nil // system roots do not know the test CA
			}
			m := sampleMessage()
			if tt.to != "" {
				m.To = tt.to
			}
			err := snd.Send(context.Background(), m)
			if err == nil || !strings.Contains(err.Error(), tt.contains) {
				t.Fatalf("error %v, want one mentioning %q", err, tt.contains)
			}
			if outbox.IsPermanent(err) != tt.permanent {
				t.Fatalf("permanent = %v, want %v (%v)", outbox.IsPermanent(err), tt.permanent, err)
			}
			if n := len(srv.Received()); n != 0 {
				t.Fatalf("server received %d messages", n)
			}
		})
	}
}

func TestSMTPTimeout(t *testing.T) {
	// A server that accepts the connection and never greets.
	srv := newSMTPServer(t, nil)
	srv.Stop()
	l := mustListen(t, srv.Addr)
	defer l.Close()
	snd := srv.Sender(t, srv.User, srv.Pass)
	snd.cfg.Timeout = 200 * time.Millisecond
	err := snd.Send(context.Background(), sampleMessage())
	if err == nil || outbox.IsPermanent(err) || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("silent server: %v", err)
	}
}

func newTestOutbox(t *testing.T, store outbox.Store, snd Sender, clk *clock.Fake, key []byte) *Outbox {
	t.Helper()
	tpl, err := NewTemplates(nil, Brand{Name: "Acme", LogoURL: "https://acme.test/logo.png"})
	if err != nil {
		t.Fatal(err)
	}
	if key == nil {
		key = make([]byte, 32)
		rand.Read(key)
	}
	o, err := NewOutbox(store, snd, tpl, Config{From: "Acme <no-reply@acme.test>", Key: key}, clk.Now, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestOutboxSurvivesSMTPOutage: a message queued while the mail server is down stays in the
// outbox and goes out, once, after the server comes back.
func TestOutboxSurvivesSMTPOutage(t *testing.T) {
	srv := newSMTPServer(t, nil)
	store := outboxtest.NewMemory()
	clk := clock.NewFake(t0)
	o := newTestOutbox(t, store, srv.Sender(t, srv.User, srv.Pass), clk, nil)
	ctx := context.Background()

	srv.Stop()
	data := Data{Link: "https://auth.acme.test/reset?token=SECRET-TOKEN", Expires: 30 * time.Minute}
	if err := o.Enqueue(ctx, PasswordReset, "ada@example.com", data); err != nil {
		t.Fatal(err)
	}
	if _, err := o.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	all := store.All()
	if len(all) != 1 || all[0].Done || all[0].Item.Attempts != 1 || all[0].Item.LastError == "" {
		t.Fatalf("after a failed attempt: %+v", all)
	}
	if strings.Contains(all[0].Item.LastError, "SECRET-TOKEN") {
		t.Fatal("the error kept for operators holds the secret")
	}
	srv.Start()
	clk.Add(all[0].Item.NextAttemptAt.Sub(clk.Now()))
	if _, err := o.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	got := srv.Received()
	if len(got) != 1 {
		t.Fatalf("received %d messages after the outage", len(got))
	}
	p := mustParse(t, got[0].Data)
	if want := "<" + all[0].Item.ID + "@acme.test>"; p.Header.Get("Message-Id") != want {
		t.Fatalf("Message-ID %q, want the outbox id %q", p.Header.Get("Message-Id"), want)
	}
	if p.Subject != "Reset your Acme password" || !strings.Contains(p.Text, data.Link) || !strings.Contains(p.HTML, `href="https://auth.acme.test/reset?token=SECRET-TOKEN"`) {
		t.Fatalf("message %+v", p)
	}
	if st := store.All()[0]; !st.Done || st.Dead || st.Item.Payload != nil {
		t.Fatalf("after delivery: %+v", st)
	}
	if _, err := o.RunOnce(ctx); err != nil || len(srv.Received()) != 1 {
		t.Fatal("sent twice")
	}
}

func TestOutboxSealsPayload(t *testing.T) {
	store := outboxtest.NewMemory()
	clk := clock.NewFake(t0)
	var sent []*Message
	snd := senderFunc(func(_ context.Context, m *Message) error { sent = append(sent, m); return nil })
	o := newTestOutbox(t, store, snd, clk, nil)
	it, err := o.Prepare(VerifyEmail, "ada@example.com", Data{Link: "https://x.test/v?token=TOKEN-XYZ", Code: "913572", Expires: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"TOKEN-XYZ", "913572", "ada@example.com"} {
		if bytes.Contains(it.Payload, []byte(s)) {
			t.Fatalf("payload holds %q in clear", s)
		}
	}
	if !it.NotAfter.Equal(t0.Add(24 * time.Hour)) {
		t.Fatalf("NotAfter %v", it.NotAfter)
	}
	if err := store.OutboxEnqueue(context.Background(), it); err != nil {
		t.Fatal(err)
	}
	// Another key (a restored backup with a new KEK) cannot open it: given up, not retried.
	other := newTestOutbox(t, store, snd, clk, nil)
	if _, err := other.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	st, _ := store.Get(it.ID)
	if !st.Dead || len(sent) != 0 {
		t.Fatalf("payload opened with the wrong key: %+v, sent %d", st, len(sent))
	}
	// A payload moved to another row does not open either (the id is authenticated).
	it2, _ := o.Prepare(LoginCode, "ada@example.com", Data{Code: "111111", Expires: time.Minute})
	moved := outbox.NewItem(Queue, it2.Payload, t0)
	store.OutboxEnqueue(context.Background(), moved)
	if _, err := o.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st, _ := store.Get(moved.ID); !st.Dead || len(sent) != 0 {
		t.Fatalf("moved payload delivered: %+v", st)
	}
}

type senderFunc func(ctx context.Context, m *Message) error

func (f senderFunc) Send(ctx context.Context, m *Message) error { return f(ctx, m) }

func TestNewOutboxChecksConfig(t *testing.T) {
	tpl, _ := NewTemplates(nil, Brand{})
	ok := senderFunc(func(context.Context, *Message) error { return nil })
	tests := []struct {
		name   string
		sender Sender
		cfg    Config
	}{
		{"no sender", nil, Config{From: "a@b.test", Key: make([]byte, 32)}},
		{"no from", ok, Config{Key: make([]byte, 32)}},
		{"injected from", ok, Config{From: "a@b.test\r\nBcc: x@y.test", Key: make([]byte, 32)}},
		{"short key", ok, Config{From: "a@b.test", Key: make([]byte, 16)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewOutbox(outboxtest.NewMemory(), tt.sender, tpl, tt.cfg, time.Now, nil, nil); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestHeaderInjectionRefused(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(m *Message)
	}{
		{"CRLF in recipient", func(m *Message) { m.To = "ada@example.com\r\nBcc: eve@evil.test" }},
		{"LF in recipient", func(m *Message) { m.To = "ada@example.com\nBcc: eve@evil.test" }},
		{"display name in recipient", func(m *Message) { m.To = "Ada <ada@example.com>" }},
		{"two recipients", func(m *Message) { m.To = "ada@example.com, eve@evil.test" }},
		{"CRLF in subject", func(m *Message) { m.Subject = "hi\r\nBcc: eve@evil.test" }},
		{"CR in from name", func(m *Message) { m.From.Name = "Acme\rBcc: eve@evil.test" }},
		{"bad message id", func(m *Message) { m.MessageID = "abc" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := sampleMessage()
			tt.mutate(m)
			if _, err := m.Bytes(); err == nil {
				t.Fatal("built")
			}
		})
	}
	o := newTestOutbox(t, outboxtest.NewMemory(), senderFunc(nil), clock.NewFake(t0), nil)
	if _, err := o.Prepare(PasswordReset, "ada@example.com\r\nBcc: eve@evil.test", Data{Link: "x"}); !errors.Is(err, ErrHeaderInjection) {
		t.Fatalf("Prepare: %v", err)
	}
}

func TestParseSMTPURL(t *testing.T) {
	tests := []struct {
		url     string
		want    SMTPConfig
		wantErr bool
	}{
		{url: "smtp://user:pass@mail.example.com:587", want: SMTPConfig{Host: "mail.example.com", Port: "587", Username: "user", Password: "pass"}},
		{url: "smtp://mail.example.com", want: SMTPConfig{Host: "mail.example.com", Port: "587"}},
		{url: "smtps://apikey:p%40ss%2Fw%3Ard@smtp.example.com", want: SMTPConfig{Host: "smtp.example.com", Port: "465", ImplicitTLS: true, Username: "apikey", Password: "p@ss/w:rd"}},
		{url: "smtps://u%40acme.test:x@[::1]:2465", want: SMTPConfig{Host: "::1", Port: "2465", ImplicitTLS: true, Username: "u@acme.test", Password: "x"}},
		{url: "http://mail.example.com", wantErr: true},
		{url: "smtp://", wantErr: true},
		{url: "smtp://mail.example.com/path", wantErr: true},
		{url: "smtp://mail.example.com?tls=off", wantErr: true},
		{url: "smtp://u:p%0D%0A@mail.example.com", wantErr: true},
		{url: "smtp://u:secret-pw@mail.example.com:port", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			got, err := ParseSMTPURL(tt.url)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v", err)
			}
			if err != nil {
				if strings.Contains(err.Error(), "secret-pw") {
					t.Fatalf("error reveals the password: %v", err)
				}
				return
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDevLogSenderAndRedaction(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	snd := NewDevLogSender(log)
	if !strings.Contains(buf.String(), "never use this in production") {
		t.Fatalf("no warning at construction: %s", buf.String())
	}
	m := sampleMessage()
	if err := snd.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "123456") {
		t.Fatal("the development log does not show the code")
	}
	// Everywhere else a message or an item logs without its body.
	buf.Reset()
	log.Info("x", "message", m, "item", outbox.NewItem(Queue, []byte("123456"), t0))
	if strings.Contains(buf.String(), "123456") || !strings.Contains(buf.String(), "abc123@acme.test") {
		t.Fatalf("logged: %s", buf.String())
	}
}

func TestTemplatesRenderEveryKind(t *testing.T) {
	tpl, err := NewTemplates(nil, Brand{Name: "Acme", LogoURL: "https://acme.test/logo.png"})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range Kinds {
		t.Run(string(k), func(t *testing.T) {
			d := SampleData(k)
			r, err := tpl.Render(k, d)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(r.Subject, "Acme") || !strings.Contains(r.HTML, `src="https://acme.test/logo.png"`) {
				t.Fatalf("brand missing: %q / %q", r.Subject, r.HTML)
			}
			for _, v := range []string{d.Link, d.Code, d.NewEmail, d.UndoLink} {
				if v != "" && (!strings.Contains(r.Text, v) || !strings.Contains(r.HTML, v)) {
					t.Fatalf("%q missing from a part:\n%s\n%s", v, r.Text, r.HTML)
				}
			}
			if d.Expires > 0 && !strings.Contains(r.Text, d.ExpiresText()) {
				t.Fatalf("expiry missing: %s", r.Text)
			}
		})
	}
}

func TestTemplatesEscapeUserValues(t *testing.T) {
	tpl, err := NewTemplates(nil, Brand{Name: `Acme <b>&`, LogoURL: "javascript:alert(1)"})
	if err != nil {
		t.Fatal(err)
	}
	d := SampleData(EmailChanged)
	d.NewEmail = `"><script>alert(1)</script>@evil.test`
	d.Email = "x@y.test"
	r, err := tpl.Render(EmailChanged, d)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script>", "javascript:", "<b>&"} {
		if strings.Contains(r.HTML, bad) {
			t.Fatalf("HTML holds %q unescaped:\n%s", bad, r.HTML)
		}
	}
	if !strings.Contains(r.HTML, "&lt;script&gt;") || !strings.Contains(r.HTML, "Acme &lt;b&gt;&amp;") {
		t.Fatalf("values not escaped as expected:\n%s", r.HTML)
	}
}

func TestTemplatesOverride(t *testing.T) {
	dir := fstest.MapFS{
		"password_reset.subject.txt": {Data: []byte("{{.Brand.Name}}: new password\n")},
		"password_reset.txt":         {Data: []byte("Go to {{.Link}} within {{.ExpiresText}}.")},
	}
	tpl, err := NewTemplates(dir, Brand{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := tpl.Render(PasswordReset, Data{Link: "https://l.test", Expires: 30 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if r.Subject != "Acme: new password" || r.Text != "Go to https://l.test within 30 minutes." || !strings.Contains(r.HTML, "Choose a new password") {
		t.Fatalf("override: %+v", r)
	}
	broken := []fstest.MapFS{
		{"verify_email.txt": {Data: []byte("{{.Nope}}")}},           // unknown field
		{"login_code.html": {Data: []byte(`{{define "content"}}`)}}, // parse error
		{"password_changed.subject.txt": {Data: []byte("two\n{{.Brand.Name}}\nlines")}},
	}
	for i, fs := range broken {
		if _, err := NewTemplates(fs, Brand{}); err == nil {
			t.Errorf("broken override %d accepted", i)
		}
	}
}
