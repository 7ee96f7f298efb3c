package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkClientCredentialsPostgres measures access-key exchanges (client_credentials with
// HTTP Basic) per second through a real server on PostgreSQL, and the refresh grant on the
// same server, interleaved in slices; it reports their ratio (the SQLite figure and its
// goal are internal/httpapi's BenchmarkClientCredentials).
func BenchmarkClientCredentialsPostgres(b *testing.B) {
	k := make([]byte, 32)
	rand.Read(k)
	admin := strings.Repeat("m", 40)
	s := startServer(b, b.TempDir(), map[string]string{"GATEHOUSE_KEK": base64.StdEncoding.EncodeToString(k), "GATEHOUSE_ADMIN_KEY": admin},
		"--database-url", testDatabase(b))
	creds := map[string]string{"email": "bench@example.com", "password": "correct horse battery staple", "delivery": "token"}
	postJSON(b, http.DefaultClient, s.url+"/v1/signup", creds)
	const conc, slices = 16, 4
	chains := make([]string, conc)
	for i := range chains {
		_, m := postJSON(b, http.DefaultClient, s.url+"/v1/login", creds)
		chains[i] = m["refresh_token"].(string)
	}
	res, m := postJSON(b, http.DefaultClient, s.url+"/v1/admin/access-keys", map[string]any{"name": "bench", "scopes": []string{"orders:read"}},
		"Authorization", "Bearer "+admin)
	if res.StatusCode != 201 {
		b.Fatalf("create key: %d %v", res.StatusCode, m)
	}
	authz := "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(m["id"].(string))+":"+url.QueryEscape(m["key"].(string))))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc}}
	post := func(body string, hdr ...string) (*http.Response, error) {
		req, _ := http.NewRequest("POST", s.url+"/oauth/token", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		return client.Do(req)
	}
	run := func(d time.Duration, do func(w int) bool) float64 {
		var n, bad atomic.Int64
		deadline := time.Now().Add(d)
		var wg sync.WaitGroup
		start := time.Now()
		for w := range conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(deadline) {
					if !do(w) {
						bad.Add(1)
						return
					}
					n.Add(1)
				}
			}()
		}
		wg.Wait()
		if bad.Load() > 0 {
			b.Fatalf("%d requests failed", bad.Load())
		}
		return float64(n.Load()) / time.Since(start).Seconds()
	}
	exchange := func(int) bool {
		res, err := post("grant_type=client_credentials&scope=orders%3Aread", "Authorization", authz)
		if err != nil {
			return false
		}
		var tr struct {
			AccessToken string `json:"access_token"`
		}
		err = json.NewDecoder(res.Body).Decode(&tr)
		res.Body.Close()
		return err == nil && res.StatusCode == 200 && tr.AccessToken != ""
	}
	refresh := func(w int) bool {
		res, err := post(url.Values{"grant_type": {"refresh_token"}, "client_id": {"gatehouse"}, "refresh_token": {chains[w]}}.Encode())
		if err != nil {
			return false
		}
		var tr struct {
			RefreshToken string `json:"refresh_token"`
		}
		err = json.NewDecoder(res.Body).Decode(&tr)
		res.Body.Close()
		if err != nil || res.StatusCode != 200 {
			return false
		}
		chains[w] = tr.RefreshToken
		return true
	}
	for i := 0; i < b.N; i++ {
		var cc, rf float64
		for range slices {
			cc += run(750*time.Millisecond, exchange) / slices
			rf += run(750*time.Millisecond, refresh) / slices
		}
		b.ReportMetric(cc, "exchanges/s")
		b.ReportMetric(rf, "refresh/s")
		b.ReportMetric(cc/rf, "ratio-to-refresh")
	}
}
