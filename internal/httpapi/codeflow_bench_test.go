package httpapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
)

// BenchmarkCodeFlow measures complete authorization code flows per second over loopback HTTP
// on SQLite: GET /oauth/authorize with a signed-in browser session (a remembered first-party
// client: no consent page), then POST /oauth/token with the code and PKCE verifier (a new
// session, an access token and an ID token).
func BenchmarkCodeFlow(b *testing.B) {
	const conc = 8
	d := 3 * time.Second
	e := newEnv(b, func(c *httpapi.Config, p *ratelimit.Policy) {
		unlimited := ratelimit.Limit{Burst: 1 << 30, Per: time.Nanosecond}
		p.PerIP, p.PerAccount, p.PerAccountIP = unlimited, unlimited, []ratelimit.Limit{unlimited}
	})
	e.signup("bench@example.com")
	cookie := e.login("bench@example.com")
	id, sec := e.registerClient("confidential", true, "openid", "email")
	cfg := rpConfig(e, id, sec, oauth2.AuthStyleInHeader, "openid", "email")
	client := keepAliveClient(conc)
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	flow := func(int) error {
		pkce := oauth2.GenerateVerifier()
		req, _ := http.NewRequest("GET", cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(pkce)), nil)
		req.AddCookie(cookie)
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		loc, err := url.Parse(res.Header.Get("Location"))
		if res.StatusCode != http.StatusFound || err != nil || loc.Query().Get("code") == "" {
			return fmt.Errorf("authorize: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		form := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "redirect_uri": {rpCallback}, "code_verifier": {pkce}}
		treq, _ := http.NewRequest("POST", e.srv.URL+"/oauth/token", strings.NewReader(form.Encode()))
		treq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		treq.SetBasicAuth(id, sec)
		var tr struct {
			IDToken string `json:"id_token"`
		}
		if err := call(client, treq, 200, &tr); err != nil {
			return err
		}
		if tr.IDToken == "" {
			b, _ := json.Marshal(tr)
			return fmt.Errorf("no id_token: %s", b)
		}
		return nil
	}
	for i := 0; i < b.N; i++ {
		rate := drive(b, conc, d, flow)
		b.ReportMetric(rate, "flows/s")
	}
}
