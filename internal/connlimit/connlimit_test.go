package connlimit

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"
)

func serve(t *testing.T, l *Limiter, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ConnState: l.ConnState}
	go srv.Serve(l.Listener(ln))
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// request sends one keep-alive GET on c and reads the answer's status line.
func request(t *testing.T, c net.Conn, br *bufio.Reader) error {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		return err
	}
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		return fmt.Errorf("status %d", res.StatusCode)
	}
	return nil
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestIdleConnectionsCannotExhaustTheLimit: clients that open keep-alive connections and leave
// them idle never stop a new client from being served; idle connections stay under MaxIdle.
func TestIdleConnectionsCannotExhaustTheLimit(t *testing.T) {
	l := New(4, 2)
	addr := serve(t, l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for i := range 20 { // five times the limit, each left idle
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := request(t, c, bufio.NewReader(c)); err != nil {
			t.Fatalf("client %d was not served: %v", i, err)
		}
		if n := l.Idle(); n > 2 {
			t.Fatalf("%d idle connections, want at most 2", n)
		}
		if n := l.Open(); n > 4 {
			t.Fatalf("%d open connections, want at most 4", n)
		}
	}
}

// TestBusyConnectionsAreNeverClosed: at the limit with every connection serving a request, a
// new client waits until one finishes, and no request in progress is cut.
func TestBusyConnectionsAreNeverClosed(t *testing.T) {
	l := New(2, 1)
	release := make(chan struct{})
	started := make(chan struct{}, 10)
	addr := serve(t, l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		if r.URL.Path == "/slow" {
			<-release
		}
	}))
	errs := make(chan error, 3)
	for range 2 {
		go func() {
			res, err := http.Get("http://" + addr + "/slow")
			if err == nil {
				res.Body.Close()
			}
			errs <- err
		}()
	}
	<-started
	<-started
	waitFor(t, "two open connections", func() bool { return l.Open() == 2 })
	third := make(chan error, 1)
	go func() {
		c, err := net.Dial("tcp", addr) // queues in the backlog: the server does not accept it yet
		if err != nil {
			third <- err
			return
		}
		defer c.Close()
		third <- request(t, c, bufio.NewReader(c))
	}()
	select {
	case err := <-third:
		t.Fatalf("third client served while both slots were busy: %v", err)
	case <-time.After(50 * time.Millisecond): // a bounded look for a wrong early answer; correctness does not depend on it
	}
	close(release)
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("a busy connection was cut: %v", err)
		}
	}
	if err := <-third; err != nil {
		t.Fatalf("third client after the busy ones finished: %v", err)
	}
}

func TestNewDefaults(t *testing.T) {
	if l := New(0, 0); l.max != 1 || l.maxIdle != 0 {
		t.Fatalf("New(0,0) = max %d idle %d", l.max, l.maxIdle)
	}
	if l := New(10, 0); l.maxIdle != 5 {
		t.Fatalf("default idle = %d, want 5", l.maxIdle)
	}
	if l := New(3, 9); l.maxIdle != 1 {
		t.Fatalf("maxIdle above max: %d, want 3/2", l.maxIdle)
	}
}
