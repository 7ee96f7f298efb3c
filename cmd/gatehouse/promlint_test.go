package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
)

// TestMetricsPassPromlint scrapes the real /metrics of a running server after sign-up,
// login, refresh and a rate-limited request, and lints it with promlint (what
// `promtool check metrics` runs): names, units, _total suffixes and help strings. It also
// checks that the latency histograms are there and were fed.
func TestMetricsPassPromlint(t *testing.T) {
	s := startServer(t, t.TempDir(), nil)
	const pw = "correct horse battery staple"
	res, tok := postJSON(t, http.DefaultClient, s.url+"/v1/signup", map[string]string{"email": "lint@example.com", "password": pw, "delivery": "token"})
	if res.StatusCode != 201 {
		t.Fatalf("signup: %d %v", res.StatusCode, tok)
	}
	if res, m := postJSON(t, http.DefaultClient, s.url+"/v1/login", map[string]string{"email": "lint@example.com", "password": pw}); res.StatusCode != 200 {
		t.Fatalf("login: %d %v", res.StatusCode, m)
	}
	req, _ := http.NewRequest("POST", s.url+"/oauth/token", strings.NewReader(url.Values{
		"grant_type": {"refresh_token"}, "client_id": {"gatehouse"}, "refresh_token": {tok["refresh_token"].(string)}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if res, m := send(t, http.DefaultClient, req); res.StatusCode != 200 {
		t.Fatalf("refresh: %d %v", res.StatusCode, m)
	}
	limited := false
	for i := range 30 {
		res, _ := postJSON(t, http.DefaultClient, s.url+"/v1/signup", map[string]string{"email": fmt.Sprintf("l%d@example.com", i), "password": pw})
		if res.StatusCode == http.StatusTooManyRequests {
			limited = true
			break
		}
	}
	if !limited {
		t.Fatal("no sign-up was rate limited")
	}

	res, err := http.Get(s.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("/metrics: %d %v", res.StatusCode, err)
	}
	problems, err := promlint.New(strings.NewReader(string(body))).Lint()
	if err != nil {
		t.Fatalf("promlint could not parse /metrics: %v", err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	for _, want := range []string{
		`gatehouse_store_duration_seconds_count{op="select_sessions"}`,
		`gatehouse_store_duration_seconds_count{op="insert_users"}`,
		`gatehouse_password_hash_wait_seconds_count{lane=`,
		`gatehouse_ratelimit_refused_total{limit=`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
