package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestThreeInstances runs three servers on one PostgreSQL database and one Redis: sign in on A,
// refresh on B, list sessions on C; a logout on C reaches A's revocation stream within a
// second; a refresh race spread over all three yields exactly one successor.
func TestThreeInstances(t *testing.T) {
	dbURL := testDatabase(t)
	redisURL, prefix := testRedis(t)
	k := make([]byte, 32)
	rand.Read(k)
	admin := strings.Repeat("m", 40)
	env := map[string]string{"GATEHOUSE_KEK": base64.StdEncoding.EncodeToString(k), "GATEHOUSE_ADMIN_KEY": admin, "GATEHOUSE_REDIS_PREFIX": prefix}
	var inst [3]*server
	for i := range inst {
		inst[i] = startServer(t, t.TempDir(), env, "--database-url", dbURL, "--redis-url", redisURL)
	}
	a, b, c := inst[0], inst[1], inst[2]

	creds := map[string]string{"email": "three@example.com", "password": "correct horse battery staple", "delivery": "token"}
	if res, m := postJSON(t, http.DefaultClient, a.url+"/v1/signup", creds); res.StatusCode != 201 {
		t.Fatalf("signup on A: %d %v", res.StatusCode, m)
	}
	_, tok := postJSON(t, http.DefaultClient, a.url+"/v1/login", creds)
	refresh := func(srv *server, rt string) (int, map[string]any) {
		req, _ := http.NewRequest("POST", srv.url+"/oauth/token", strings.NewReader(url.Values{"grant_type": {"refresh_token"}, "client_id": {"gatehouse"}, "refresh_token": {rt}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, m := send(t, http.DefaultClient, req)
		return res.StatusCode, m
	}
	code, next := refresh(b, tok["refresh_token"].(string))
	if code != 200 {
		t.Fatalf("refresh on B: %d %v", code, next)
	}
	res, list := get(t, http.DefaultClient, c.url+"/v1/sessions", "Authorization", "Bearer "+next["access_token"].(string))
	if res.StatusCode != 200 || len(list["sessions"].([]any)) != 2 {
		t.Fatalf("sessions on C: %d %v", res.StatusCode, list)
	}

	// A's revocation stream sees a logout made on C.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", a.url+"/v1/revocations/stream", nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	stream, err := http.DefaultClient.Do(req)
	if err != nil || stream.StatusCode != 200 {
		t.Fatalf("stream on A: %v %v", stream, err)
	}
	defer stream.Body.Close()
	events := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(stream.Body)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				events <- d
			}
		}
	}()
	time.Sleep(100 * time.Millisecond) // the stream is subscribed
	sid := next["session_id"].(string)
	start := time.Now()
	if res, _ := postJSON(t, http.DefaultClient, c.url+"/v1/logout", map[string]string{}, "Authorization", "Bearer "+next["access_token"].(string)); res.StatusCode != 204 {
		t.Fatalf("logout on C: %d", res.StatusCode)
	}
	select {
	case d := <-events:
		if !strings.Contains(d, sid) {
			t.Fatalf("stream delivered %s, want session %s", d, sid)
		}
		t.Logf("logout on C reached A's stream after %v", time.Since(start))
	case <-time.After(time.Second):
		t.Fatal("A's stream did not deliver the logout made on C within a second")
	}

	// Ten refreshes of one token, spread over the three instances and released together.
	_, fresh := postJSON(t, http.DefaultClient, b.url+"/v1/login", creds)
	rt := fresh["refresh_token"].(string)
	var wg sync.WaitGroup
	startGun := make(chan struct{})
	got := make([]string, 10)
	codes := make([]int, 10)
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-startGun
			code, m := refresh(inst[i%3], rt)
			codes[i] = code
			got[i], _ = m["refresh_token"].(string)
		}()
	}
	close(startGun)
	wg.Wait()
	for i := range 10 {
		if codes[i] != 200 || got[i] != got[0] {
			t.Fatalf("racing refresh %d on instance %d: %d, successor equal to the first: %v", i, i%3, codes[i], got[i] == got[0])
		}
	}
	if code, _ := refresh(c, got[0]); code != 200 {
		t.Fatalf("the one successor does not work: %d", code)
	}
}
