package main

import (
	"crypto/rand"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// cutProxy forwards TCP to a target until cut: then it drops every connection and refuses
// new ones, as a crashed or partitioned database would look.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  map[net.Conn]struct{}
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	t.Cleanup(func() { ln.Close(); p.setCut(true) })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			if p.cut {
				p.mu.Unlock()
				c.Close()
				continue
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				p.mu.Unlock()
				c.Close()
				continue
			}
			p.conns[c], p.conns[up] = struct{}{}, struct{}{}
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	return p
}

func (p *cutProxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
}

// TestPostgresOutageFailsClosedAndRecovers cuts the database away from a running server:
// every credential path answers 503 temporarily_unavailable promptly (never a success), and
// everything works again once the database is back, without a restart.
func TestPostgresOutageFailsClosedAndRecovers(t *testing.T) {
	dbURL := testDatabase(t)
	u, _ := url.Parse(dbURL)
	proxy := newCutProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	k := make([]byte, 32)
	rand.Read(k)
	admin := strings.Repeat("m", 40)
	env := map[string]string{"GATEHOUSE_KEK": base64.StdEncoding.EncodeToString(k), "GATEHOUSE_ADMIN_KEY": admin}
	s := startServer(t, t.TempDir(), env, "--database-url", u.String())

	creds := map[string]string{"email": "down@example.com", "password": "correct horse battery staple", "delivery": "token"}
	res, tok := postJSON(t, http.DefaultClient, s.url+"/v1/signup", creds)
	if res.StatusCode != 201 {
		t.Fatalf("signup: %d %v", res.StatusCode, tok)
	}
	refresh := func(rt string) (*http.Response, map[string]any) {
		req, _ := http.NewRequest("POST", s.url+"/oauth/token", strings.NewReader(url.Values{"grant_type": {"refresh_token"}, "client_id": {"gatehouse"}, "refresh_token": {rt}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return send(t, http.DefaultClient, req)
	}
	introspect := func(at string) (*http.Response, map[string]any) {
		req, _ := http.NewRequest("POST", s.url+"/oauth/introspect", strings.NewReader("token="+url.QueryEscape(at)))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+admin)
		return send(t, http.DefaultClient, req)
	}
	access := tok["access_token"].(string)
	if res, m := introspect(access); res.StatusCode != 200 || m["active"] != true {
		t.Fatalf("introspect before outage: %d %v", res.StatusCode, m)
	}

	proxy.setCut(true)
	time.Sleep(300 * time.Millisecond) // the revocation follower notices and drops its cache
	check := func(name string, res *http.Response, m map[string]any, took time.Duration) {
		t.Helper()
		if res.StatusCode != 503 || m["error"] != "temporarily_unavailable" {
			t.Errorf("%s during outage: %d %v", name, res.StatusCode, m)
		}
		if m["active"] == true {
			t.Errorf("%s said active:true during the outage", name)
		}
		if took > 12*time.Second {
			t.Errorf("%s took %v (unbounded)", name, took)
		}
	}
	for name, call := range map[string]func() (*http.Response, map[string]any){
		"login": func() (*http.Response, map[string]any) {
			return postJSON(t, http.DefaultClient, s.url+"/v1/login", creds)
		},
		"refresh":    func() (*http.Response, map[string]any) { return refresh(tok["refresh_token"].(string)) },
		"introspect": func() (*http.Response, map[string]any) { return introspect(access) },
		"session": func() (*http.Response, map[string]any) {
			return get(t, http.DefaultClient, s.url+"/v1/session", "Authorization", "Bearer "+access)
		},
		"readyz": func() (*http.Response, map[string]any) { return get(t, http.DefaultClient, s.url+"/readyz") },
		"revoke": func() (*http.Response, map[string]any) {
			req, _ := http.NewRequest("POST", s.url+"/oauth/revoke", strings.NewReader(url.Values{"client_id": {"gatehouse"}, "token": {tok["refresh_token"].(string)}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return send(t, http.DefaultClient, req)
		},
	} {
		start := time.Now()
		res, m := call()
		check(name, res, m, time.Since(start))
	}
	if res, _ := get(t, http.DefaultClient, s.url+"/healthz"); res.StatusCode != 200 {
		t.Fatalf("healthz during outage: %d (the process is alive)", res.StatusCode)
	}

	proxy.setCut(false)
	deadline := time.Now().Add(15 * time.Second)
	for {
		res, _ := get(t, http.DefaultClient, s.url+"/readyz")
		if res.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("did not recover after the database came back")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if res, m := refresh(tok["refresh_token"].(string)); res.StatusCode != 200 {
		t.Fatalf("refresh after recovery: %d %v", res.StatusCode, m)
	}
	if res, m := postJSON(t, http.DefaultClient, s.url+"/v1/login", creds); res.StatusCode != 200 {
		t.Fatalf("login after recovery: %d %v", res.StatusCode, m)
	}
}
