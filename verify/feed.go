package verify

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// FeedPolicy says what Verify does when the revocation feed has not been reached for longer
// than the staleness limit.
type FeedPolicy int

const (
	// FailClosed (the default) rejects every token with ErrFeedStale until the feed is back:
	// a revocation could have been missed.
	FailClosed FeedPolicy = iota
	// FailOpen keeps accepting tokens (until they expire) while the feed is unreachable:
	// availability over prompt revocation.
	FailOpen
)

// WithCredentials is how the Verifier authenticates to the issuer: an access key (made with
// POST /v1/admin/access-keys, or by a user at /v1/access-keys) with the scope
// gatehouse:revocations, to follow the revocation feed, and gatehouse:introspect, if
// VerifySession is used. No resource server needs the management key. It turns the
// revocation feed on, as WithRevocationFeed does.
func WithCredentials(accessKey string) Option {
	return func(o *options) { o.feedCred = accessKey }
}

// WithRevocationFeed makes the Verifier follow the issuer's revocation feed
// (/v1/revocations/stream, falling back to polling /v1/revocations) with credential as a
// bearer token (an access key with the scope gatehouse:revocations, or the management key),
// and reject tokens whose session (sid) or id (jti) was revoked, or that were minted from an
// access key since deleted or whose owner was disabled (client_id). Without it, a revoked
// token stays valid until it expires.
func WithRevocationFeed(credential string) Option {
	return func(o *options) { o.feedCred = credential }
}

// WithFeedPolicy sets what happens when the feed has been unreachable for longer than
// staleAfter (default: FailClosed after 60 s).
func WithFeedPolicy(p FeedPolicy, staleAfter time.Duration) Option {
	return func(o *options) { o.feedPolicy, o.staleAfter = p, staleAfter }
}

// feed follows the revocation feed into two sets (sid, jti) of entries with expiry.
type feed struct {
	base   string
	opt    options
	ctx    context.Context
	cancel context.CancelFunc

	mu          sync.RWMutex
	sids, jtis  map[string]time.Time // value: until
	clients     map[string]clientEntry
	cursor      string
	lastContact time.Time
}

// clientEntry merges the entries of one access key: its tokens issued before `before`
// (Unix seconds; 0: all of them) are revoked until `until`.
type clientEntry struct {
	before int64
	until  time.Time
}

func newFeed(issuer string, o options) *feed {
	ctx, cancel := context.WithCancel(context.Background())
	// Until first contact the feed counts as fresh from now: New just reached the issuer.
	return &feed{base: issuer, opt: o, ctx: ctx, cancel: cancel, sids: map[string]time.Time{}, jtis: map[string]time.Time{},
		clients: map[string]clientEntry{}, lastContact: o.now()}
}

func (f *feed) stop() { f.cancel() }

// check rejects a revoked token, or every token when the feed is stale and the policy says so.
func (f *feed) check(c *Claims, now time.Time) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if until, ok := f.sids[c.SessionID]; ok && c.SessionID != "" && now.Before(until) {
		return ErrRevoked
	}
	if until, ok := f.jtis[c.ID]; ok && c.ID != "" && now.Before(until) {
		return ErrRevoked
	}
	if e, ok := f.clients[c.ClientID]; ok && c.ClientID != "" && now.Before(e.until) && (e.before == 0 || c.IssuedAt.Unix() < e.before) {
		return ErrRevoked
	}
	if f.opt.feedPolicy == FailClosed && now.Sub(f.lastContact) > f.opt.staleAfter {
		return ErrFeedStale
	}
	return nil
}

// entry is one entry of the feed. sub is informational and revokes nothing by itself.
type entry struct {
	SID          string `json:"sid"`
	JTI          string `json:"jti"`
	ClientID     string `json:"client_id"`
	IssuedBefore int64  `json:"issued_before"`
	Until        int64  `json:"until"`
}

func (f *feed) add(e entry, cursor string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	until := time.Unix(e.Until, 0)
	if e.SID != "" {
		f.sids[e.SID] = until
	}
	if e.JTI != "" {
		f.jtis[e.JTI] = until
	}
	if e.ClientID != "" {
		// Entries for one key come with growing issued_before and until: keep the largest
		// of each (0, "every token", being the largest), which is their union.
		c, seen := f.clients[e.ClientID]
		if !seen || e.IssuedBefore == 0 || (c.before != 0 && e.IssuedBefore > c.before) {
			c.before = e.IssuedBefore
		}
		if until.After(c.until) {
			c.until = until
		}
		f.clients[e.ClientID] = c
	}
	if cursor != "" {
		f.cursor = cursor
	}
	f.lastContact = f.opt.now()
}

func (f *feed) contact() {
	f.mu.Lock()
	f.lastContact = f.opt.now()
	now := f.lastContact
	// Forget entries whose tokens have all expired.
	for k, u := range f.sids {
		if now.After(u) {
			delete(f.sids, k)
		}
	}
	for k, u := range f.jtis {
		if now.After(u) {
			delete(f.jtis, k)
		}
	}
	for k, c := range f.clients {
		if now.After(c.until) {
			delete(f.clients, k)
		}
	}
	f.mu.Unlock()
}

// run keeps the stream open, resuming from the last cursor; when the stream fails it polls
// once (to catch up) and retries after a second.
func (f *feed) run() {
	for f.ctx.Err() == nil {
		f.stream()
		if f.ctx.Err() != nil {
			return
		}
		f.poll()
		select {
		case <-f.ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func (f *feed) request(path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(f.ctx, "GET", f.base+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+f.opt.feedCred)
	f.mu.RLock()
	cursor := f.cursor
	f.mu.RUnlock()
	if cursor != "" && strings.HasSuffix(path, "/stream") {
		req.Header.Set("Last-Event-ID", cursor)
	}
	// The stream outlives any client timeout: use the client's transport without one.
	c := *f.opt.client
	c.Timeout = 0
	return c.Do(req)
}

func (f *feed) stream() {
	res, err := f.request("/v1/revocations/stream")
	if err != nil {
		return
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		return
	}
	f.contact()
	sc := bufio.NewScanner(res.Body)
	var id, data string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if data != "" {
				var e entry
				if json.Unmarshal([]byte(data), &e) == nil {
					f.add(e, id)
				}
			}
			id, data = "", ""
		case strings.HasPrefix(line, ":"):
			f.contact() // heartbeat
		case strings.HasPrefix(line, "id: "):
			id = line[4:]
		case strings.HasPrefix(line, "data: "):
			data = line[6:]
		}
	}
}

func (f *feed) poll() {
	f.mu.RLock()
	cursor := f.cursor
	f.mu.RUnlock()
	path := "/v1/revocations"
	if cursor != "" {
		path += "?after=" + url.QueryEscape(cursor)
	}
	res, err := f.request(path)
	if err != nil {
		return
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		return
	}
	var page struct {
		Entries []entry `json:"entries"`
		Cursor  string  `json:"cursor"`
	}
	if json.NewDecoder(res.Body).Decode(&page) != nil {
		return
	}
	for _, e := range page.Entries {
		f.add(e, "")
	}
	// The cursor is opaque (today a decimal id, safe to resume from: the issuer hands out
	// cursors in commit order); keep whatever the issuer sent.
	if page.Cursor != "" {
		f.mu.Lock()
		f.cursor = page.Cursor
		f.mu.Unlock()
	}
	f.contact()
}
