package sessions

import (
	"context"
	"sync"
	"time"
)

// cache keeps recently validated sessions in memory so that the hot path (a request with a
// session cookie) costs no store read. It is never the authority on revocation: revocations
// through the Manager evict at once, FollowRevocations evicts what other processes revoke,
// and entries expire after ttl whatever happens.
type cache struct {
	ttl time.Duration
	mu  sync.RWMutex
	m   map[string]cacheEntry
}

type cacheEntry struct {
	s  *Session // never mutated after insertion
	at time.Time
}

// maxCached bounds the cache; when full it is cleared (rare, and only costs store reads).
const maxCached = 200_000

func newCache(ttl time.Duration) *cache {
	return &cache{ttl: ttl, m: make(map[string]cacheEntry)}
}

func (c *cache) get(id string, now time.Time) (*Session, bool) {
	if c.ttl < 0 {
		return nil, false
	}
	c.mu.RLock()
	e, ok := c.m[id]
	c.mu.RUnlock()
	if !ok || now.Sub(e.at) >= c.ttl || now.Before(e.at) {
		return nil, false
	}
	return e.s, true
}

func (c *cache) put(s *Session, now time.Time) {
	if c.ttl < 0 {
		return
	}
	c.mu.Lock()
	if len(c.m) >= maxCached {
		clear(c.m)
	}
	c.m[s.ID] = cacheEntry{s: s, at: now}
	c.mu.Unlock()
}

func (c *cache) evict(id string) {
	c.mu.Lock()
	delete(c.m, id)
	c.mu.Unlock()
}

func (c *cache) evictUser(userID, except string) {
	c.mu.Lock()
	for id, e := range c.m {
		if e.s.UserID == userID && id != except {
			delete(c.m, id)
		}
	}
	c.mu.Unlock()
}

func (c *cache) flush() {
	c.mu.Lock()
	clear(c.m)
	c.mu.Unlock()
}

// Subscribe returns a channel that receives a signal whenever new revocation entries may be
// in the log: at once for revocations made through this Manager, and within one
// FollowRevocations interval for those of other processes. Signals coalesce; the subscriber
// reads the log (RevocationsAfter) to see what changed. cancel releases the subscription.
func (m *Manager) Subscribe() (ch <-chan struct{}, cancel func()) {
	c := make(chan struct{}, 1)
	m.subMu.Lock()
	if m.subs == nil {
		m.subs = make(map[chan struct{}]struct{})
	}
	m.subs[c] = struct{}{}
	m.subMu.Unlock()
	return c, func() {
		m.subMu.Lock()
		delete(m.subs, c)
		m.subMu.Unlock()
	}
}

func (m *Manager) notify() {
	m.subMu.Lock()
	for c := range m.subs {
		select {
		case c <- struct{}{}:
		default: // a signal is already pending
		}
	}
	m.subMu.Unlock()
}

// WithFanout sets a function called after every revocation made through this Manager, to tell
// other instances (e.g. Redis pub/sub) that the log has news; they call Poke. Without it,
// other instances learn within one FollowRevocations interval.
func (m *Manager) WithFanout(announce func()) *Manager {
	m.fanout = announce
	return m
}

// Poke makes FollowRevocations read the log now instead of at its next tick.
func (m *Manager) Poke() {
	select {
	case m.poke <- struct{}{}:
	default:
	}
}

// revoked is called after a revocation made here: the feed reads the log past it (so that
// local streams find it in memory), local streams are woken at once, other instances through
// the fan-out. A failed read leaves the feed stale: readers then go to the store.
func (m *Manager) revoked(ctx context.Context) {
	_, _ = m.pullFeed(ctx)
	m.notify()
	if m.fanout != nil {
		m.fanout()
	}
}
