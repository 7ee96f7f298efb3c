// Package password hashes and verifies passwords and applies the password policy.
//
// Hashes are argon2id (RFC 9106) stored as PHC strings, with at least the parameters of
// DESIGN.md §5: m=19 MiB, t=2, p=1, the first configuration OWASP recommends.
//
// Hashing is the most expensive thing a sign-in does, in CPU and in memory: each argon2id run
// allocates m KiB. A Hasher therefore runs at most Config.Concurrency hashes at once behind a
// semaphore, lets at most Config.QueueSize callers wait for a slot (for at most
// Config.QueueTimeout), and turns everyone else away at once with ErrBusy, which the HTTP
// layer answers with 503 temporarily_unavailable and Retry-After. However many sign-ins
// arrive together, live argon2id memory stays at Concurrency × m (Concurrency × 19 MiB with
// DefaultParams). The heap additionally holds blocks of finished hashes until the garbage
// collector reclaims them, which with GOGC=100 puts the peak heap at 2 to 3 times that bound,
// independent of the number of callers (BenchmarkPeakMemory150). Verify, VerifyDummy and
// Hash share the one semaphore.
//
// VerifyDummy runs a full verification against a hash no password matches, so that a sign-in
// for an unknown account costs what one for a known account costs.
//
// Legacy bcrypt hashes ($2a$, $2b$, $2y$) verify too, so that users imported from other systems
// keep their passwords; they always report needsRehash so the caller replaces them with
// argon2id on the next successful sign-in.
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
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
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
// m=19456 KiB (19 MiB), t=2, p=1, a 16-byte salt and a 32-byte key (DESIGN.md §5, OWASP).
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
	// maxBcryptCost caps legacy bcrypt hashes for the same reason as MaxParams: cost 31 would
	// hold a slot for hours. Cost 14 is about 1 s; real imports use 10 to 12.
	maxBcryptCost = 14
)

// weakerThan reports whether p is weaker than q in any dimension that matters for security.
// Threads is not one: it changes parallelism, not the work an attacker must do.
func (p Params) weakerThan(q Params) bool {
	return p.Memory < q.Memory || p.Time < q.Time || p.SaltLen < q.SaltLen || p.KeyLen < q.KeyLen
}

// Validate reports every way p falls outside what New accepts, joined with errors.Join: any
// dimension weaker than DefaultParams (the minimum of DESIGN.md §5), any above MaxParams, or
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
	params  Params
	slots   chan struct{} // semaphore: one token per running KDF
	queue   chan struct{} // one token per waiting caller
	timeout time.Duration
	waiting atomic.Int64
	running atomic.Int64
	dummy   string

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
		params:  cfg.Params,
		slots:   make(chan struct{}, cfg.Concurrency),
		queue:   make(chan struct{}, cfg.QueueSize),
		timeout: cfg.QueueTimeout,
		dummy:   encodePHC(cfg.Params, randomBytes(cfg.Params.SaltLen), randomBytes(cfg.Params.KeyLen)),
		kdf:     argon2idKey,
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

// acquire takes a hashing slot, waiting in the bounded queue if there is room. When a slot
// frees, Go hands it to a blocked waiter before any newcomer can take it, so waiters are not
// starved by new arrivals.
func (h *Hasher) acquire(ctx context.Context) error {
	if ctx.Err() != nil {
		return busyBecause(ctx)
	}
	select {
	case h.slots <- struct{}{}:
		h.running.Add(1)
		return nil
	default:
	}
	select {
	case h.queue <- struct{}{}:
	default:
		return errQueueFull // shed at once: waiting longer would only add latency
	}
	h.waiting.Add(1)
	defer func() {
		h.waiting.Add(-1)
		<-h.queue
	}()
	t := time.NewTimer(h.timeout)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		h.running.Add(1)
		return nil
	case <-t.C:
		return errTimedOut
	case <-ctx.Done():
		return busyBecause(ctx)
	}
}

func (h *Hasher) release() {
	h.running.Add(-1)
	<-h.slots
}

// Hash returns the PHC string of password, argon2id with the Hasher's parameters and a fresh
// random salt, e.g. "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>". The password is hashed
// exactly as given. It returns ErrBusy when no slot is available.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := randomBytes(h.params.SaltLen)
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return encodePHC(h.params, salt, h.kdf([]byte(password), salt, h.params)), nil
}

// Verify reports whether password matches encoded, a PHC argon2id string or a legacy bcrypt
// hash, comparing in constant time. needsRehash is true after a successful match when the
// stored hash is bcrypt or has weaker parameters than the Hasher's, so the caller should store
// a fresh Hash. A stored hash that does not parse strictly or exceeds MaxParams yields
// ErrMalformedHash without any hashing; no slot yields ErrBusy.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (ok, needsRehash bool, err error) {
	if isBcrypt(encoded) {
		return h.verifyBcrypt(ctx, password, encoded)
	}
	p, salt, key, err := decodePHC(encoded)
	if err != nil {
		return false, false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.release()
	got := h.kdf([]byte(password), salt, p)
	ok = subtle.ConstantTimeCompare(got, key) == 1
	return ok, ok && p.weakerThan(h.params), nil
}

// verifyBcrypt checks a legacy bcrypt hash. Passwords longer than 72 bytes are compared as
// the legacy system hashed them, on their first 72 bytes (bcrypt ignores the rest); the
// rehash that follows a match removes that weakness.
func (h *Hasher) verifyBcrypt(ctx context.Context, password, encoded string) (ok, needsRehash bool, err error) {
	cost, err := bcrypt.Cost([]byte(encoded))
	if err != nil {
		return false, false, fmt.Errorf("%w: bcrypt: %v", ErrMalformedHash, err)
	}
	if cost > maxBcryptCost {
		return false, false, fmt.Errorf("%w: bcrypt cost %d above %d", ErrMalformedHash, cost, maxBcryptCost)
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.release()
	switch err := bcrypt.CompareHashAndPassword([]byte(encoded), []byte(password)); {
	case err == nil:
		return true, true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, false, nil
	default:
		return false, false, fmt.Errorf("%w: bcrypt: %v", ErrMalformedHash, err)
	}
}

// VerifyDummy runs a full argon2id verification with the Hasher's current parameters against
// a hash that no password matches, for sign-ins to accounts that do not exist or have no
// password, so that response time does not reveal whether an account exists. It returns nil
// after doing the work, or ErrBusy exactly as Verify would.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) error {
	_, _, err := h.Verify(ctx, password, h.dummy)
	return err
}

func isBcrypt(s string) bool {
	return strings.HasPrefix(s, "$2a$") || strings.HasPrefix(s, "$2b$") || strings.HasPrefix(s, "$2y$")
}
