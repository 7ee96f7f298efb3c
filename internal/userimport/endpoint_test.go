package userimport_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/clock"
	"github.com/gatehouse-auth/gatehouse/internal/userimport"
)

// legacySystem is a fake old identity provider: it checks Gatehouse's signature with its
// own HMAC code (not the package's) and knows one password.
type legacySystem struct {
	secret []byte
	now    func() time.Time
	calls  atomic.Int64
	status atomic.Int64 // forced status, 0: answer normally
}

func (l *legacySystem) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.calls.Add(1)
	if s := l.status.Load(); s != 0 {
		w.WriteHeader(int(s))
		return
	}
	body, _ := io.ReadAll(r.Body)
	var ts, sig string
	for _, part := range strings.Split(r.Header.Get("Gatehouse-Signature"), ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	m := hmac.New(sha256.New, l.secret)
	m.Write([]byte(ts + "." + string(body)))
	t, err := strconv.ParseInt(ts, 10, 64)
	if got, _ := hex.DecodeString(sig); err != nil || !hmac.Equal(got, m.Sum(nil)) || l.now().Sub(time.Unix(t, 0)).Abs() > 5*time.Minute {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var in struct{ Email, Password string }
	if r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(body, &in) != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	ok := in.Email == "old@example.com" && in.Password == "old password 1"
	json.NewEncoder(w).Encode(map[string]any{"ok": ok, "email_verified": true, "name": "Old User"})
}

func TestPasswordEndpoint(t *testing.T) {
	clk := clock.NewFake(t0)
	legacy := &legacySystem{secret: []byte("shared secret of the two systems"), now: clk.Now}
	srv := httptest.NewTLSServer(legacy)
	defer srv.Close()
	ep := userimport.NewPasswordEndpoint(srv.URL, legacy.secret, srv.Client(), clk.Now)
	ctx := context.Background()

	if ok, verified, err := ep.CheckPassword(ctx, "old@example.com", "old password 1"); !ok || !verified || err != nil {
		t.Fatalf("right password: %v %v %v", ok, verified, err)
	}
	if ok, _, err := ep.CheckPassword(ctx, "old@example.com", "old password 2"); ok || err != nil {
		t.Fatalf("wrong password: %v %v", ok, err)
	}
	// A wrong secret: the endpoint refuses the signature; that is an error, never a yes.
	bad := userimport.NewPasswordEndpoint(srv.URL, []byte("another secret"), srv.Client(), clk.Now)
	if ok, _, err := bad.CheckPassword(ctx, "old@example.com", "old password 1"); ok || err == nil {
		t.Fatalf("wrong secret: %v %v", ok, err)
	}
	// A stale timestamp is refused by the endpoint too.
	stale := userimport.NewPasswordEndpoint(srv.URL, legacy.secret, srv.Client(), func() time.Time { return t0.Add(-time.Hour) })
	if ok, _, err := stale.CheckPassword(ctx, "old@example.com", "old password 1"); ok || err == nil {
		t.Fatalf("stale signature: %v %v", ok, err)
	}
	// Plain HTTP to a TLS server, or a server that is not there: errors.
	if ok, _, err := userimport.NewPasswordEndpoint("https://127.0.0.1:1/", legacy.secret, nil, clk.Now).CheckPassword(ctx, "a@b.c", "x"); ok || err == nil {
		t.Fatalf("no server: %v %v", ok, err)
	}

	// The endpoint fails: after 5 failures in a row it is left alone for 30 s.
	legacy.status.Store(http.StatusBadGateway)
	before := legacy.calls.Load()
	for i := range 7 {
		ok, _, err := ep.CheckPassword(ctx, "old@example.com", "old password 1")
		if ok || err == nil {
			t.Fatalf("call %d while failing: %v %v", i, ok, err)
		}
		if i >= 5 && !errors.Is(err, userimport.ErrEndpointUnavailable) {
			t.Fatalf("call %d: %v, want the breaker open", i, err)
		}
	}
	if n := legacy.calls.Load() - before; n != 5 {
		t.Fatalf("the failing endpoint was asked %d times, want 5", n)
	}
	legacy.status.Store(0)
	clk.Add(31 * time.Second)
	if ok, _, err := ep.CheckPassword(ctx, "old@example.com", "old password 1"); !ok || err != nil {
		t.Fatalf("after the breaker closed: %v %v", ok, err)
	}
}

// A redirect is not followed: the password must go to the configured URL only.
func TestPasswordEndpointNoRedirect(t *testing.T) {
	var hit atomic.Bool
	target := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hit.Store(true)
		w.Write([]byte(`{"ok":true}`))
	}))
	defer target.Close()
	redir := httptest.NewTLSServer(http.RedirectHandler(target.URL, http.StatusTemporaryRedirect))
	defer redir.Close()
	ep := userimport.NewPasswordEndpoint(redir.URL, []byte("s"), redir.Client(), now)
	if ok, _, err := ep.CheckPassword(context.Background(), "a@example.com", "pw"); ok || err == nil || hit.Load() {
		t.Fatalf("redirect: ok=%v err=%v followed=%v", ok, err, hit.Load())
	}
}
