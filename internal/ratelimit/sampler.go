package ratelimit

import (
	"sync"
	"time"
)

// Sampler picks, per key, the first event of each window: what is worth an audit event out
// of a flood of refused attempts, which are otherwise only counted (Limiter.Refused). A
// refused attempt costs its sender nothing, so writing one event per refusal would let
// anyone fill the audit table; with a Sampler a flood writes one event per key and window.
//
// It keeps at most Max keys; when full, it first forgets keys whose window has ended, and if
// that frees nothing it samples nothing more until a window ends (the counters still count).
// Each instance samples on its own: with several instances, a key gets at most one event
// per window per instance. The zero value is not usable; use NewSampler.
type Sampler struct {
	window time.Duration
	max    int

	mu   sync.Mutex
	seen map[string]time.Time // key -> start of its current window
}

// NewSampler returns a Sampler with the given window and key bound (defaults 1 minute and
// 10,000 when zero or negative).
func NewSampler(window time.Duration, max int) *Sampler {
	if window <= 0 {
		window = time.Minute
	}
	if max <= 0 {
		max = 10000
	}
	return &Sampler{window: window, max: max, seen: make(map[string]time.Time)}
}

// First reports whether an event for key at now is the first of its window.
func (s *Sampler) First(key string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if start, ok := s.seen[key]; ok && now.Sub(start) < s.window && !now.Before(start) {
		return false
	}
	if _, ok := s.seen[key]; !ok && len(s.seen) >= s.max {
		for k, start := range s.seen {
			if now.Sub(start) >= s.window {
				delete(s.seen, k)
			}
		}
		if len(s.seen) >= s.max {
			return false
		}
	}
	s.seen[key] = now
	return true
}
