package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/outbox"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
)

// SMTPConfig says how to reach the mail server.
type SMTPConfig struct {
	Host string
	Port string
	// ImplicitTLS: smtps:// (TLS from the first byte, RFC 8314 §3.3). Otherwise smtp://,
	// where STARTTLS (RFC 3207) is required: a server that does not offer it is refused,
	// so an attacker who strips STARTTLS from the greeting gets nothing. Only a server on a
	// loopback address (a local relay) may be spoken to in plain text.
	ImplicitTLS bool
	Username    string
	Password    secret.Redacted
	HeloName    string         // the name given in EHLO; default: this host's name
	Timeout     time.Duration  // for a whole delivery, dial to QUIT; default 30s
	RootCAs     *x509.CertPool // nil: the system roots (tests set their own)
}

// ParseSMTPURL reads smtp_url: smtp://user:pass@host:587 or smtps://user:pass@host:465. The
// user name and password are percent-decoded (a password holding "@" or "/" is written %40,
// %2F). The port defaults to 587 for smtp and 465 for smtps.
func ParseSMTPURL(s string) (SMTPConfig, error) {
	u, err := url.Parse(s)
	if err != nil {
		// url.Parse's error repeats the URL, password included.
		return SMTPConfig{}, errors.New("smtp_url: not a URL")
	}
	var c SMTPConfig
	switch u.Scheme {
	case "smtp":
		c.Port = "587"
	case "smtps":
		c.ImplicitTLS, c.Port = true, "465"
	default:
		return SMTPConfig{}, fmt.Errorf("smtp_url: scheme must be smtp or smtps, not %q", u.Scheme)
	}
	c.Host = u.Hostname()
	if c.Host == "" {
		return SMTPConfig{}, errors.New("smtp_url: no host")
	}
	if p := u.Port(); p != "" {
		c.Port = p
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return SMTPConfig{}, errors.New("smtp_url: only scheme, user, password, host and port are allowed")
	}
	if u.User != nil {
		c.Username = u.User.Username()
		p, _ := u.User.Password()
		c.Password = secret.Redacted(p)
		if hasControl(c.Username) || hasControl(p) {
			return SMTPConfig{}, errors.New("smtp_url: control character in user or password")
		}
	}
	return c, nil
}

// SMTPSender sends messages to one SMTP server, a new connection per message (Gatehouse
// sends few emails; a pool would only add states to get wrong).
type SMTPSender struct {
	cfg  SMTPConfig
	dial func(ctx context.Context, network, addr string) (net.Conn, error) // tests redirect it
}

// NewSMTPSender returns a sender for cfg.
func NewSMTPSender(cfg SMTPConfig) (*SMTPSender, error) {
	if cfg.Host == "" || cfg.Port == "" {
		return nil, errors.New("smtp: host and port are required")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.HeloName == "" {
		cfg.HeloName, _ = os.Hostname()
		if cfg.HeloName == "" || hasControl(cfg.HeloName) || strings.ContainsAny(cfg.HeloName, " ") {
			cfg.HeloName = "localhost"
		}
	}
	var d net.Dialer
	return &SMTPSender{cfg: cfg, dial: d.DialContext}, nil
}

func (s *SMTPSender) tlsConfig() *tls.Config {
	return &tls.Config{ServerName: s.cfg.Host, MinVersion: tls.VersionTLS12, RootCAs: s.cfg.RootCAs}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Send implements Sender. A 5xx answer to MAIL FROM, RCPT TO or DATA (unknown recipient,
// refused sender, rejected content) is permanent (RFC 5321 §4.2.1); everything else,
// authentication failures included (the operator may fix the password), is retried.
func (s *SMTPSender) Send(ctx context.Context, m *Message) error {
	raw, err := m.Bytes()
	if err != nil {
		return outbox.Permanent(err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	addr := net.JoinHostPort(s.cfg.Host, s.cfg.Port)
	conn, err := s.dial(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	// Cancelling ctx (shutdown) interrupts a blocked read or write at once.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if s.cfg.ImplicitTLS {
		tc := tls.Client(conn, s.tlsConfig())
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("smtp: tls: %w", err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, s.cfg.Host)
	if err != nil {
		return fmt.Errorf("smtp: greeting: %w", err)
	}
	defer c.Close()
	if err := c.Hello(s.cfg.HeloName); err != nil {
		return fmt.Errorf("smtp: EHLO: %w", err)
	}
	if !s.cfg.ImplicitTLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(s.tlsConfig()); err != nil {
				return fmt.Errorf("smtp: STARTTLS: %w", err)
			}
		} else if !isLoopback(s.cfg.Host) {
			return errors.New("smtp: the server does not offer STARTTLS; refusing to send in plain text")
		}
	}
	if s.cfg.Username != "" {
		ok, mechs := c.Extension("AUTH")
		if !ok {
			return errors.New("smtp: credentials configured but the server does not offer AUTH")
		}
		var a smtp.Auth
		switch fields := strings.Fields(strings.ToUpper(mechs)); {
		case contains(fields, "PLAIN"):
			// net/smtp's PLAIN refuses to send the password unless the connection is TLS or
			// the server is on localhost.
			a = smtp.PlainAuth("", s.cfg.Username, string(s.cfg.Password), s.cfg.Host)
		case contains(fields, "LOGIN"):
			a = &loginAuth{user: s.cfg.Username, pass: string(s.cfg.Password), host: s.cfg.Host}
		default:
			return fmt.Errorf("smtp: no supported AUTH mechanism in %q (PLAIN or LOGIN needed)", mechs)
		}
		if err := c.Auth(a); err != nil {
			return fmt.Errorf("smtp: AUTH: %w", err)
		}
	}
	if err := c.Mail(m.From.Address); err != nil {
		return classify("MAIL FROM", err)
	}
	if err := c.Rcpt(m.To); err != nil {
		return classify("RCPT TO", err)
	}
	w, err := c.Data()
	if err != nil {
		return classify("DATA", err)
	}
	if _, err := w.Write(raw); err != nil {
		return fmt.Errorf("smtp: DATA: %w", err)
	}
	// Close sends the final "." and reads the answer: from here on the server has the
	// message, whatever happens to QUIT.
	if err := w.Close(); err != nil {
		return classify("DATA", err)
	}
	_ = c.Quit()
	return nil
}

func classify(stage string, err error) error {
	err = fmt.Errorf("smtp: %s: %w", stage, err)
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return outbox.Permanent(err)
	}
	return err
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// loginAuth is the LOGIN mechanism (draft-murchison-sasl-login), which net/smtp lacks and
// some providers offer instead of PLAIN. Like net/smtp's PLAIN it sends the password only
// over TLS or to a loopback server.
type loginAuth struct {
	user, pass, host string
	step             int
}

func (a *loginAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if !server.TLS && !isLoopback(a.host) {
		return "", nil, errors.New("unencrypted connection")
	}
	if server.Name != a.host {
		return "", nil, errors.New("wrong host name")
	}
	return "LOGIN", nil, nil
}

func (a *loginAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	a.step++
	switch a.step {
	case 1:
		return []byte(a.user), nil
	case 2:
		return []byte(a.pass), nil
	}
	return nil, fmt.Errorf("unexpected LOGIN challenge %q", fromServer)
}
