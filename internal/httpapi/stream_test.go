package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
)

type sseEvent struct {
	id, event, data string
	comment         bool
}

// openStream connects to the revocation stream and returns its events on a channel.
func openStream(t *testing.T, e *env, lastID string) (<-chan sseEvent, func()) {
	t.Helper()
	return openStreamAs(t, e, lastID, adminKey)
}

// openStreamAs is openStream with another credential.
func openStreamAs(t *testing.T, e *env, lastID, cred string) (<-chan sseEvent, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/v1/revocations/stream", nil)
	req.Header.Set("Authorization", "Bearer "+cred)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	ch := make(chan sseEvent, 100)
	go func() {
		defer close(ch)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev != (sseEvent{}) {
					ch <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, ":"):
				ev.comment = true
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[6:]
			}
		}
	}()
	return ch, cancel
}

func nextRevocation(t *testing.T, ch <-chan sseEvent, within time.Duration) sseEvent {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatal("stream closed")
			}
			if ev.event == "revocation" {
				return ev
			}
		case <-deadline:
			t.Fatalf("no revocation event within %v", within)
		}
	}
}

func TestRevocationStream(t *testing.T) {
	e := newEnv(t, func(c *httpapi.Config, _ *ratelimit.Policy) { c.StreamHeartbeat = 20 * time.Millisecond })
	e.do("GET", "/v1/revocations/stream", nil).wantError(t, 401, "unauthorized")
	a := e.signup("a@example.com")
	b := e.login("a@example.com")

	ch, stop := openStream(t, e, "")
	e.do("POST", "/v1/logout", nil, withCookie(a)...).wantStatus(t, 204)
	ev := nextRevocation(t, ch, time.Second)
	var entry map[string]any
	json.Unmarshal([]byte(ev.data), &entry)
	if entry["sid"] == nil || entry["sub"] == nil || entry["until"] == nil || ev.id == "" {
		t.Fatalf("event: %+v", ev)
	}
	// Heartbeats keep an idle stream visibly alive.
	gotBeat := false
	for deadline := time.After(2 * time.Second); !gotBeat; {
		select {
		case x := <-ch:
			gotBeat = x.comment
		case <-deadline:
			t.Fatal("no heartbeat")
		}
	}
	stop()

	// A client that reconnects with Last-Event-ID gets exactly what it missed.
	e.do("POST", "/v1/logout", nil, withCookie(b)...).wantStatus(t, 204)
	ch2, stop2 := openStream(t, e, ev.id)
	defer stop2()
	missed := nextRevocation(t, ch2, time.Second)
	if missed.id == ev.id || !strings.Contains(missed.data, `"sid"`) {
		t.Fatalf("resume replayed %+v", missed)
	}
	e.do("GET", "/v1/revocations/stream?after=x", nil, asAdmin()...).wantError(t, 400, "invalid_request")
}

// TestRevocationStreamEndsWithItsKey: a stream opened with an access key ends (at its next
// heartbeat) once the key is deleted; reconnecting with it is refused.
func TestRevocationStreamEndsWithItsKey(t *testing.T) {
	e := newEnv(t, func(c *httpapi.Config, _ *ratelimit.Policy) { c.StreamHeartbeat = 20 * time.Millisecond })
	id, key := e.newKey(map[string]any{"name": "feed", "scopes": []string{httpapi.ScopeRevocations}})
	ch, stop := openStreamAs(t, e, "", key)
	defer stop()
	a := e.signup("a@example.com")
	e.do("POST", "/v1/logout", nil, withCookie(a)...).wantStatus(t, 204)
	nextRevocation(t, ch, time.Second)
	e.do("DELETE", "/v1/admin/access-keys/"+id, nil, asAdmin()...).wantStatus(t, 204)
	for deadline := time.After(2 * time.Second); ; {
		select {
		case _, open := <-ch:
			if !open {
				e.do("GET", "/v1/revocations/stream", nil, withBearer(key)...).wantError(t, 401, "unauthorized")
				return
			}
		case <-deadline:
			t.Fatal("the stream outlived its deleted key")
		}
	}
}
