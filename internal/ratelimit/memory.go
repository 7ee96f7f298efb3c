package ratelimit

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

// DefaultMaxEntries is the bucket cap of NewMemory(0): about 120 MB when full of the longest
// keys (account+IPv6 tiers, ~117 bytes each measured).
const DefaultMaxEntries = 1 << 20

const (
	shardCount = 64 // power of two; enough to keep lock contention out of the profile
	// minSweep is the fewest operations a shard performs between two sweeps, so that a small
	// or full shard is not rescanned on every request.
	minSweep = 64
)

// Memory is an in-process Store: a map of bucket timestamps split into mutex-guarded shards.
// It suits a single instance; several instances need a shared Store (Redis) for their limits
// to hold together (docs/security.md).
//
// Memory stays bounded. A bucket that is full again carries no information and is deleted by
// an amortized sweep: each shard rescans itself after as many operations as it holds entries
// (at least minSweep), which costs O(1) per operation and needs no goroutine. A hard cap on
// entries backs this up; see NewMemory.
type Memory struct {
	seed     maphash.Seed
	perShard int
	shards   [shardCount]shard
}

type shard struct {
	mu  sync.Mutex
	tat map[string]int64 // key -> Unix ns at which the bucket is full again
	ops int              // operations since the last sweep
	_   [40]byte         // keep shards on separate cache lines
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty Memory that holds at most maxEntries buckets (DefaultMaxEntries
// when maxEntries <= 0), spread evenly over its shards.
//
// When a shard is at its cap and a request needs a new bucket, Allow sweeps the shard (unless
// it did so very recently) and, if that frees nothing, returns ErrFull, which callers turn into
// 503. Existing buckets keep working. Memory never evicts a live bucket to make room: an
// attacker who can create keys (one per IP or e-mail address tried) could otherwise flush the
// lockout of the very account he is guessing. Refusing quietly (Allowed: false) would fail
// closed too, but would hide an exhausted store behind ordinary 429s.
func NewMemory(maxEntries int) *Memory {
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	m := &Memory{seed: maphash.MakeSeed(), perShard: max(1, (maxEntries+shardCount-1)/shardCount)}
	for i := range m.shards {
		m.shards[i].tat = make(map[string]int64)
	}
	return m
}

func (m *Memory) shard(key string) *shard {
	return &m.shards[maphash.String(m.seed, key)&(shardCount-1)]
}

// Allow implements Store.
func (m *Memory) Allow(ctx context.Context, key string, l Limit, now time.Time) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	if err := l.Validate(); err != nil {
		return Result{}, err
	}
	n := now.UnixNano()
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tick(n)
	tat, ok := s.tat[key]
	res, newTAT := conform(tat, n, l)
	if !res.Allowed {
		return res, nil
	}
	if !ok && len(s.tat) >= m.perShard {
		// Sweep at most once per len/8 operations, so that a flood of new keys against a
		// full shard costs O(1) amortized, not a rescan per request.
		if s.ops >= len(s.tat)/8 {
			s.sweep(n)
		}
		if len(s.tat) >= m.perShard {
			return Result{}, ErrFull
		}
	}
	s.tat[key] = newTAT
	return res, nil
}

// Peek implements Store.
func (m *Memory) Peek(ctx context.Context, key string, l Limit, now time.Time) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	if err := l.Validate(); err != nil {
		return Result{}, err
	}
	n := now.UnixNano()
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tick(n)
	res, _ := conform(s.tat[key], n, l)
	return res, nil
}

// Reset implements Store.
func (m *Memory) Reset(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s := m.shard(key)
	s.mu.Lock()
	delete(s.tat, key)
	s.mu.Unlock()
	return nil
}

// Len returns the number of buckets held (for metrics and tests). Full buckets not yet swept
// are counted.
func (m *Memory) Len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.tat)
		s.mu.Unlock()
	}
	return n
}

// tick counts an operation and sweeps once the shard has performed as many operations as it
// holds entries. The caller holds s.mu.
func (s *shard) tick(now int64) {
	s.ops++
	if s.ops >= max(len(s.tat), minSweep) {
		s.sweep(now)
	}
}

// sweep deletes the buckets that are full again at now. The caller holds s.mu.
func (s *shard) sweep(now int64) {
	for k, tat := range s.tat {
		if tat <= now {
			delete(s.tat, k)
		}
	}
	s.ops = 0
}
