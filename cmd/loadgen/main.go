// Command loadgen drives a running Gatehouse over HTTP with concurrent clients for a fixed time
// per scenario and prints requests/s, p50/p99 latency, errors, and the ratio to the goal of
// docs/performance.md where there is one. It only talks to the address it is given (loopback in
// tests and benchmarks) and stops by itself.
//
//	go run ./cmd/loadgen -url http://127.0.0.1:8080 -admin-key $KEY -d 10s -c 16
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// result is one scenario's outcome.
type result struct {
	name     string
	n, errs  int64
	rate     float64
	p50, p99 time.Duration
	goal     float64 // requests/s; 0 = no absolute goal
}

type config struct {
	base      string   // the first instance: setup runs there
	bases     []string // every instance; client w talks to bases[w % len]
	adminKey  string
	conc      int
	dur       time.Duration
	scenarios []string
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	base := fs.String("url", "http://127.0.0.1:8080", "Gatehouse base URL, or several comma-separated (instances sharing one store): each client sticks to one")
	admin := fs.String("admin-key", os.Getenv("GATEHOUSE_ADMIN_KEY"), "management key (introspection scenario)")
	conc := fs.Int("c", 16, "concurrent clients")
	dur := fs.Duration("d", 5*time.Second, "duration of each scenario")
	which := fs.String("scenarios", "session,refresh,introspect,userinfo,login", "comma-separated scenarios")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *conc < 1 || *dur <= 0 || *dur > 10*time.Minute {
		return errors.New("want -c ≥ 1 and 0 < -d ≤ 10m")
	}
	cfg := config{adminKey: *admin, conc: *conc, dur: *dur, scenarios: strings.Split(*which, ",")}
	for _, u := range strings.Split(*base, ",") {
		cfg.bases = append(cfg.bases, strings.TrimRight(strings.TrimSpace(u), "/"))
	}
	cfg.base = cfg.bases[0]
	results, err := runScenarios(context.Background(), cfg)
	if err != nil {
		return err
	}
	print(out, results)
	return nil
}

// fixture is the account and credentials the scenarios use.
type fixture struct {
	email, password string
	cookie          string
	access          string
	refresh         []string // one chain per client
}

func runScenarios(ctx context.Context, cfg config) ([]result, error) {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: cfg.conc * 2, MaxConnsPerHost: cfg.conc * 2}}
	fx, err := setup(ctx, client, cfg)
	if err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	var out []result
	for _, name := range cfg.scenarios {
		var do func(worker int) error
		goal := 0.0
		switch strings.TrimSpace(name) {
		case "session":
			do = func(w int) error {
				req, _ := http.NewRequestWithContext(ctx, "GET", cfg.at(w)+"/v1/session", nil)
				req.Header.Set("Cookie", fx.cookie)
				return call(client, req, 200, nil)
			}
		case "refresh":
			goal = 5000 // SQLite; 2,500 on PostgreSQL (docs/performance.md)
			do = func(w int) error {
				req := form(ctx, cfg.at(w)+"/oauth/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {"gatehouse"}, "refresh_token": {fx.refresh[w]}})
				var tr struct {
					RefreshToken string `json:"refresh_token"`
				}
				if err := call(client, req, 200, &tr); err != nil {
					return err
				}
				fx.refresh[w] = tr.RefreshToken
				return nil
			}
		case "introspect":
			if cfg.adminKey == "" {
				continue
			}
			do = func(w int) error {
				req := form(ctx, cfg.at(w)+"/oauth/introspect", url.Values{"token": {fx.access}})
				req.Header.Set("Authorization", "Bearer "+cfg.adminKey)
				return call(client, req, 200, nil)
			}
		case "userinfo":
			do = func(w int) error {
				req, _ := http.NewRequestWithContext(ctx, "GET", cfg.at(w)+"/oauth/userinfo", nil)
				req.Header.Set("Authorization", "Bearer "+fx.access)
				return call(client, req, 200, nil)
			}
		case "login":
			// Sign-in is argon2id-bound and rate-limited per account and IP: expect 429s from
			// one client address unless the server trusts this host as a proxy.
			do = func(w int) error {
				b, _ := json.Marshal(map[string]string{"email": fx.email, "password": fx.password})
				req, _ := http.NewRequestWithContext(ctx, "POST", cfg.at(w)+"/v1/login", strings.NewReader(string(b)))
				req.Header.Set("Content-Type", "application/json")
				return call(client, req, 200, nil)
			}
		default:
			return nil, fmt.Errorf("unknown scenario %q", name)
		}
		r := drive(cfg.conc, cfg.dur, do)
		r.name, r.goal = strings.TrimSpace(name), goal
		out = append(out, r)
	}
	return out, nil
}

// setup signs up (or in) a benchmark account and prepares one refresh chain per client.
func setup(ctx context.Context, client *http.Client, cfg config) (*fixture, error) {
	fx := &fixture{email: fmt.Sprintf("loadgen-%d@example.com", time.Now().UnixNano()), password: "loadgen correct horse battery"}
	body := func(delivery string) string {
		b, _ := json.Marshal(map[string]string{"email": fx.email, "password": fx.password, "delivery": delivery})
		return string(b)
	}
	res, err := client.Post(cfg.base+"/v1/signup", "application/json", strings.NewReader(body("cookie")))
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != 201 {
		return nil, fmt.Errorf("signup: status %d", res.StatusCode)
	}
	for _, c := range res.Cookies() {
		fx.cookie = c.Name + "=" + c.Value
	}
	for i := range cfg.conc {
		var tr struct {
			Access  string `json:"access_token"`
			Refresh string `json:"refresh_token"`
		}
		req, _ := http.NewRequestWithContext(ctx, "POST", cfg.base+"/v1/login", strings.NewReader(body("token")))
		req.Header.Set("Content-Type", "application/json")
		if err := call(client, req, 200, &tr); err != nil {
			return nil, fmt.Errorf("token login %d (rate limits allow ~20 per IP; lower -c): %w", i, err)
		}
		fx.access = tr.Access
		fx.refresh = append(fx.refresh, tr.Refresh)
	}
	return fx, nil
}

// at is the instance client w talks to.
func (c config) at(w int) string {
	if len(c.bases) == 0 {
		return c.base
	}
	return c.bases[w%len(c.bases)]
}

func form(ctx context.Context, u string, v url.Values) *http.Request {
	req, _ := http.NewRequestWithContext(ctx, "POST", u, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

// call sends req, decodes the answer into v (if not nil) and checks the status.
func call(client *http.Client, req *http.Request, want int, v any) error {
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if v != nil && res.StatusCode == want {
		err = json.NewDecoder(res.Body).Decode(v)
	} else {
		_, err = io.Copy(io.Discard, res.Body)
	}
	if res.StatusCode != want {
		return fmt.Errorf("status %d", res.StatusCode)
	}
	return err
}

// drive runs do from conc workers for d and measures it. A failing worker keeps going (the
// error is counted), so a scenario reports its error rate instead of stopping at the first.
func drive(conc int, d time.Duration, do func(worker int) error) result {
	var n, errs atomic.Int64
	lat := make([][]time.Duration, conc)
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				t0 := time.Now()
				err := do(w)
				lat[w] = append(lat[w], time.Since(t0))
				n.Add(1)
				if err != nil {
					errs.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	r := result{n: n.Load(), errs: errs.Load(), rate: float64(n.Load()) / el.Seconds()}
	if len(all) > 0 {
		r.p50, r.p99 = all[len(all)/2], all[len(all)*99/100]
	}
	return r
}

func print(out io.Writer, rs []result) {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\trequests\treq/s\tp50\tp99\terrors\tratio-to-goal\t")
	for _, r := range rs {
		ratio := "-"
		if r.goal > 0 {
			ratio = fmt.Sprintf("%.2f", r.rate/r.goal)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%v\t%v\t%d\t%s\t\n", r.name, r.n, r.rate, r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), r.errs, ratio)
	}
	tw.Flush()
}
