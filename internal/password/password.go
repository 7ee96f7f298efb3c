// Package password hashes and verifies passwords and applies the password policy.
//
// Hashes are argon2id in the PHC string format, with at least the parameters of DESIGN.md §5
// (m=19 MiB, t=2, p=1). Hashing is the most expensive thing a sign-in does, so a Hasher runs at
// most Concurrency hashes at once and lets at most QueueSize callers wait for a slot; the rest
// get ErrBusy at once (the API answers 503 with Retry-After). Memory is therefore bounded by
// Concurrency × 19 MiB however many sign-ins arrive together.
//
// Legacy bcrypt hashes ($2a$, $2b$, $2y$) verify too, so that imported users keep their
// passwords; they are reported as needing a rehash.
//
// The common-password list is Openwall's password.lst (from Debian's john-data), compiled by
// Solar Designer and placed in the public domain; its header is kept in common-passwords.txt.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// ErrBusy is returned when no hashing slot frees up in time: the caller should answer 503
// temporarily_unavailable with Retry-After.
var ErrBusy = errors.New("password hashing is saturated")

// ErrMalformedHash is returned for a stored hash that cannot be parsed or asks for absurd
// parameters.
var ErrMalformedHash = errors.New("malformed password hash")

// Params are argon2id parameters. Memory is in KiB.
type Params struct {
	Memory  uint32
	Time    uint32
	Threads uint8
	SaltLen uint32
	KeyLen  uint32
}

// DefaultParams are the minimum DESIGN.md §5 allows: argon2id m=19 MiB, t=2, p=1 (OWASP's
// first recommended configuration), 16-byte salt, 32-byte key.
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Caps on parameters read from a stored hash, so that a hostile or corrupt row cannot make a
// verification allocate gigabytes or spin for minutes.
const (
	maxMemory  = 1 << 20 // KiB = 1 GiB
	maxTime    = 64
	maxThreads = 64
	maxKeyLen  = 128
	maxSaltLen = 64
)

func (p Params) weakerThan(q Params) bool {
	return p.Memory < q.Memory || p.Time < q.Time || p.KeyLen < q.KeyLen || p.SaltLen < q.SaltLen
}

// Config configures a Hasher.
type Config struct {
	Params Params
	// Concurrency is how many hashes may run at once; default GOMAXPROCS.
	Concurrency int
	// QueueSize is how many callers may wait for a slot; default 8 × Concurrency, which at
	// ~30 ms a hash is about 120 ms of queue on 2 cores: a burst is absorbed, a flood is shed.
	QueueSize int
	// QueueTimeout is how long a caller may wait for a slot; default 2 s.
	QueueTimeout time.Duration
}

// Hasher hashes and verifies passwords with bounded concurrency.
type Hasher struct {
	params  Params
	slots   chan struct{}
	queue   chan struct{}
	timeout time.Duration
	waiting atomic.Int64
	running atomic.Int64
	dummy   string
	kdf     func(pw, salt []byte, p Params) []byte
}

// New returns a Hasher. It refuses parameters weaker than DefaultParams.
func New(cfg Config) (*Hasher, error) {
	p := cfg.Params
	if p.weakerThan(DefaultParams) || p.Threads < 1 {
		return nil, fmt.Errorf("password: argon2id parameters %+v are below the minimum %+v", p, DefaultParams)
	}
	return newHasher(cfg), nil
}

// NewUnsafeFastHasherForTests returns a Hasher with tiny argon2id parameters (64 KiB, t=1).
// It exists so that other packages' tests run fast. NEVER use it in production.
func NewUnsafeFastHasherForTests() *Hasher {
	return newHasher(Config{Params: Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, QueueSize: 1024, QueueTimeout: time.Minute})
}

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
	h := &Hasher{
		params:  cfg.Params,
		slots:   make(chan struct{}, cfg.Concurrency),
		queue:   make(chan struct{}, cfg.QueueSize),
		timeout: cfg.QueueTimeout,
		kdf:     argon2idKey,
	}
	salt := make([]byte, cfg.Params.SaltLen)
	rand.Read(salt)
	h.dummy = encode(cfg.Params, salt, h.kdf([]byte("gatehouse dummy password"), salt, cfg.Params))
	return h
}

func argon2idKey(pw, salt []byte, p Params) []byte {
	return argon2.IDKey(pw, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
}

// QueueDepth is the number of callers waiting for a hashing slot.
func (h *Hasher) QueueDepth() int { return int(h.waiting.Load()) }

// InFlight is the number of hashes being computed.
func (h *Hasher) InFlight() int { return int(h.running.Load()) }

// acquire takes a hashing slot, waiting in the bounded queue if needed.
func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		h.running.Add(1)
		return nil
	default:
	}
	select {
	case h.queue <- struct{}{}:
	default:
		return ErrBusy // the queue is full: shed at once
	}
	h.waiting.Add(1)
	defer func() { h.waiting.Add(-1); <-h.queue }()
	t := time.NewTimer(h.timeout)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		h.running.Add(1)
		return nil
	case <-t.C:
		return ErrBusy
	case <-ctx.Done():
		return ErrBusy
	}
}

func (h *Hasher) release() {
	h.running.Add(-1)
	<-h.slots
}

// Hash returns the PHC string of pw with a fresh salt.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	salt := make([]byte, h.params.SaltLen)
	rand.Read(salt)
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return encode(h.params, salt, h.kdf([]byte(pw), salt, h.params)), nil
}

// Verify reports whether pw matches the stored hash, and whether the hash should be
// replaced (weaker parameters than current, or a legacy algorithm).
func (h *Hasher) Verify(ctx context.Context, pw, encoded string) (ok, needsRehash bool, err error) {
	if isBcrypt(encoded) {
		if err := h.acquire(ctx); err != nil {
			return false, false, err
		}
		defer h.release()
		err := bcrypt.CompareHashAndPassword([]byte(encoded), []byte(pw))
		switch {
		case err == nil:
			return true, true, nil
		case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
			return false, false, nil
		default:
			return false, false, fmt.Errorf("%w: bcrypt: %v", ErrMalformedHash, err)
		}
	}
	p, salt, key, err := decode(encoded)
	if err != nil {
		return false, false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.release()
	got := h.kdf([]byte(pw), salt, p)
	ok = subtle.ConstantTimeCompare(got, key) == 1
	return ok, ok && p.weakerThan(h.params), nil
}

// VerifyDummy costs what Verify of a current hash costs and always fails: it is for accounts
// that do not exist (or have no password), so that timing tells nothing.
func (h *Hasher) VerifyDummy(ctx context.Context, pw string) error {
	_, _, err := h.Verify(ctx, pw, h.dummy)
	return err
}

func isBcrypt(s string) bool {
	return strings.HasPrefix(s, "$2a$") || strings.HasPrefix(s, "$2b$") || strings.HasPrefix(s, "$2y$")
}

var b64 = base64.RawStdEncoding

func encode(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// decode parses "$argon2id$v=19$m=..,t=..,p=..$salt$key" strictly.
func decode(s string) (Params, []byte, []byte, error) {
	var p Params
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, ErrMalformedHash
	}
	kv := strings.Split(parts[3], ",")
	if len(kv) != 3 {
		return p, nil, nil, ErrMalformedHash
	}
	var vals [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(kv[i], name)
		if !ok || v == "" || (len(v) > 1 && v[0] == '0') {
			return p, nil, nil, ErrMalformedHash
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return p, nil, nil, ErrMalformedHash
		}
		vals[i] = n
	}
	if vals[0] < 8 || vals[0] > maxMemory || vals[1] < 1 || vals[1] > maxTime || vals[2] < 1 || vals[2] > maxThreads || vals[0] < 8*vals[2] {
		return p, nil, nil, fmt.Errorf("%w: parameters out of range", ErrMalformedHash)
	}
	salt, err := b64.Strict().DecodeString(parts[4])
	if err != nil || len(salt) < 8 || len(salt) > maxSaltLen {
		return p, nil, nil, ErrMalformedHash
	}
	key, err := b64.Strict().DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > maxKeyLen {
		return p, nil, nil, ErrMalformedHash
	}
	p = Params{Memory: uint32(vals[0]), Time: uint32(vals[1]), Threads: uint8(vals[2]), SaltLen: uint32(len(salt)), KeyLen: uint32(len(key))}
	return p, salt, key, nil
}
