package main

import (
	"crypto/rand"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// privateRedis starts a redis-server of the test's own on a free port (so the test can really
// stop it) and returns its address and a stop function.
func privateRedis(t *testing.T) (addr string, start, stop func()) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("GATEHOUSE_TEST_REDIS") != "" {
			t.Fatal("redis-server not found but Redis tests are required")
		}
		t.Skip("redis-server not installed")
	}
	addr = freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	var cmd *exec.Cmd
	start = func() {
		cmd = exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 100; i++ {
			if c, err := net.Dial("tcp", addr); err == nil {
				c.Close()
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatal("redis-server did not start")
	}
	stop = func() {
		if cmd != nil && cmd.Process != nil {
			cmd.Process.Kill()
			cmd.Wait()
			cmd = nil
		}
	}
	start()
	t.Cleanup(stop)
	return addr, start, stop
}

// TestRedisStoppedKeepsServing really stops Redis under a running server: sign-in, refresh and
// logout keep working (limits fall back to this instance, revocations to the log poll), and
// nothing breaks when Redis comes back.
func TestRedisStoppedKeepsServing(t *testing.T) {
	dbURL := testDatabase(t)
	raddr, startRedis, stopRedis := privateRedis(t)
	k := make([]byte, 32)
	rand.Read(k)
	env := map[string]string{"GATEHOUSE_KEK": base64.StdEncoding.EncodeToString(k), "GATEHOUSE_ADMIN_KEY": strings.Repeat("m", 40)}
	s := startServer(t, t.TempDir(), env, "--database-url", dbURL, "--redis-url", "redis://"+raddr+"/0")
	creds := map[string]string{"email": "nored@example.com", "password": "correct horse battery staple", "delivery": "token"}
	if res, m := postJSON(t, http.DefaultClient, s.url+"/v1/signup", creds); res.StatusCode != 201 {
		t.Fatalf("signup: %d %v", res.StatusCode, m)
	}
	flow := func(phase string) {
		t.Helper()
		res, tok := postJSON(t, http.DefaultClient, s.url+"/v1/login", creds)
		if res.StatusCode != 200 {
			t.Fatalf("%s: login %d %v", phase, res.StatusCode, tok)
		}
		r, err := http.PostForm(s.url+"/oauth/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {"gatehouse"}, "refresh_token": {tok["refresh_token"].(string)}})
		if err != nil || r.StatusCode != 200 {
			t.Fatalf("%s: refresh %v %v", phase, r, err)
		}
		r.Body.Close()
		at := tok["access_token"].(string)
		if res, _ := postJSON(t, http.DefaultClient, s.url+"/v1/logout", map[string]string{}, "Authorization", "Bearer "+at); res.StatusCode != 204 {
			t.Fatalf("%s: logout %d", phase, res.StatusCode)
		}
		if res, _ := get(t, http.DefaultClient, s.url+"/v1/session", "Authorization", "Bearer "+at); res.StatusCode != 401 {
			t.Fatalf("%s: session after logout %d (must never fail open)", phase, res.StatusCode)
		}
	}
	flow("redis up")
	stopRedis()
	flow("redis down")
	if res, _ := get(t, http.DefaultClient, s.url+"/readyz"); res.StatusCode != 200 {
		t.Fatalf("readyz with Redis down: %d (Redis is not the source of truth)", res.StatusCode)
	}
	startRedis()
	flow("redis back")
}
