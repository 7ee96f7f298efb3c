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

// BenchmarkRefreshPostgres measures refresh grants per second through a real server on
// PostgreSQL (docs/performance.md goal: ≥ 2,500/s on 2 cores), 16 clients each rotating its own chain.
// It also runs with Redis when one is reachable, reported separately.
func BenchmarkRefreshPostgres(b *testing.B) {
	for _, withRedis := range []bool{false, true} {
		name := "postgres"
		if withRedis {
			name = "postgres+redis"
		}
		b.Run(name, func(b *testing.B) {
			k := make([]byte, 32)
			rand.Read(k)
			env := map[string]string{"GATEHOUSE_KEK": base64.StdEncoding.EncodeToString(k), "GATEHOUSE_ADMIN_KEY": strings.Repeat("m", 40)}
			args := []string{"--database-url", testDatabase(b)}
			if withRedis {
				u, prefix := testRedis(b)
				env["GATEHOUSE_REDIS_PREFIX"] = prefix
				args = append(args, "--redis-url", u)
			}
			s := startServer(b, b.TempDir(), env, args...)
			creds := map[string]string{"email": "bench@example.com", "password": "correct horse battery staple", "delivery": "token"}
			postJSON(b, http.DefaultClient, s.url+"/v1/signup", creds)
			const conc = 16
			chains := make([]string, conc)
			for i := range chains {
				_, m := postJSON(b, http.DefaultClient, s.url+"/v1/login", creds)
				rt, ok := m["refresh_token"].(string)
				if !ok {
					b.Fatalf("login %d: %v", i, m)
				}
				chains[i] = rt
			}
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc}}
			for i := 0; i < b.N; i++ {
				var n, bad atomic.Int64
				deadline := time.Now().Add(3 * time.Second)
				var wg sync.WaitGroup
				start := time.Now()
				for w := range conc {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for time.Now().Before(deadline) {
							body := url.Values{"grant_type": {"refresh_token"}, "client_id": {"gatehouse"}, "refresh_token": {chains[w]}}.Encode()
							res, err := client.Post(s.url+"/oauth/token", "application/x-www-form-urlencoded", strings.NewReader(body))
							if err != nil {
								bad.Add(1)
								return
							}
							var tr struct {
								RefreshToken string `json:"refresh_token"`
							}
							err = json.NewDecoder(res.Body).Decode(&tr)
							res.Body.Close()
							if err != nil || res.StatusCode != 200 {
								bad.Add(1)
								return
							}
							chains[w] = tr.RefreshToken
							n.Add(1)
						}
					}()
				}
				wg.Wait()
				if bad.Load() > 0 {
					b.Fatalf("%d refreshes failed", bad.Load())
				}
				rate := float64(n.Load()) / time.Since(start).Seconds()
				b.ReportMetric(rate, "refresh/s")
				b.ReportMetric(rate/2500, "ratio-to-goal(2500/s)")
			}
		})
	}
}
