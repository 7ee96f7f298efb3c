package mail

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/gatehouse-auth/gatehouse/internal/secret"
)

// testHost is the name the tests give the SMTP server: not a loopback name, so the sender
// applies its full TLS rules; the test dialer connects it to the local listener.
const testHost = "mail.test"

// mustCert makes a self-signed certificate for testHost and returns it with a pool trusting it.
func mustCert(tb testing.TB) (tls.Certificate, *x509.CertPool) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: testHost}, DNSNames: []string{testHost},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// received is one message the test server accepted.
type received struct {
	From   string
	To     []string
	Data   []byte
	TLS    bool
	Authed string // the user name that authenticated
}

// smtpServer is a real SMTP server (github.com/emersion/go-smtp) on a local port.
type smtpServer struct {
	tb       testing.TB
	cert     tls.Certificate
	Pool     *x509.CertPool
	Addr     string
	User     string
	Pass     string
	Mechs    []string // AUTH mechanisms offered (PLAIN, LOGIN)
	NoTLS    bool     // do not offer STARTTLS (and accept AUTH in plain text)
	Implicit bool     // TLS from the first byte (smtps)
	Reject   map[string]bool

	mu   sync.Mutex
	got  []received
	srv  *smtp.Server
	l    net.Listener
	done chan struct{}
}

func newSMTPServer(tb testing.TB, configure func(*smtpServer)) *smtpServer {
	tb.Helper()
	cert, pool := mustCert(tb)
	s := &smtpServer{tb: tb, cert: cert, Pool: pool, User: "mailer@acme.test", Pass: "p@ss/wörd", Mechs: []string{"PLAIN"}}
	if configure != nil {
		configure(s)
	}
	s.Start()
	tb.Cleanup(s.Stop)
	return s
}

// Start listens (on the previous address after a Stop) and serves.
func (s *smtpServer) Start() {
	s.tb.Helper()
	addr := s.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var l net.Listener
	var err error
	for i := 0; i < 50; i++ { // the old socket may linger a moment after a Stop
		if l, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.tb.Fatal(err)
	}
	s.Addr = l.Addr().String()
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &smtpSession{s: s, c: c}, nil
	}))
	srv.Domain = testHost
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{s.cert}}
	if !s.NoTLS {
		srv.TLSConfig = tlsCfg
	} else {
		srv.AllowInsecureAuth = true
	}
	if s.Implicit {
		l = tls.NewListener(l, tlsCfg)
	}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(l) }()
	s.mu.Lock()
	s.srv, s.done, s.l = srv, done, l
	s.mu.Unlock()
}

// Stop closes the listener and every connection: an SMTP outage.
func (s *smtpServer) Stop() {
	s.mu.Lock()
	srv, done, l := s.srv, s.done, s.l
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		l.Close() // Serve may not have registered it yet, and then Close would miss it
		srv.Close()
		<-done
	}
}

func (s *smtpServer) Received() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.got...)
}

// dial connects the sender to this server whatever host name it asks for.
func (s *smtpServer) dial(ctx context.Context, network, _ string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, s.Addr)
}

// Sender returns an SMTPSender configured for this server.
func (s *smtpServer) Sender(tb testing.TB, user, pass string) *SMTPSender {
	tb.Helper()
	snd, err := NewSMTPSender(SMTPConfig{Host: testHost, Port: "587", ImplicitTLS: s.Implicit, Username: user,
		Password: secret.Redacted(pass), RootCAs: s.Pool, Timeout: 5 * time.Second, HeloName: "gatehouse.test"})
	if err != nil {
		tb.Fatal(err)
	}
	snd.dial = s.dial
	return snd
}

type smtpSession struct {
	s      *smtpServer
	c      *smtp.Conn
	authed string
	from   string
	to     []string
}

func (ss *smtpSession) AuthMechanisms() []string { return ss.s.Mechs }

func (ss *smtpSession) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass string) error {
		if user != ss.s.User || pass != ss.s.Pass {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		ss.authed = user
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (ss *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if ss.authed == "" {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if ss.s.Reject[to] {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := ss.c.TLSConnectionState()
	ss.s.mu.Lock()
	ss.s.got = append(ss.s.got, received{From: ss.from, To: ss.to, Data: b, TLS: isTLS, Authed: ss.authed})
	ss.s.mu.Unlock()
	return nil
}

func (ss *smtpSession) Reset()        { ss.from, ss.to = "", nil }
func (ss *smtpSession) Logout() error { return nil }

// loginServer is the server side of the LOGIN mechanism, which go-sasl does not provide.
type loginServer struct {
	check func(user, pass string) error
	step  int
	user  string
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	l.step++
	switch l.step {
	case 1:
		if len(resp) > 0 { // initial response carries the user name
			l.user = string(resp)
			l.step++
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 2:
		l.user = string(resp)
		return []byte("Password:"), false, nil
	case 3:
		return nil, true, l.check(l.user, string(resp))
	}
	return nil, false, errors.New("unexpected LOGIN step")
}

// mustListen listens on addr and accepts connections without ever answering: a hung server.
func mustListen(tb testing.TB, addr string) net.Listener {
	tb.Helper()
	var l net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if l, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		tb.Fatal(err)
	}
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	return l
}
