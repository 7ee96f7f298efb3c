package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeGatehouse answers the endpoints loadgen uses and counts what it received; userinfo
// fails on purpose so that error counting is tested too.
type fakeGatehouse struct {
	mu        sync.Mutex
	hits      map[string]int64
	refreshOK atomic.Int64
	issued    sync.Map // refresh tokens handed out and not yet used
	next      atomic.Int64
}

func (f *fakeGatehouse) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.hits[r.URL.Path]++
	f.mu.Unlock()
	newRT := func() string {
		rt := fmt.Sprintf("rt%d", f.next.Add(1))
		f.issued.Store(rt, true)
		return rt
	}
	switch r.URL.Path {
	case "/v1/signup":
		http.SetCookie(w, &http.Cookie{Name: "__Host-gh_session", Value: "s.x"})
		w.WriteHeader(201)
	case "/v1/login":
		fmt.Fprintf(w, `{"access_token":"at","refresh_token":%q}`, newRT())
	case "/v1/session":
		if !strings.Contains(r.Header.Get("Cookie"), "__Host-gh_session=s.x") {
			w.WriteHeader(401)
		}
	case "/oauth/token":
		r.ParseForm()
		if _, ok := f.issued.LoadAndDelete(r.PostForm.Get("refresh_token")); !ok {
			w.WriteHeader(400) // loadgen must always present the latest token of its chain
			return
		}
		f.refreshOK.Add(1)
		fmt.Fprintf(w, `{"refresh_token":%q}`, newRT())
	case "/oauth/introspect":
		if r.Header.Get("Authorization") != "Bearer k" {
			w.WriteHeader(401)
		}
	case "/oauth/userinfo":
		w.WriteHeader(500)
	}
}

func TestScenariosCountWhatTheServerSaw(t *testing.T) {
	f := &fakeGatehouse{hits: map[string]int64{}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	rs, err := runScenarios(context.Background(), config{base: srv.URL, adminKey: "k", conc: 4, dur: 100 * time.Millisecond,
		scenarios: []string{"session", "refresh", "introspect", "userinfo"}})
	if err != nil {
		t.Fatal(err)
	}
	paths := map[string]string{"session": "/v1/session", "refresh": "/oauth/token", "introspect": "/oauth/introspect", "userinfo": "/oauth/userinfo"}
	for _, r := range rs {
		if r.n == 0 || r.rate <= 0 || r.p50 <= 0 || r.p99 < r.p50 {
			t.Fatalf("%s: %+v", r.name, r)
		}
		if got := f.hits[paths[r.name]]; got != r.n {
			t.Errorf("%s: reported %d requests, server saw %d", r.name, r.n, got)
		}
		wantErrs := int64(0)
		if r.name == "userinfo" {
			wantErrs = r.n
		}
		if r.errs != wantErrs {
			t.Errorf("%s: %d errors, want %d", r.name, r.errs, wantErrs)
		}
	}
	if f.refreshOK.Load() != rs[1].n {
		t.Fatalf("refresh chains broken: %d accepted of %d", f.refreshOK.Load(), rs[1].n)
	}
	var out bytes.Buffer
	print(&out, rs)
	if !strings.Contains(out.String(), "ratio-to-goal") || !strings.Contains(out.String(), "refresh") {
		t.Fatalf("report:\n%s", out.String())
	}
}

func TestSpreadsOverInstances(t *testing.T) {
	f1 := &fakeGatehouse{hits: map[string]int64{}}
	f2 := &fakeGatehouse{hits: map[string]int64{}}
	s1, s2 := httptest.NewServer(f1), httptest.NewServer(f2)
	defer s1.Close()
	defer s2.Close()
	// Refresh chains are issued by the first instance; the fake instances don't share a store,
	// so use the session scenario, which every instance answers.
	rs, err := runScenarios(context.Background(), config{base: s1.URL, bases: []string{s1.URL, s2.URL}, conc: 4, dur: 100 * time.Millisecond, scenarios: []string{"session"}})
	if err != nil {
		t.Fatal(err)
	}
	if f1.hits["/v1/session"] == 0 || f2.hits["/v1/session"] == 0 || f1.hits["/v1/session"]+f2.hits["/v1/session"] != rs[0].n {
		t.Fatalf("load not spread: %d + %d of %d", f1.hits["/v1/session"], f2.hits["/v1/session"], rs[0].n)
	}
}

func TestRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-c", "0"}, {"-d", "0s"}, {"-d", "1h"}, {"-scenarios", "nope", "-url", "http://127.0.0.1:1"}} {
		if err := run(args, &bytes.Buffer{}); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
