package sessions

import (
	"cmp"
	"context"
	"sort"
	"sync"
	"time"
)

// The revocation log is read in cursor order, and a cursor is "the last entry seen". That is
// safe because every store hands cursors out in commit order (SQLite has one writer; on
// PostgreSQL inserts into the log take a lock held until the commit is visible, see
// internal/store/postgres/migrations/0003_feed.sql): a read that returns entry n has already
// seen every entry below n. docs/consistency.md states what followers are promised.

// feedPage is how many entries one store read of the log asks for.
const feedPage = 1000

// maxTail bounds the in-memory tail of the log. A follower further behind than this is
// answered from the store.
const maxTail = 16384

// feedSlack is added to twice the follow interval to decide that the copy is stale.
const feedSlack = time.Second

// feed is this instance's copy of the live revocation log, kept by FollowRevocations and by
// the revocations made here. It answers two questions without a store read while it is
// fresh (read from the store successfully within staleAfter):
//   - RevocationsAfter(cursor) for cursors within the tail, which is what every SSE stream
//     and poller asks on every signal: 200 streams cost one store read, not 200;
//   - IsRevoked(jti), asked on every request with an access token.
//
// When it is not fresh, both go to the store, which fails closed when it is down.
type feed struct {
	pull sync.Mutex // serialises reads of the store into the feed, so appends stay in order

	mu         sync.RWMutex
	started    bool
	from, to   int64                // tail holds every live entry with from < Cursor <= to
	tail       []Revocation         // in cursor order
	jtis       map[string]time.Time // revoked access-token id → until
	clients    map[string]clientRevocation
	lastRead   time.Time // last successful read of the store; zero after a failed one
	staleAfter time.Duration
	pruned     time.Time
	maxTail    int // maxTail; tests make it smaller
}

// fresh reports whether the copy may answer for the store at now (a clock that went back
// by more than staleAfter counts as stale too). Caller holds mu.
func (f *feed) fresh(now time.Time) bool {
	return f.started && !f.lastRead.IsZero() && now.Sub(f.lastRead) <= f.staleAfter && !now.Before(f.lastRead.Add(-f.staleAfter))
}

// after returns the live entries after cursor, at most limit, if the tail can answer.
func (f *feed) after(cursor int64, now time.Time, limit int) ([]Revocation, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if !f.fresh(now) || cursor < f.from || cursor > f.to {
		return nil, false
	}
	i := sort.Search(len(f.tail), func(i int) bool { return f.tail[i].Cursor > cursor })
	var out []Revocation
	for _, e := range f.tail[i:] {
		if len(out) == limit {
			break
		}
		if !e.Until.Before(now) {
			out = append(out, e)
		}
	}
	return out, true
}

// revoked reports whether jti is revoked at now, and whether the copy could tell.
func (f *feed) revoked(jti string, now time.Time) (revoked, ok bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if !f.fresh(now) {
		return false, false
	}
	until, found := f.jtis[jti]
	return found && !until.Before(now), true
}

// clientRevocation merges the live entries of one client id: tokens issued before `before`
// (zero: all) are revoked until `until`. Entries for one id are written with growing before
// and until, so keeping the largest of each (zero before counting as largest) is their union.
type clientRevocation struct{ before, until time.Time }

func (f *feed) addClient(e Revocation) {
	if f.clients == nil {
		f.clients = make(map[string]clientRevocation)
	}
	c, ok := f.clients[e.ClientID]
	if !ok || e.IssuedBefore.IsZero() || (!c.before.IsZero() && e.IssuedBefore.After(c.before)) {
		c.before = e.IssuedBefore
	}
	if e.Until.After(c.until) {
		c.until = e.Until
	}
	f.clients[e.ClientID] = c
}

// clientRevoked reports whether tokens of clientID issued at iat are revoked at now, and
// whether the copy could tell.
func (f *feed) clientRevoked(clientID string, iat, now time.Time) (revoked, ok bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if !f.fresh(now) {
		return false, false
	}
	c, found := f.clients[clientID]
	return found && !c.until.Before(now) && (c.before.IsZero() || iat.Before(c.before)), true
}

// addJTI records a token revoked here, before the log has been read past its entry.
func (f *feed) addJTI(jti string, until time.Time) {
	f.mu.Lock()
	if f.jtis == nil {
		f.jtis = make(map[string]time.Time)
	}
	if until.After(f.jtis[jti]) {
		f.jtis[jti] = until
	}
	f.mu.Unlock()
}

// append adds entries read from the store after f.to (in cursor order), marks the copy read
// at now, and forgets what has expired now and then.
func (f *feed) append(entries []Revocation, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.jtis == nil {
		f.jtis = make(map[string]time.Time)
	}
	for _, e := range entries {
		if e.Cursor <= f.to {
			continue // never happens with a store that keeps its promise; never go back
		}
		f.tail = append(f.tail, e)
		f.to = e.Cursor
		if e.TokenID != "" && e.Until.After(f.jtis[e.TokenID]) {
			f.jtis[e.TokenID] = e.Until
		}
		if e.ClientID != "" {
			f.addClient(e)
		}
	}
	if limit := cmp.Or(f.maxTail, maxTail); len(f.tail) > limit {
		drop := len(f.tail) - limit/2
		f.from = f.tail[drop-1].Cursor
		f.tail = append([]Revocation(nil), f.tail[drop:]...)
	}
	if now.Sub(f.pruned) >= time.Minute {
		for k, until := range f.jtis {
			if until.Before(now) {
				delete(f.jtis, k)
			}
		}
		for k, c := range f.clients {
			if c.until.Before(now) {
				delete(f.clients, k)
			}
		}
		f.pruned = now
	}
	f.lastRead = now
}

func (f *feed) failed() {
	f.mu.Lock()
	f.lastRead = time.Time{}
	f.mu.Unlock()
}

// loadFeed reads the whole live log into the feed: the tail then starts at cursor 0, and the
// set of revoked token ids is complete.
func (m *Manager) loadFeed(ctx context.Context) error {
	f := &m.feed
	f.pull.Lock()
	defer f.pull.Unlock()
	// Everything at or below last is read below (a later read sees every lower cursor), so the
	// tail may claim to cover up to it even if its last entries have expired.
	last, err := m.store.LastRevocation(ctx)
	if err != nil {
		return err
	}
	var all []Revocation
	var cursor int64
	now := m.now()
	for {
		page, err := m.store.RevocationsAfter(ctx, cursor, now, feedPage)
		if err != nil {
			return err
		}
		all = append(all, page...)
		if len(page) > 0 {
			cursor = page[len(page)-1].Cursor
		}
		if len(page) < feedPage {
			break
		}
	}
	f.mu.Lock()
	f.started, f.from, f.to, f.tail = true, 0, 0, nil
	f.mu.Unlock()
	f.append(all, now)
	f.mu.Lock()
	f.to = max(f.to, last)
	f.mu.Unlock()
	for _, e := range all {
		if e.SessionID != "" {
			m.cache.evict(e.SessionID)
		}
	}
	return nil
}

// pullFeed reads the log past the feed's end and appends what it finds. It returns the
// number of new entries. Before loadFeed it does nothing.
func (m *Manager) pullFeed(ctx context.Context) (int, error) {
	f := &m.feed
	f.pull.Lock()
	defer f.pull.Unlock()
	f.mu.RLock()
	started, cursor := f.started, f.to
	f.mu.RUnlock()
	if !started {
		return 0, nil
	}
	n := 0
	for {
		now := m.now()
		page, err := m.store.RevocationsAfter(ctx, cursor, now, feedPage)
		if err != nil {
			f.failed()
			return n, err
		}
		for _, e := range page {
			if e.SessionID != "" {
				m.cache.evict(e.SessionID)
			}
			cursor = e.Cursor
		}
		f.append(page, now)
		n += len(page)
		if len(page) < feedPage {
			return n, nil
		}
	}
}

// FollowRevocations keeps this instance's copy of the revocation log: it reads the live log
// once, then every interval (or at once on Poke) reads what was added. It evicts the
// sessions that other processes (other instances, the operator CLI) ended, so that the cache
// never outlives a revocation by more than about one interval, and wakes Subscribe-rs.
// While it keeps up (a successful read within 2×interval + 1 s), revocation checks and feed
// reads are answered from memory. When the log cannot be read the cache is flushed and
// everything goes to the store, which fails closed with it. It returns when ctx ends.
func (m *Manager) FollowRevocations(ctx context.Context, interval time.Duration) {
	m.feed.mu.Lock()
	m.feed.staleAfter = 2*interval + feedSlack
	m.feed.mu.Unlock()
	started := m.loadFeed(ctx) == nil
	if !started {
		m.cache.flush()
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-m.poke:
		}
		if !started {
			if err := m.loadFeed(ctx); err != nil {
				m.cache.flush()
				continue
			}
			started = true
			m.notify()
			continue
		}
		n, err := m.pullFeed(ctx)
		if err != nil {
			m.cache.flush()
		}
		if n > 0 {
			m.notify()
		}
	}
}
