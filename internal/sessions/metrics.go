package sessions

import "time"

// FeedLag reports how far this instance's copy of the revocation log may be behind the store:
// the time since its last successful read, and false when it has never read or its last read
// failed (then checks go to the store, which fails closed). It is for monitoring.
func (m *Manager) FeedLag() (time.Duration, bool) {
	m.feed.mu.RLock()
	defer m.feed.mu.RUnlock()
	if !m.feed.started || m.feed.lastRead.IsZero() {
		return 0, false
	}
	return max(0, m.now().Sub(m.feed.lastRead)), true
}
