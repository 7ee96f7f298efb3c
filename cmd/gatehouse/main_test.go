package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

type server struct {
	url            string
	dataDir        string
	stdout, stderr *lockedBuffer
	stop           func() error
}

// startServer runs `gatehouse serve` in-process on a free port, as a user would.
func startServer(t testing.TB, dataDir string, env map[string]string, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{dataDir: dataDir, stdout: &lockedBuffer{}, stderr: &lockedBuffer{}}
	addrc := make(chan net.Addr, 1)
	errc := make(chan error, 1)
	getenv := func(k string) string { return env[k] }
	go func() {
		errc <- run(ctx, runEnv{
			args:   append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir}, args...),
			getenv: getenv, stdin: strings.NewReader(""), stdout: s.stdout, stderr: s.stderr,
			listening: func(a net.Addr) { addrc <- a },
		})
	}()
	select {
	case a := <-addrc:
		s.url = "http://" + a.String()
	case err := <-errc:
		cancel()
		t.Fatalf("serve exited: %v\n%s", err, s.stderr)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("server did not start")
	}
	var once sync.Once
	var stopErr error
	s.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case stopErr = <-errc:
			case <-time.After(30 * time.Second):
				t.Error("server did not stop")
			}
		})
		return stopErr
	}
	t.Cleanup(func() { s.stop() })
	return s
}

func postJSON(t testing.TB, c *http.Client, u string, body any, hdr ...string) (*http.Response, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", u, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return send(t, c, req)
}

func get(t testing.TB, c *http.Client, u string, hdr ...string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return send(t, c, req)
}

func send(t testing.TB, c *http.Client, req *http.Request) (*http.Response, map[string]any) {
	t.Helper()
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return res, m
}

// TestEndToEnd starts the real server on the embedded default and walks the README's curl
// walkthrough with a real HTTP client and cookie jar.
func TestEndToEnd(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := startServer(t, dir, nil)

	// First start: data dir, database, key-encryption key, and a management key printed once.
	for _, f := range []string{"gatehouse.db", "kek"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatalf("%s not created: %v", f, err)
		}
		if f == "kek" && st.Mode().Perm() != 0o600 {
			t.Fatalf("kek mode %v", st.Mode().Perm())
		}
	}
	// Output is not a terminal here, so the key goes to a 0600 file and the log says where.
	kf := filepath.Join(dir, "management-key")
	b, err := os.ReadFile(kf)
	if err != nil {
		t.Fatalf("no management key file: %v\n%s", err, s.stderr)
	}
	if st, _ := os.Stat(kf); st.Mode().Perm() != 0o600 {
		t.Fatalf("management-key mode %v", st.Mode().Perm())
	}
	key := regexp.MustCompile(`gh_mk_[A-Za-z0-9_-]{43}`).FindString(string(b))
	if key == "" {
		t.Fatalf("no management key in the file: %q", b)
	}
	if strings.Contains(s.stdout.String()+s.stderr.String(), key) {
		t.Fatal("management key printed to captured output or the logs")
	}
	if !strings.Contains(s.stderr.String(), kf) {
		t.Fatalf("the log does not say where the key is:\n%s", s.stderr)
	}

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	res, body := postJSON(t, browser, s.url+"/v1/signup", map[string]string{"email": "alice@example.com", "password": "correct horse battery staple"})
	if res.StatusCode != 201 {
		t.Fatalf("signup: %d %v", res.StatusCode, body)
	}
	// Go's cookie jar, like browsers, keeps Secure cookies for localhost over plain HTTP.
	u, _ := url.Parse(s.url)
	if len(jar.Cookies(u)) != 1 {
		t.Fatalf("jar holds %d cookies", len(jar.Cookies(u)))
	}
	res, body = get(t, browser, s.url+"/v1/session")
	if res.StatusCode != 200 || body["user"].(map[string]any)["email"] != "alice@example.com" {
		t.Fatalf("session: %d %v", res.StatusCode, body)
	}
	_, body = get(t, browser, s.url+"/v1/sessions")
	if n := len(body["sessions"].([]any)); n != 1 {
		t.Fatalf("%d sessions", n)
	}
	res, body = get(t, http.DefaultClient, s.url+"/v1/admin/users", "Authorization", "Bearer "+key)
	if res.StatusCode != 200 || len(body["users"].([]any)) != 1 {
		t.Fatalf("admin list: %d %v", res.StatusCode, body)
	}
	res, _ = postJSON(t, browser, s.url+"/v1/logout", map[string]string{})
	if res.StatusCode != 204 {
		t.Fatalf("logout: %d", res.StatusCode)
	}
	if res, _ = get(t, browser, s.url+"/v1/session"); res.StatusCode != 401 {
		t.Fatalf("session after logout: %d", res.StatusCode)
	}
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		if res, _ := get(t, http.DefaultClient, s.url+p); res.StatusCode != 200 {
			t.Fatalf("%s: %d", p, res.StatusCode)
		}
	}
	if err := s.stop(); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}

	// Second start on the same data: no new key printed, the old one still works, data kept.
	s2 := startServer(t, dir, nil)
	if b2, _ := os.ReadFile(kf); !bytes.Equal(b2, b) || strings.Contains(s2.stdout.String(), "gh_mk_") {
		t.Fatal("a second management key was generated")
	}
	res, body = get(t, http.DefaultClient, s2.url+"/v1/admin/users", "Authorization", "Bearer "+key)
	if res.StatusCode != 200 || len(body["users"].([]any)) != 1 {
		t.Fatalf("after restart: %d %v", res.StatusCode, body)
	}
}

func TestConfiguredAdminKey(t *testing.T) {
	key := strings.Repeat("k", 40)
	s := startServer(t, t.TempDir(), map[string]string{"GATEHOUSE_ADMIN_KEY": key})
	if _, err := os.Stat(filepath.Join(s.dataDir, "management-key")); err == nil || strings.Contains(s.stdout.String(), "gh_mk_") {
		t.Fatal("generated a key although one was configured")
	}
	if res, _ := get(t, http.DefaultClient, s.url+"/v1/admin/users", "Authorization", "Bearer "+key); res.StatusCode != 200 {
		t.Fatalf("configured key refused: %d", res.StatusCode)
	}
}

// TestGracefulShutdown: a request in flight when the signal arrives still completes. The
// request asks for "100 Continue", which the server sends only once its handler reads the body,
// so the test knows the request is being served before it stops the server: no sleeps.
func TestGracefulShutdown(t *testing.T) {
	s := startServer(t, t.TempDir(), nil)
	addr := strings.TrimPrefix(s.url, "http://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	body := `{"email":"z@example.com","password":"correct horse battery staple"}`
	fmt.Fprintf(conn, "POST /v1/signup HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", addr, len(body))
	br := bufio.NewReader(conn)
	line, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("want 100 Continue, got %q %v", line, err)
	}
	if _, err := br.ReadString('\n'); err != nil { // the blank line after the interim response
		t.Fatal(err)
	}

	// The handler is running. Stop the server and wait until it no longer accepts connections.
	stopped := make(chan error, 1)
	go func() { stopped <- s.stop() }()
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the server still accepts connections after stop")
		}
		time.Sleep(2 * time.Millisecond)
	}

	// Shutdown is under way; the request in flight must still be answered.
	if _, err := io.WriteString(conn, body); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("in-flight request lost: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("in-flight request answered %d", res.StatusCode)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("stop: %v", err)
	}
}

func TestConfigReportsEveryProblem(t *testing.T) {
	env := map[string]string{"GATEHOUSE_SIGNING_ALGORITHM": "HS256", "GATEHOUSE_ISSUER": "ftp://x", "GATEHOUSE_LOG_LEVEL": "loud", "GATEHOUSE_ADMIN_KEY": "short", "GATEHOUSE_TRUSTED_PROXIES": "10.0.0.0/8,not-an-ip"}
	_, _, err := loadConfig("serve", []string{"--addr", "nope"}, func(k string) string { return env[k] })
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{"addr", "issuer", "log-level", "GATEHOUSE_ADMIN_KEY", "not-an-ip", "signing_algorithm"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	cfg, _, err := loadConfig("serve", nil, func(string) string { return "" })
	if err != nil || cfg.Addr != ":8080" || cfg.DataDir != "./data" || cfg.Issuer != "http://localhost:8080" {
		t.Fatalf("defaults: %+v %v", cfg, err)
	}
	// http issuers: only names browsers treat as secure contexts, unless --insecure-dev.
	for issuer, ok := range map[string]bool{"http://a.localhost:8080": true, "http://127.0.0.1:9": true, "http://[::1]:9": true,
		"http://localhost.example.com": false, "http://.localhost": false, "http://a.localhost.evil:80": false, "http://example.com": false} {
		_, _, err := loadConfig("serve", nil, func(k string) string { return map[string]string{"GATEHOUSE_ISSUER": issuer}[k] })
		if (err == nil) != ok {
			t.Errorf("issuer %s: accepted=%v, want %v (%v)", issuer, err == nil, ok, err)
		}
	}
	// Flags beat the environment, which beats the file.
	file := filepath.Join(t.TempDir(), "g.json")
	os.WriteFile(file, []byte(`{"addr":":1111","issuer":"https://file.example","session_idle_timeout":"1h"}`), 0o600)
	cfg, _, err = loadConfig("serve", []string{"--config", file, "--addr", ":3333"}, func(k string) string {
		return map[string]string{"GATEHOUSE_ADDR": ":2222", "GATEHOUSE_ISSUER": "https://env.example"}[k]
	})
	if err != nil || cfg.Addr != ":3333" || cfg.Issuer != "https://env.example" || time.Duration(cfg.SessionIdleTimeout) != time.Hour {
		t.Fatalf("precedence: %+v %v", cfg, err)
	}
	os.WriteFile(file, []byte(`{"adr":":1"}`), 0o600)
	if _, _, err := loadConfig("serve", []string{"--config", file}, func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "adr") {
		t.Fatalf("unknown config key accepted: %v", err)
	}
}

// TestExampleConfigLoads keeps docs/gatehouse.example.json valid.
func TestExampleConfigLoads(t *testing.T) {
	cfg, _, err := loadConfig("serve", []string{"--config", "../../docs/gatehouse.example.json"}, func(string) string { return "" })
	if err != nil {
		t.Fatalf("example config: %v", err)
	}
	if cfg.Issuer != "https://auth.example.com" || cfg.RedisURL == "" || len(cfg.trusted) != 1 {
		t.Fatalf("example config not applied: %+v", cfg)
	}
}

func TestUserCommands(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	runCmd := func(stdin string, args ...string) error {
		out.Reset()
		return run(context.Background(), runEnv{args: args, getenv: func(string) string { return "" },
			stdin: strings.NewReader(stdin), stdout: &out, stderr: io.Discard})
	}
	if err := runCmd("correct horse battery staple\n", "user", "create", "--email", "Ops@Example.com", "--password-stdin", "--data-dir", dir); err != nil {
		t.Fatal(err)
	}
	if err := runCmd("", "user", "create", "--email", "ops@example.com", "--data-dir", dir); err == nil {
		t.Fatal("duplicate user created")
	}
	if err := runCmd("", "user", "list", "--data-dir", dir); err != nil || !strings.Contains(out.String(), "ops@example.com") {
		t.Fatalf("list: %v %s", err, out.String())
	}
	s := startServer(t, dir, nil)
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	if res, _ := postJSON(t, browser, s.url+"/v1/login", map[string]string{"email": "ops@example.com", "password": "correct horse battery staple"}); res.StatusCode != 200 {
		t.Fatalf("login as CLI-created user: %d", res.StatusCode)
	}
	if err := runCmd("", "user", "disable", "--data-dir", dir, "ops@example.com"); err != nil {
		t.Fatal(err)
	}
	// The CLI is another process: the server learns of the revocation from the revocation
	// log, which it follows every 250 ms.
	deadline := time.Now().Add(5 * time.Second)
	for {
		res, _ := get(t, browser, s.url+"/v1/session")
		if res.StatusCode == 401 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("session of a user disabled from the CLI still answers %d", res.StatusCode)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if res, _ := postJSON(t, browser, s.url+"/v1/login", map[string]string{"email": "ops@example.com", "password": "correct horse battery staple"}); res.StatusCode != 401 {
		t.Fatalf("login as a disabled user: %d", res.StatusCode)
	}
	if err := runCmd("", "user", "enable", "--data-dir", dir, "ops@example.com"); err != nil || !strings.Contains(out.String(), "enabled user") {
		t.Fatalf("enable: %v %s", err, out.String())
	}
	if res, _ := postJSON(t, browser, s.url+"/v1/login", map[string]string{"email": "ops@example.com", "password": "correct horse battery staple"}); res.StatusCode != 200 {
		t.Fatalf("login after enable: %d", res.StatusCode)
	}
	if err := runCmd("", "migrate", "--data-dir", dir); err != nil || !strings.Contains(out.String(), "up to date") {
		t.Fatalf("migrate: %v %s", err, out.String())
	}
	if err := runCmd("", "keys", "list", "--data-dir", dir); err != nil || !strings.Contains(out.String(), "active") {
		t.Fatalf("keys list: %v %s", err, out.String())
	}
	if err := runCmd("", "keys", "rotate", "--data-dir", dir); err != nil || !strings.Contains(out.String(), "new active key") {
		t.Fatalf("keys rotate: %v %s", err, out.String())
	}
	if err := runCmd("", "keys", "list", "--data-dir", dir); err != nil || strings.Count(out.String(), "active") != 1 {
		t.Fatalf("after rotate: %v %s", err, out.String())
	}
	if err := runCmd("", "bogus"); err == nil {
		t.Fatal("unknown command accepted")
	}
}

func TestVersion(t *testing.T) {
	for _, arg := range []string{"version", "--version"} {
		var out strings.Builder
		if err := run(context.Background(), runEnv{args: []string{arg}, getenv: func(string) string { return "" }, stdout: &out, stderr: io.Discard}); err != nil {
			t.Fatalf("%s: %v", arg, err)
		}
		if !regexp.MustCompile(`^gatehouse \S+.* go1\.\d+`).MatchString(out.String()) {
			t.Fatalf("%s printed %q", arg, out.String())
		}
	}
}

func TestDoctor(t *testing.T) {
	dir := t.TempDir()
	var out strings.Builder
	doctorRun := func(env map[string]string, args ...string) error {
		out.Reset()
		return run(context.Background(), runEnv{args: append([]string{"doctor", "--data-dir", dir}, args...),
			getenv: func(k string) string { return env[k] }, stdin: strings.NewReader(""), stdout: &out, stderr: io.Discard})
	}
	if err := doctorRun(nil); err != nil || !strings.Contains(out.String(), "none yet") {
		t.Fatalf("doctor on a fresh data dir: %v\n%s", err, out.String())
	}
	startServer(t, dir, nil).stop() // creates the signing keys
	if err := doctorRun(nil); err != nil {
		t.Fatalf("doctor after a first start: %v\n%s", err, out.String())
	}
	for _, want := range []string{"ok    config", "ok    store write", "ok    signing keys", "ok    key rotation"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("doctor output lacks %q:\n%s", want, out.String())
		}
	}
	// A different key-encryption key cannot open the signing keys: doctor says so.
	wrong := map[string]string{"GATEHOUSE_KEK": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}
	if err := doctorRun(wrong); err == nil || !strings.Contains(out.String(), "FAIL") {
		t.Fatalf("doctor with the wrong KEK: %v\n%s", err, out.String())
	}
	if err := doctorRun(map[string]string{"GATEHOUSE_LOG_LEVEL": "loud"}); err == nil || !strings.Contains(out.String(), "FAIL  config") {
		t.Fatalf("doctor with a bad config: %v\n%s", err, out.String())
	}
}
