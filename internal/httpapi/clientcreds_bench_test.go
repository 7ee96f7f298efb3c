package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
)

// BenchmarkClientCredentials measures access-key exchanges (client_credentials, HTTP Basic as
// golang.org/x/oauth2 sends it) per second through HTTP on SQLite (docs/performance.md goal:
// ≥ 5,000/s on 2 cores: one SHA-256, one indexed read, one signature), and the refresh grant
// on the same server, interleaved in slices so that both see the same machine. "owned" keys
// add the owner check (one more indexed read).
func BenchmarkClientCredentials(b *testing.B) {
	const conc, slices = 16, 4
	slice := 750 * time.Millisecond
	for _, owned := range []bool{false, true} {
		name := "ownerless"
		if owned {
			name = "owned"
		}
		b.Run(name, func(b *testing.B) {
			e := newEnv(b, func(c *httpapi.Config, p *ratelimit.Policy) {
				unlimited := ratelimit.Limit{Burst: 1 << 30, Per: time.Nanosecond}
				p.PerIP, p.PerAccount, p.PerAccountIP = unlimited, unlimited, []ratelimit.Limit{unlimited}
				c.Buckets = ratelimit.NewMemory(0) // the failed-key allowance is read on every exchange
			})
			e.signup("bench@example.com")
			spec := map[string]any{"name": "bench", "scopes": []string{"orders:read"}}
			if owned {
				spec["user_id"] = e.do("GET", "/v1/admin/users?email=bench@example.com", nil, asAdmin()...).json(b)["users"].([]any)[0].(map[string]any)["id"]
			}
			id, key := e.newKey(spec)
			authz := basic(id, key)[1]
			client := keepAliveClient(conc)
			chains := make([]string, conc)
			for i := range chains {
				chains[i] = e.tokenLogin("bench@example.com").Refresh
			}
			exchange := func(int) error {
				req, _ := http.NewRequest("POST", e.srv.URL+"/oauth/token", strings.NewReader("grant_type=client_credentials&scope=orders%3Aread"))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Authorization", authz)
				return call(client, req, 200, nil)
			}
			refresh := func(w int) error {
				body := url.Values{"grant_type": {"refresh_token"}, "client_id": {"gatehouse"}, "refresh_token": {chains[w]}}.Encode()
				req, _ := http.NewRequest("POST", e.srv.URL+"/oauth/token", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				var tr struct {
					RefreshToken string `json:"refresh_token"`
				}
				if err := call(client, req, 200, &tr); err != nil {
					return err
				}
				chains[w] = tr.RefreshToken
				return nil
			}
			for i := 0; i < b.N; i++ {
				var cc, rf float64
				for range slices {
					cc += drive(b, conc, slice, exchange) / slices
					rf += drive(b, conc, slice, refresh) / slices
				}
				b.ReportMetric(cc, "exchanges/s")
				b.ReportMetric(cc/5000, "ratio-to-goal(5000/s)")
				b.ReportMetric(rf, "refresh/s")
				b.ReportMetric(cc/rf, "ratio-to-refresh")
			}
		})
	}
}
