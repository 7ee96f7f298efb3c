// Package password hashes and verifies passwords and applies the password policy.
//
// Hashes are argon2id (RFC 9106) stored as PHC strings, with at least the parameters of
// docs/security.md: m=19 MiB, t=2, p=1, the first configuration OWASP recommends.
//
// Hashing is the most expensive thing a sign-in does, in CPU and in memory: each argon2id run
// allocates m KiB. A Hasher therefore runs at most Config.Concurrency hashes at once behind a
// semaphore, lets at most Config.QueueSize callers wait for a slot (for at most
// Config.QueueTimeout), and turns everyone else away at once with ErrBusy, which the HTTP
// layer answers with 503 temporarily_unavailable and Retry-After. However many sign-ins
// arrive together, live argon2id memory stays at Concurrency × m (Concurrency × 19 MiB with
// DefaultParams). The heap additionally holds blocks of finished hashes until the garbage
// collector reclaims them, which with GOGC=100 puts the peak heap at 2 to 3 times that bound,
// independent of the number of callers (BenchmarkPeakMemory150). Verify, VerifyDummy, Hash
// and Admit share the slots. Admit also lets sign-ins that look legitimate wait in a priority
// lane, and serves the networks queued in the normal lane in turn, so that a flood of guesses
// cannot starve real users (see Admission).
//
// VerifyDummy runs a full verification against a hash no password matches, so that a sign-in
// for an unknown account costs what one for a known account costs.
//
// Imported hashes of every scheme in schemes.go (bcrypt, scrypt, PBKDF2, sha-crypt, Auth0's
// objects, ...) verify too, inside the same bounded slots, so that users imported from other
// systems keep their passwords; a match always reports needsRehash so the caller replaces
// them with argon2id. A stored hash that does not parse (or exceeds its scheme's cost cap) is
// ErrMalformedHash; a Ticket still spends a dummy verification on it, so that such a sign-in
// costs what a wrong password costs.
//
// Check applies the password policy (NIST SP 800-63B §3.1.1.2): 8 to 256 characters, valid
// UTF-8 without NUL, and not on the bundled common-password list. That list is Openwall's
// password.lst as shipped in Debian's john-data package, compiled by Solar Designer of the
// Openwall Project (1996–2011) and placed in the public domain; common-passwords.txt keeps
// its attribution header.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"
)

// ErrBusy is returned by Hash, Verify and VerifyDummy when no hashing slot is available: the
// wait queue is full, the caller waited QueueTimeout, or its context ended first. The caller
// should answer 503 temporarily_unavailable with Retry-After. A context that ends is reported
// as ErrBusy too, so that one errors.Is check covers every way a caller is turned away; the
// returned error also wraps the context's cause (context.Canceled, context.DeadlineExceeded)
// for logs.
var ErrBusy = errors.New("password: hashing is saturated, retry later")

var (
	errQueueFull = fmt.Errorf("%w: wait queue full", ErrBusy)
	errTimedOut  = fmt.Errorf("%w: waited the whole queue timeout", ErrBusy)
)

func busyBecause(ctx context.Context) error {
	return fmt.Errorf("%w: %w", ErrBusy, ctx.Err())
}

// ErrMalformedHash is returned by Verify for a stored hash that cannot be parsed strictly, or
// whose parameters are outside the caps documented on MaxParams.
var ErrMalformedHash = errors.New("password: malformed password hash")

// Params are argon2id parameters. Memory is in KiB; SaltLen and KeyLen are in bytes.
type Params struct {
	Memory  uint32
	Time    uint32
	Threads uint8
	SaltLen uint32
	KeyLen  uint32
}

// DefaultParams are the production parameters and the minimum New accepts: argon2id with
// m=19456 KiB (19 MiB), t=2, p=1, a 16-byte salt and a 32-byte key (docs/security.md, OWASP).
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// MaxParams are the largest parameters Verify accepts from a stored hash, and the largest New
// accepts. A stored hash is data: a corrupt or hostile row must not make a verification
// allocate gigabytes or run for minutes while it holds a hashing slot. 256 MiB is over 13
// times the default and above every OWASP and RFC 9106 interactive recommendation; t=16 and
// p=16 are likewise far above any sane interactive setting. With these caps the worst stored
// hash costs about 256 MiB and a few seconds of CPU per slot. Salts and keys longer than 64
// bytes add nothing. The lower bounds Verify enforces are 8-byte salts and 16-byte keys
// (RFC 9106 §3.1 allows salts from 8 bytes; a key under 128 bits is not a password hash).
var MaxParams = Params{Memory: 256 * 1024, Time: 16, Threads: 16, SaltLen: 64, KeyLen: 64}

const (
	minSaltLen = 8
	minKeyLen  = 16
)

// weakerThan reports whether p is weaker than q in any dimension that matters for security.
// Threads is not one: it changes parallelism, not the work an attacker must do.
func (p Params) weakerThan(q Params) bool {
	return p.Memory < q.Memory || p.Time < q.Time || p.SaltLen < q.SaltLen || p.KeyLen < q.KeyLen
}

// Validate reports every way p falls outside what New accepts, joined with errors.Join: any
// dimension weaker than DefaultParams (the minimum of docs/security.md), any above MaxParams, or
// less than the 8 KiB of memory per thread that argon2 requires. It returns nil when p is
// usable for production hashes.
func (p Params) Validate() error {
	var errs []error
	if p.weakerThan(DefaultParams) || p.Threads < DefaultParams.Threads {
		errs = append(errs, fmt.Errorf("argon2id parameters %+v are below the minimum %+v", p, DefaultParams))
	}
	if p.Memory > MaxParams.Memory || p.Time > MaxParams.Time || p.Threads > MaxParams.Threads ||
		p.SaltLen > MaxParams.SaltLen || p.KeyLen > MaxParams.KeyLen {
		errs = append(errs, fmt.Errorf("argon2id parameters %+v exceed the maximum %+v that Verify accepts", p, MaxParams))
	}
	if p.Memory < 8*uint32(p.Threads) {
		errs = append(errs, fmt.Errorf("argon2id memory %d KiB is below 8 KiB per thread", p.Memory))
	}
	return errors.Join(errs...)
}

// Config configures a Hasher. Zero values select the defaults.
type Config struct {
	// Params are the argon2id parameters for new hashes; New refuses anything weaker than
	// DefaultParams.
	Params Params
	// Concurrency is how many hashes may run at once. The default is runtime.GOMAXPROCS(0):
	// argon2id is CPU-bound, so one hash per usable core reaches full throughput and more
	// would only add memory. GOMAXPROCS rather than runtime.NumCPU because since Go 1.25 it
	// follows the container's CPU limit, while NumCPU counts the host's cores.
	Concurrency int
	// QueueSize is how many callers may wait for a slot. The default is 8 × Concurrency: the
	// last caller in line waits about 8 hash times (≈ 225 ms at 28 ms a hash), which absorbs
	// a burst without user-visible delay, while a longer queue would only add latency once
	// the CPU is saturated. Waiting callers hold no argon2id memory.
	QueueSize int
	// QueueTimeout is how long a caller may wait for a slot before ErrBusy; default 2 s.
	QueueTimeout time.Duration
}

// Hasher hashes and verifies passwords with bounded concurrency. It is safe for concurrent use.
type Hasher struct {
	params      Params
	concurrency int // slots: at most this many KDFs run at once
	queueSize   int // waiters allowed in each lane
	timeout     time.Duration
	waiting     atomic.Int64 // for metrics; changed under mu
	running     atomic.Int64 // for metrics; changed under mu
	waitObs     atomic.Pointer[WaitObserver]
	dummy       string

	mu     sync.Mutex
	held   int               // slots taken
	prio   []*waiter         // the priority lane, first come first served
	groups map[string]*group // the normal lane, one queue per Admission.Group
	ring   []*group          // groups with waiters, in round-robin order
	next   int               // index in ring of the group served next
	normal int               // waiters in the normal lane
	streak int               // slots handed to the priority lane in a row while both waited

	// kdf derives a key; tests replace it to observe and block hashing.
	kdf func(pw, salt []byte, p Params) []byte
}

// New returns a Hasher for cfg. It refuses parameters weaker than DefaultParams or stronger
// than MaxParams, and negative sizes, reporting every problem at once.
func New(cfg Config) (*Hasher, error) {
	errs := []error{cfg.Params.Validate()}
	if cfg.Concurrency < 0 {
		errs = append(errs, fmt.Errorf("concurrency %d is negative", cfg.Concurrency))
	}
	if cfg.QueueSize < 0 {
		errs = append(errs, fmt.Errorf("queue size %d is negative", cfg.QueueSize))
	}
	if cfg.QueueTimeout < 0 {
		errs = append(errs, fmt.Errorf("queue timeout %v is negative", cfg.QueueTimeout))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("password: %w", err)
	}
	return newHasher(cfg), nil
}

// NewUnsafeFastHasherForTests returns a Hasher with tiny argon2id parameters (64 KiB, t=1)
// and a large queue, so that other packages' tests run fast. Its hashes are trivially
// brute-forced: it must NEVER be used in production, which is why New refuses such parameters.
func NewUnsafeFastHasherForTests() *Hasher {
	return newHasher(Config{
		Params:       Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		QueueSize:    1024,
		QueueTimeout: time.Minute,
	})
}

// NewUnsafeHasherForTests is New without the parameter checks, for tests and benchmarks that
// need a Hasher with real bounded concurrency and a chosen (tiny or slow) cost. Like
// NewUnsafeFastHasherForTests it must NEVER be used in production.
func NewUnsafeHasherForTests(cfg Config) *Hasher { return newHasher(cfg) }

// newHasher builds a Hasher without validating cfg.Params.
func newHasher(cfg Config) *Hasher {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = runtime.GOMAXPROCS(0)
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 8 * cfg.Concurrency
	}
	if cfg.QueueTimeout <= 0 {
		cfg.QueueTimeout = 2 * time.Second
	}
	// The dummy hash has the current parameters and a random key: verifying any password
	// against it runs exactly the work of a real verification and fails (but for a 2^-256
	// chance). No KDF is needed to build it.
	return &Hasher{
		params:      cfg.Params,
		concurrency: cfg.Concurrency,
		queueSize:   cfg.QueueSize,
		timeout:     cfg.QueueTimeout,
		dummy:       encodePHC(cfg.Params, randomBytes(cfg.Params.SaltLen), randomBytes(cfg.Params.KeyLen)),
		groups:      make(map[string]*group),
		kdf:         argon2idKey,
	}
}

func argon2idKey(pw, salt []byte, p Params) []byte {
	return argon2.IDKey(pw, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
}

// randomBytes returns n bytes from crypto/rand, which never fails since Go 1.24 (it crashes
// the program instead of returning predictable bytes).
func randomBytes(n uint32) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// QueueDepth returns the number of callers waiting for a hashing slot, for metrics.
func (h *Hasher) QueueDepth() int { return int(h.waiting.Load()) }

// InFlight returns the number of hashes being computed, for metrics.
func (h *Hasher) InFlight() int { return int(h.running.Load()) }

// Admission says which queue a caller waits in when every hashing slot is taken.
//
// A sign-in flood (credential stuffing from many addresses) fills every slot and the queue
// with guesses; first-come-first-served would then turn real users away as often as
// attackers. Two rules keep real users signing in:
//
//   - Priority callers wait in their own lane, which is served before the normal lane
//     whenever a slot frees (but for every fourth slot while both lanes wait, so that the
//     normal lane is slowed, never starved, by a busy priority lane), and which has its
//     own room of Config.QueueSize. Callers pass
//     Priority for sign-ins that present evidence of being the account's owner: a device
//     cookie of the account, or a network the account signed in from recently. Attackers
//     rarely have either, and the per-IP rate limit still bounds what one address can put
//     in this lane.
//   - In the normal lane, callers are grouped by Group (the caller passes the client's
//     network, e.g. its /24 or /64) and the groups are served in turn (round robin), so a
//     network that queues many requests gets a slot no more often than one that queues a
//     single request. When the lane is full, a newcomer from a network with fewer waiters
//     than the largest group pushes out that group's newest waiter (who gets ErrBusy):
//     one network can fill the queue only while nobody else wants it.
//
// Hash, Verify and VerifyDummy wait in the normal lane with the empty Group.
type Admission struct {
	Priority bool
	Group    string
}

// waiter is a caller queued for a slot. ready is closed when the waiter is granted a slot
// (granted) or pushed out of the queue (err); both fields are written under Hasher.mu before
// the close.
type waiter struct {
	ready   chan struct{}
	granted bool
	err     error
	group   *group // nil in the priority lane
}

type group struct {
	key     string
	waiters []*waiter
}

// prioritySlots is how many slots in a row the priority lane gets while the normal lane
// also waits, before one goes to the normal lane.
const prioritySlots = 3

var errPushedOut = fmt.Errorf("%w: pushed out of the queue by a fairer claim", ErrBusy)

// acquire takes a hashing slot, waiting in the bounded queue of a's lane if there is room.
// When a slot frees it is handed directly to the next waiter (see Admission for the order),
// so waiters are never starved by new arrivals.
func (h *Hasher) acquire(ctx context.Context, a Admission) error {
	if ctx.Err() != nil {
		return busyBecause(ctx)
	}
	var start time.Time
	obs := h.waitObs.Load()
	if obs != nil {
		start = time.Now()
	}
	h.mu.Lock()
	if h.held < h.concurrency && len(h.prio) == 0 && h.normal == 0 {
		h.held++
		h.running.Add(1)
		h.mu.Unlock()
		if obs != nil {
			(*obs)(a.lane(), time.Since(start))
		}
		return nil
	}
	w := &waiter{ready: make(chan struct{})}
	if a.Priority {
		if len(h.prio) >= h.queueSize {
			h.mu.Unlock()
			return errQueueFull // shed at once: waiting longer would only add latency
		}
		h.prio = append(h.prio, w)
	} else {
		g := h.groups[a.Group]
		if h.normal >= h.queueSize && !h.pushOutFor(g) {
			h.mu.Unlock()
			return errQueueFull
		}
		if g == nil {
			g = &group{key: a.Group}
			h.groups[a.Group] = g
		}
		if len(g.waiters) == 0 {
			h.ring = append(h.ring, g)
		}
		g.waiters = append(g.waiters, w)
		w.group = g
		h.normal++
	}
	h.waiting.Add(1)
	h.mu.Unlock()

	t := time.NewTimer(h.timeout)
	defer t.Stop()
	select {
	case <-w.ready:
		if obs != nil && w.err == nil {
			(*obs)(a.lane(), time.Since(start))
		}
		return w.err
	case <-t.C:
		return h.abandon(w, errTimedOut)
	case <-ctx.Done():
		return h.abandon(w, busyBecause(ctx))
	}
}

// pushOutFor makes room in the full normal lane for a newcomer of g (nil: a group with no
// waiters) by pushing out the newest waiter of the largest group, if that group has at
// least two more waiters than g would. It reports whether it made room. Called under mu.
func (h *Hasher) pushOutFor(g *group) bool {
	mine := 0
	if g != nil {
		mine = len(g.waiters)
	}
	var big *group
	for _, c := range h.ring {
		if big == nil || len(c.waiters) > len(big.waiters) {
			big = c
		}
	}
	if big == nil || len(big.waiters) < mine+2 {
		return false
	}
	v := big.waiters[len(big.waiters)-1]
	h.dequeue(v)
	v.err = errPushedOut
	close(v.ready)
	return true
}

// abandon takes w out of the queue after its wait ended without a grant, and returns err.
// If a slot was granted in the meantime it is passed on; if w was pushed out, that is the
// answer.
func (h *Hasher) abandon(w *waiter, err error) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case w.granted:
		h.releaseLocked()
	case w.err != nil:
		return w.err
	default:
		h.dequeue(w)
	}
	return err
}

// dequeue removes a waiting w from its lane. Called under mu.
func (h *Hasher) dequeue(w *waiter) {
	h.waiting.Add(-1)
	if w.group == nil {
		h.prio = remove(h.prio, w)
		return
	}
	g := w.group
	g.waiters = remove(g.waiters, w)
	h.normal--
	if len(g.waiters) == 0 {
		h.dropGroup(g)
	}
}

// dropGroup removes an empty group from the ring, keeping the turn where it was.
func (h *Hasher) dropGroup(g *group) {
	for i, c := range h.ring {
		if c == g {
			h.ring = append(h.ring[:i], h.ring[i+1:]...)
			if i < h.next {
				h.next--
			}
			break
		}
	}
	delete(h.groups, g.key)
}

func remove(ws []*waiter, w *waiter) []*waiter {
	for i, c := range ws {
		if c == w {
			return append(ws[:i], ws[i+1:]...)
		}
	}
	return ws
}

func (h *Hasher) release() {
	h.mu.Lock()
	h.releaseLocked()
	h.mu.Unlock()
}

// releaseLocked hands the slot to the next waiter: the priority lane first, then the next
// group of the normal lane in turn. Called under mu.
func (h *Hasher) releaseLocked() {
	var w *waiter
	switch {
	case len(h.prio) > 0 && (len(h.ring) == 0 || h.streak < prioritySlots):
		w = h.prio[0]
		h.prio = h.prio[1:]
		if len(h.ring) > 0 {
			h.streak++
		}
	case len(h.ring) > 0:
		h.streak = 0
		if h.next >= len(h.ring) {
			h.next = 0
		}
		g := h.ring[h.next]
		w = g.waiters[0]
		g.waiters = g.waiters[1:]
		h.normal--
		if len(g.waiters) == 0 {
			h.dropGroup(g) // the next group slides into this index
		} else {
			h.next++
		}
	default:
		h.held--
		h.running.Add(-1)
		return
	}
	h.waiting.Add(-1)
	w.granted = true
	close(w.ready)
}

// Hash returns the PHC string of password, argon2id with the Hasher's parameters and a fresh
// random salt, e.g. "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>". The password is hashed
// exactly as given. It returns ErrBusy when no slot is available.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	t, err := h.Admit(ctx, Admission{})
	if err != nil {
		return "", err
	}
	return t.Hash(password)
}

// Verify reports whether password matches encoded, a PHC argon2id string (Gatehouse's own) or
// an imported hash of any scheme Scheme names, comparing in constant time. needsRehash is
// true after a successful match when the stored hash is not argon2id or has weaker parameters
// than the Hasher's, so the caller should store a fresh Hash. A stored hash that does not
// parse strictly or exceeds its caps (MaxParams for argon2id, the MaxLegacy* constants for the
// others; bcrypt's cost is capped at MaxLegacyBcryptCost whether it was imported or not)
// yields ErrMalformedHash without any hashing; no slot yields ErrBusy.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (ok, needsRehash bool, err error) {
	if err := checkEncoded(encoded); err != nil {
		return false, false, err
	}
	if err := h.acquire(ctx, Admission{}); err != nil {
		return false, false, err
	}
	defer h.release()
	return h.verifyHeld(password, encoded)
}

// isNative reports whether encoded is in Gatehouse's own form, argon2id, parsed by decodePHC
// with MaxParams. Imported argon2id hashes are native too: once CheckImported accepted them,
// they are within MaxParams.
func isNative(encoded string) bool { return strings.HasPrefix(encoded, "$argon2id$") }

// checkEncoded parses a stored hash (and its cost caps) without hashing.
func checkEncoded(encoded string) error {
	if isNative(encoded) {
		_, _, _, err := decodePHC(encoded)
		return err
	}
	_, err := parseLegacy(encoded)
	return err
}

// verifyHeld is Verify for a caller that holds a slot.
func (h *Hasher) verifyHeld(password, encoded string) (ok, needsRehash bool, err error) {
	if !isNative(encoded) {
		lh, err := parseLegacy(encoded)
		if err != nil {
			return false, false, err
		}
		ok := lh.verify(password)
		return ok, ok, nil
	}
	p, salt, key, err := decodePHC(encoded)
	if err != nil {
		return false, false, err
	}
	got := h.kdf([]byte(password), salt, p)
	ok = subtle.ConstantTimeCompare(got, key) == 1
	return ok, ok && p.weakerThan(h.params), nil
}

// VerifyDummy runs a full argon2id verification with the Hasher's current parameters against
// a hash that no password matches, for sign-ins to accounts that do not exist or have no
// password, so that response time does not reveal whether an account exists. It returns nil
// after doing the work, or ErrBusy exactly as Verify would.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) error {
	_, _, err := h.Verify(ctx, password, h.dummy)
	return err
}

// Admit waits for a hashing slot in the lane and queue that a says (see Admission), exactly
// as Verify would wait in the normal lane, and returns a Ticket holding it. The slot is the
// caller's until it spends the ticket (one Verify, VerifyDummy or Hash) or calls Release.
// Admission separates waiting for capacity from hashing, so that a caller can do what must
// happen only if the password will really be checked (charge a lockout bucket) once it has a
// slot and before the hash runs. It returns ErrBusy as Verify does.
func (h *Hasher) Admit(ctx context.Context, a Admission) (*Ticket, error) {
	if err := h.acquire(ctx, a); err != nil {
		return nil, err
	}
	return &Ticket{h: h}, nil
}

// Ticket is a hashing slot granted by Admit. It is for one goroutine and one use: the first
// Verify, VerifyDummy or Hash spends it and gives the slot back; Release gives it back
// unused. Releasing a spent ticket does nothing, so `defer t.Release()` is always safe.
type Ticket struct {
	h    *Hasher
	done bool
}

// errTicketSpent is returned by a Ticket used twice.
var errTicketSpent = errors.New("password: ticket already used or released")

// Release gives the slot back without hashing. It is idempotent.
func (t *Ticket) Release() {
	if t == nil || t.done {
		return
	}
	t.done = true
	t.h.release()
}

// spend marks the ticket used; the caller releases the slot when its hash is done.
func (t *Ticket) spend() error {
	if t.done {
		return errTicketSpent
	}
	t.done = true
	return nil
}

// Verify is Hasher.Verify on the ticket's slot, with one difference: a stored hash that is
// malformed still costs a full dummy verification before ErrMalformedHash is returned, so
// that the caller (a sign-in, which answers it as a wrong password) takes the same time
// whatever the stored row holds.
func (t *Ticket) Verify(password, encoded string) (ok, needsRehash bool, err error) {
	if err := t.spend(); err != nil {
		return false, false, err
	}
	defer t.h.release()
	ok, needsRehash, err = t.h.verifyHeld(password, encoded)
	if errors.Is(err, ErrMalformedHash) && encoded != t.h.dummy {
		_, _, _ = t.h.verifyHeld(password, t.h.dummy)
	}
	return ok, needsRehash, err
}

// VerifyDummy is Hasher.VerifyDummy on the ticket's slot.
func (t *Ticket) VerifyDummy(password string) error {
	_, _, err := t.Verify(password, t.h.dummy)
	return err
}

// Hash is Hasher.Hash on the ticket's slot.
func (t *Ticket) Hash(password string) (string, error) {
	if err := t.spend(); err != nil {
		return "", err
	}
	defer t.h.release()
	salt := randomBytes(t.h.params.SaltLen)
	return encodePHC(t.h.params, salt, t.h.kdf([]byte(password), salt, t.h.params)), nil
}

func isBcrypt(s string) bool {
	return strings.HasPrefix(s, "$2a$") || strings.HasPrefix(s, "$2b$") || strings.HasPrefix(s, "$2y$")
}
