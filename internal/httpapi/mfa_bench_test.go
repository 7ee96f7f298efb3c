package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi"
	"github.com/gatehouse-auth/gatehouse/internal/mfa"
	"github.com/gatehouse-auth/gatehouse/internal/password"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
)

// BenchmarkLoginMFA measures a sign-in with a second factor end to end over loopback HTTP on
// SQLite (POST /v1/login → 403 mfa_required, then POST /v1/login/mfa with a TOTP code →
// session cookie), with the production argon2id parameters, against password-only sign-ins
// of users without a factor in the same run. The second step costs no password hash, so the
// ratio should stay near 1 (docs/performance.md).
func BenchmarkLoginMFA(b *testing.B) {
	h, err := password.New(password.Config{Params: password.DefaultParams, QueueSize: 1000, QueueTimeout: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	e := newEnv(b, func(c *httpapi.Config, p *ratelimit.Policy) {
		unlimited := ratelimit.Limit{Burst: 1 << 30, Per: time.Nanosecond}
		p.PerIP, p.PerAccount, p.PerAccountIP, p.Signup, p.SignupAll = unlimited, unlimited, []ratelimit.Limit{unlimited}, unlimited, unlimited
	})
	e.hasher.h = h
	const accounts, conc = 16, 8
	seeds := make([][]byte, accounts)
	for i := range accounts {
		seeds[i], _ = e.enrolHTTP(e.signup(fmt.Sprintf("m%d@example.com", i)))
		e.signup(fmt.Sprintf("p%d@example.com", i))
	}
	client := keepAliveClient(conc)
	post := func(path, body string, want int, v any) error {
		req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		return call(client, req, want, v)
	}
	run := func(total int, one func(i int) error) float64 {
		var next, bad atomic.Int64
		var first atomic.Value
		var wg sync.WaitGroup
		start := time.Now()
		for range conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := next.Add(1); j <= int64(total); j = next.Add(1) {
					if err := one(int(j - 1)); err != nil {
						bad.Add(1)
						first.CompareAndSwap(nil, err)
					}
				}
			}()
		}
		wg.Wait()
		if bad.Load() > 0 {
			b.Fatalf("%d sign-ins failed, first: %v", bad.Load(), first.Load())
		}
		return float64(total) / time.Since(start).Seconds()
	}
	for i := 0; i < b.N; i++ {
		e.clock.Add(3 * mfa.Period) // every account's code is new in this round
		withMFA := run(accounts, func(j int) error {
			var mr struct {
				MFAToken string `json:"mfa_token"`
			}
			if err := post("/v1/login", fmt.Sprintf(`{"email":"m%d@example.com","password":%q}`, j, goodPassword), http.StatusForbidden, &mr); err != nil {
				return err
			}
			body, _ := json.Marshal(map[string]string{"mfa_token": mr.MFAToken, "code": mfa.Code(seeds[j], e.clock.Now())})
			return post("/v1/login/mfa", string(body), http.StatusOK, nil)
		})
		plain := run(accounts, func(j int) error {
			return post("/v1/login", fmt.Sprintf(`{"email":"p%d@example.com","password":%q}`, j, goodPassword), http.StatusOK, nil)
		})
		b.ReportMetric(withMFA, "mfa-logins/s")
		b.ReportMetric(plain, "password-logins/s")
		b.ReportMetric(withMFA/plain, "ratio-to-password-only")
	}
}

// BenchmarkSecondStep measures POST /v1/login/mfa alone (no password hash): mfa_token lookup,
// TOTP check, the used-code mark, the token's consume and a new session, on SQLite.
func BenchmarkSecondStep(b *testing.B) {
	e := newEnv(b, func(c *httpapi.Config, p *ratelimit.Policy) {
		unlimited := ratelimit.Limit{Burst: 1 << 30, Per: time.Nanosecond}
		p.PerIP, p.PerAccount, p.PerAccountIP, p.Signup, p.SignupAll = unlimited, unlimited, []ratelimit.Limit{unlimited}, unlimited, unlimited
	})
	const accounts = 64
	seeds := make([][]byte, accounts)
	for i := range accounts {
		seeds[i], _ = e.enrolHTTP(e.signup(fmt.Sprintf("s%d@example.com", i)))
	}
	client := keepAliveClient(1)
	b.ResetTimer()
	var spent time.Duration
	for i := 0; i < b.N; i++ {
		j := i % accounts
		if j == 0 {
			e.clock.Add(3 * mfa.Period)
		}
		var mr struct {
			MFAToken string `json:"mfa_token"`
		}
		req, _ := http.NewRequest("POST", e.srv.URL+"/v1/login", strings.NewReader(fmt.Sprintf(`{"email":"s%d@example.com","password":%q}`, j, goodPassword)))
		req.Header.Set("Content-Type", "application/json")
		if err := call(client, req, http.StatusForbidden, &mr); err != nil {
			b.Fatal(err)
		}
		body, _ := json.Marshal(map[string]string{"mfa_token": mr.MFAToken, "code": mfa.Code(seeds[j], e.clock.Now())})
		req, _ = http.NewRequest("POST", e.srv.URL+"/v1/login/mfa", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		t0 := time.Now()
		if err := call(client, req, http.StatusOK, nil); err != nil {
			b.Fatal(err)
		}
		spent += time.Since(t0)
	}
	b.ReportMetric(float64(spent.Microseconds())/float64(b.N), "second-step-µs")
}
