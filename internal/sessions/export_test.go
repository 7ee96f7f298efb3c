package sessions

import (
	"context"
	"time"
)

// Hooks for the external tests: they drive the feed's reads themselves instead of waiting
// for FollowRevocations' ticker.

const FeedSlack = feedSlack

func (m *Manager) SetFeedMaxTail(n int) {
	m.feed.mu.Lock()
	m.feed.maxTail = n
	m.feed.mu.Unlock()
}

func (m *Manager) LoadFeed(ctx context.Context) error { return m.loadFeed(ctx) }

func (m *Manager) PullFeed(ctx context.Context) (int, error) { return m.pullFeed(ctx) }

func (m *Manager) SetFeedStaleAfter(d time.Duration) {
	m.feed.mu.Lock()
	m.feed.staleAfter = d
	m.feed.mu.Unlock()
}

func (m *Manager) FeedTail() (from int64, n int) {
	m.feed.mu.RLock()
	defer m.feed.mu.RUnlock()
	return m.feed.from, len(m.feed.tail)
}
