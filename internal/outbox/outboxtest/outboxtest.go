// Package outboxtest holds an in-memory outbox.Store for the tests of the packages that queue
// deliveries, and the conformance suite (Run) every persistent outbox.Store passes, so that
// the SQLite and PostgreSQL tables behave exactly like the reference.
package outboxtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/outbox"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
)

// Memory is an outbox.Store in memory: the reference the persistent stores are checked
// against. It is safe for concurrent use.
type Memory struct {
	mu    sync.Mutex
	items map[string]*row
}

type row struct {
	it         outbox.Item
	leaseUntil time.Time
	done       bool // sent or given up
	dead       bool
}

var _ outbox.Store = (*Memory)(nil)

// NewMemory returns an empty Memory.
func NewMemory() *Memory { return &Memory{items: map[string]*row{}} }

// OutboxEnqueue implements outbox.Store.
func (m *Memory) OutboxEnqueue(ctx context.Context, it *outbox.Item) error {
	if err := ctx.Err(); err != nil {
		return err // like a database driver
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.items[it.ID]; ok {
		return fmt.Errorf("outbox item %s exists", it.ID)
	}
	c := *it
	c.Payload = slices.Clone(it.Payload)
	c.Claim = ""
	m.items[it.ID] = &row{it: c}
	return nil
}

// OutboxClaimDue implements outbox.Store.
func (m *Memory) OutboxClaimDue(ctx context.Context, queue string, now time.Time, lease time.Duration, limit int) ([]*outbox.Item, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var due []*row
	for _, r := range m.items {
		if r.done || r.it.Queue != queue || r.it.NextAttemptAt.After(now) || r.leaseUntil.After(now) {
			continue
		}
		due = append(due, r)
	}
	sort.Slice(due, func(i, j int) bool {
		if !due[i].it.NextAttemptAt.Equal(due[j].it.NextAttemptAt) {
			return due[i].it.NextAttemptAt.Before(due[j].it.NextAttemptAt)
		}
		return due[i].it.ID < due[j].it.ID
	})
	if len(due) > limit {
		due = due[:limit]
	}
	out := make([]*outbox.Item, 0, len(due))
	for _, r := range due {
		r.it.Claim = secret.NewID()
		r.it.Attempts++
		r.leaseUntil = now.Add(lease)
		c := r.it
		c.Payload = slices.Clone(r.it.Payload)
		out = append(out, &c)
	}
	return out, nil
}

func (m *Memory) held(id, claim string) (*row, error) {
	r, ok := m.items[id]
	if !ok || r.done || claim == "" || r.it.Claim != claim {
		return nil, outbox.ErrLeaseLost
	}
	return r, nil
}

// OutboxMarkSent implements outbox.Store.
func (m *Memory) OutboxMarkSent(ctx context.Context, id, claim string, _ time.Time) error {
	if err := ctx.Err(); err != nil {
		return err // like a database driver
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r, err := m.held(id, claim)
	if err != nil {
		return err
	}
	r.done, r.it.Payload, r.it.Claim = true, nil, ""
	return nil
}

// OutboxMarkRetry implements outbox.Store.
func (m *Memory) OutboxMarkRetry(ctx context.Context, id, claim string, next time.Time, lastErr string) error {
	if err := ctx.Err(); err != nil {
		return err // like a database driver
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r, err := m.held(id, claim)
	if err != nil {
		return err
	}
	r.it.NextAttemptAt, r.it.LastError, r.it.Claim, r.leaseUntil = next, lastErr, "", time.Time{}
	return nil
}

// OutboxMarkDead implements outbox.Store.
func (m *Memory) OutboxMarkDead(ctx context.Context, id, claim string, _ time.Time, lastErr string) error {
	if err := ctx.Err(); err != nil {
		return err // like a database driver
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r, err := m.held(id, claim)
	if err != nil {
		return err
	}
	r.done, r.dead, r.it.Payload, r.it.LastError, r.it.Claim = true, true, nil, lastErr, ""
	return nil
}

// State is what a test can observe of one item.
type State struct {
	Item outbox.Item
	Done bool // sent or given up
	Dead bool // given up
}

// Get returns the state of item id.
func (m *Memory) Get(id string) (State, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.items[id]
	if !ok {
		return State{}, false
	}
	c := r.it
	c.Payload = slices.Clone(r.it.Payload)
	return State{Item: c, Done: r.done, Dead: r.dead}, true
}

// All returns the state of every item, by id.
func (m *Memory) All() []State {
	m.mu.Lock()
	ids := make([]string, 0, len(m.items))
	for id := range m.items {
		ids = append(ids, id)
	}
	m.mu.Unlock()
	sort.Strings(ids)
	out := make([]State, 0, len(ids))
	for _, id := range ids {
		s, _ := m.Get(id)
		out = append(out, s)
	}
	return out
}

// Run checks a store against the contract of outbox.Store. newStore returns a fresh, empty
// store for each call.
func Run(t *testing.T, newStore func(t *testing.T) outbox.Store) {
	t.Run("ClaimLeaseMark", func(t *testing.T) { testClaim(t, newStore(t)) })
	t.Run("ConcurrentClaim", func(t *testing.T) { testConcurrentClaim(t, newStore(t)) })
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func mustClaim(t *testing.T, s outbox.Store, queue string, now time.Time, limit int) []*outbox.Item {
	t.Helper()
	got, err := s.OutboxClaimDue(context.Background(), queue, now, time.Minute, limit)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func testClaim(t *testing.T, s outbox.Store) {
	ctx := context.Background()
	a := outbox.NewItem("mail", []byte("a"), t0)
	b := outbox.NewItem("mail", []byte("b"), t0.Add(time.Second))
	later := outbox.NewItem("mail", []byte("later"), t0)
	later.NextAttemptAt = t0.Add(time.Hour)
	later.NotAfter = t0.Add(2 * time.Hour)
	other := outbox.NewItem("webhook", []byte("w"), t0)
	for _, it := range []*outbox.Item{a, b, later, other} {
		if err := s.OutboxEnqueue(ctx, it); err != nil {
			t.Fatal(err)
		}
	}
	now := t0.Add(2 * time.Second)
	got := mustClaim(t, s, "mail", now, 10)
	if len(got) != 2 || got[0].ID != a.ID || got[1].ID != b.ID {
		t.Fatalf("claimed %v, want a then b", got)
	}
	for _, it := range got {
		if it.Attempts != 1 || it.Claim == "" || it.Queue != "mail" || len(it.Payload) != 1 {
			t.Fatalf("claimed item %+v", it)
		}
	}
	if !got[0].CreatedAt.Equal(t0) || string(got[0].Payload) != "a" {
		t.Fatalf("item a came back as %+v", got[0])
	}
	// Leased: nobody else gets them until the lease ends.
	if again := mustClaim(t, s, "mail", now.Add(30*time.Second), 10); len(again) != 0 {
		t.Fatalf("leased items claimed again: %v", again)
	}
	// A claim token that does not hold the item is refused.
	if err := s.OutboxMarkSent(ctx, a.ID, "wrong", now); !errors.Is(err, outbox.ErrLeaseLost) {
		t.Fatalf("mark with wrong claim: %v", err)
	}
	if err := s.OutboxMarkSent(ctx, a.ID, got[0].Claim, now); err != nil {
		t.Fatal(err)
	}
	if err := s.OutboxMarkSent(ctx, a.ID, got[0].Claim, now); !errors.Is(err, outbox.ErrLeaseLost) {
		t.Fatalf("second mark sent: %v", err)
	}
	// b's lease ends (its worker died): it is claimed again, with a new claim token, and the
	// old worker can no longer mark it.
	re := mustClaim(t, s, "mail", now.Add(2*time.Minute), 10)
	if len(re) != 1 || re[0].ID != b.ID || re[0].Attempts != 2 || re[0].Claim == got[1].Claim {
		t.Fatalf("reclaim after lease: %+v", re)
	}
	if err := s.OutboxMarkRetry(ctx, b.ID, got[1].Claim, now, "x"); !errors.Is(err, outbox.ErrLeaseLost) {
		t.Fatalf("stale claim marked retry: %v", err)
	}
	next := now.Add(10 * time.Minute)
	if err := s.OutboxMarkRetry(ctx, b.ID, re[0].Claim, next, "421 try later"); err != nil {
		t.Fatal(err)
	}
	if early := mustClaim(t, s, "mail", next.Add(-time.Second), 10); len(early) != 0 {
		t.Fatalf("claimed before its next attempt: %v", early)
	}
	due := mustClaim(t, s, "mail", next, 10)
	if len(due) != 1 || due[0].ID != b.ID || due[0].Attempts != 3 || due[0].LastError != "421 try later" {
		t.Fatalf("retry claim: %+v", due)
	}
	if err := s.OutboxMarkDead(ctx, b.ID, due[0].Claim, next, "gave up"); err != nil {
		t.Fatal(err)
	}
	// Only the later item remains, with its fields intact.
	rest := mustClaim(t, s, "mail", t0.Add(3*time.Hour), 10)
	if len(rest) != 1 || rest[0].ID != later.ID || !rest[0].NotAfter.Equal(later.NotAfter) || string(rest[0].Payload) != "later" {
		t.Fatalf("rest: %+v", rest)
	}
	// Queues are separate.
	w := mustClaim(t, s, "webhook", now, 10)
	if len(w) != 1 || w[0].ID != other.ID {
		t.Fatalf("webhook queue: %+v", w)
	}
	// The limit holds.
	for i := 0; i < 5; i++ {
		if err := s.OutboxEnqueue(ctx, outbox.NewItem("q", nil, t0)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(mustClaim(t, s, "q", now, 3)); n != 3 {
		t.Fatalf("claimed %d with limit 3", n)
	}
}

func testConcurrentClaim(t *testing.T, s outbox.Store) {
	ctx := context.Background()
	const items, workers = 40, 8
	for i := 0; i < items; i++ {
		if err := s.OutboxEnqueue(ctx, outbox.NewItem("mail", []byte{byte(i)}, t0)); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := s.OutboxClaimDue(ctx, "mail", t0, time.Minute, 3)
				if err != nil {
					errs <- err
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, it := range got {
					seen[it.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(seen) != items {
		t.Fatalf("claimed %d distinct items, want %d", len(seen), items)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("item %s claimed %d times by concurrent workers", id, n)
		}
	}
}
