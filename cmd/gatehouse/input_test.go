package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestNonUTF8InputOnPostgres: input PostgreSQL cannot store as text (invalid UTF-8, a
// multi-byte character cut at a length limit, NUL) never turns into a 503, and a write that
// happened is never reported as failed: headers are cleaned, parameters and bodies refused
// with 400.
func TestNonUTF8InputOnPostgres(t *testing.T) {
	key := strings.Repeat("m", 40)
	s := startServer(t, t.TempDir(), map[string]string{"GATEHOUSE_ADMIN_KEY": key}, "--database-url", testDatabase(t))
	admin := []string{"Authorization", "Bearer " + key}
	body := map[string]string{"email": "utf@example.com", "password": "correct horse battery staple"}

	for _, ua := range []string{"Mozilla/5.0 \xff", strings.Repeat("€", 200)} {
		res, _ := postJSON(t, http.DefaultClient, s.url+"/v1/login", map[string]string{"email": "utf@example.com", "password": "wrong password here"}, "User-Agent", ua)
		if res.StatusCode != 401 {
			t.Fatalf("login of an unknown user with UA %q: %d, want 401", ua, res.StatusCode)
		}
	}
	res, _ := postJSON(t, http.DefaultClient, s.url+"/v1/signup", body, "User-Agent", "Mozilla/5.0 \xff")
	if res.StatusCode != 201 {
		t.Fatalf("sign-up with a non-UTF-8 User-Agent: %d, want 201", res.StatusCode)
	}
	res, _ = postJSON(t, http.DefaultClient, s.url+"/v1/login", body, "User-Agent", strings.Repeat("€", 200))
	if res.StatusCode != 200 {
		t.Fatalf("login with a long multi-byte User-Agent: %d, want 200", res.StatusCode)
	}
	res, _ = postJSON(t, http.DefaultClient, s.url+"/v1/login", map[string]string{"email": body["email"], "password": "not the password"}, "User-Agent", "\xff\xfe")
	if res.StatusCode != 401 {
		t.Fatalf("wrong password with a non-UTF-8 User-Agent: %d, want 401", res.StatusCode)
	}
	_, ev := get(t, http.DefaultClient, s.url+"/v1/admin/events?type=user.login_failed", admin...)
	if n := len(ev["events"].([]any)); n < 3 {
		t.Fatalf("failed sign-ins audited: %d, want 3", n)
	}
	for _, q := range []string{"email_prefix=%00", "email_prefix=%ff", "after=%ff"} {
		if res, _ := get(t, http.DefaultClient, s.url+"/v1/admin/users?"+q, admin...); res.StatusCode != 400 {
			t.Fatalf("?%s: %d, want 400", q, res.StatusCode)
		}
	}
	if res, _ := get(t, http.DefaultClient, s.url+"/v1/admin/users/%ff", admin...); res.StatusCode != 400 {
		t.Fatalf("non-UTF-8 user id: %d, want 400", res.StatusCode)
	}
	_, list := get(t, http.DefaultClient, s.url+"/v1/admin/users", admin...)
	if n := len(list["users"].([]any)); n != 1 {
		t.Fatalf("users: %d, want 1", n)
	}
}

// TestIdleKeepAlivesCannotLockOthersOut: many clients that open a keep-alive connection and
// leave it idle (the fd-exhaustion attack) never stop the next client from being served.
func TestIdleKeepAlivesCannotLockOthersOut(t *testing.T) {
	s := startServer(t, t.TempDir(), map[string]string{"GATEHOUSE_MAX_CONNECTIONS": "8"})
	addr := strings.TrimPrefix(s.url, "http://")
	for i := range 40 { // five times the limit, each left open and idle
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("client %d not served: %v", i, err)
		}
		res.Body.Close()
	}
	_, m := getText(t, s.url+"/metrics")
	if !strings.Contains(m, "gatehouse_http_open_connections ") {
		t.Fatal("no open-connections gauge")
	}
	for l := range strings.Lines(m) {
		var n float64
		if _, err := fmt.Sscanf(l, "gatehouse_http_open_connections %g", &n); err == nil && n > 8 {
			t.Fatalf("open connections %g above the limit 8", n)
		}
	}
}

func TestConnectionLimitConfig(t *testing.T) {
	env := map[string]string{"GATEHOUSE_MAX_CONNECTIONS": "-1", "GATEHOUSE_MAX_IDLE_CONNECTIONS": "x"}
	_, _, err := loadConfig("serve", nil, func(k string) string { return env[k] })
	if err == nil || !strings.Contains(err.Error(), "max_connections") || !strings.Contains(err.Error(), "GATEHOUSE_MAX_IDLE_CONNECTIONS") {
		t.Fatalf("bad connection limits not reported: %v", err)
	}
	if n := connectionLimit(0); n < 64 || n > 16384 {
		t.Fatalf("derived connection limit %d", n)
	}
}

func getText(t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// TestMetricsOnTheirOwnListener: with metrics_addr, /metrics answers there and not on the
// public address; the feed-lag and refresh metrics are exported.
func TestMetricsOnTheirOwnListener(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrc, maddrc, errc := make(chan net.Addr, 1), make(chan net.Addr, 1), make(chan error, 1)
	env := map[string]string{"GATEHOUSE_METRICS_ADDR": "127.0.0.1:0"}
	go func() {
		errc <- run(ctx, runEnv{
			args:   []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir()},
			getenv: func(k string) string { return env[k] }, stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard,
			listening: func(a net.Addr) { addrc <- a }, metricsListening: func(a net.Addr) { maddrc <- a },
		})
	}()
	var api, metrics net.Addr
	for api == nil || metrics == nil {
		select {
		case api = <-addrc:
		case metrics = <-maddrc:
		case err := <-errc:
			t.Fatalf("serve exited: %v", err)
		case <-time.After(30 * time.Second):
			t.Fatal("server did not start")
		}
	}
	if res, _ := getText(t, "http://"+api.String()+"/metrics"); res.StatusCode != 404 {
		t.Fatalf("public /metrics: %d, want 404", res.StatusCode)
	}
	res, body := getText(t, "http://"+metrics.String()+"/metrics")
	if res.StatusCode != 200 || !strings.Contains(body, "gatehouse_revocation_feed_lag_seconds") || !strings.Contains(body, "gatehouse_http_requests_total") {
		t.Fatalf("metrics listener: %d\n%s", res.StatusCode, body[:min(len(body), 500)])
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("stop: %v", err)
	}
}
