package password

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// fast are tiny parameters for tests that do not measure cost.
var fast = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func mustNew(tb testing.TB, cfg Config) *Hasher {
	tb.Helper()
	h, err := New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return h
}

func mustHash(tb testing.TB, h *Hasher, pw string) string {
	tb.Helper()
	enc, err := h.Hash(context.Background(), pw)
	if err != nil {
		tb.Fatalf("Hash: %v", err)
	}
	return enc
}

func mustBcrypt(tb testing.TB, pw string) string {
	tb.Helper()
	b, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		tb.Fatalf("bcrypt: %v", err)
	}
	return string(b)
}

// countKDF makes h count its KDF calls and record the parameters of the last one.
func countKDF(h *Hasher) (calls *atomic.Int64, last *atomic.Pointer[Params]) {
	calls, last = new(atomic.Int64), new(atomic.Pointer[Params])
	h.kdf = func(pw, salt []byte, p Params) []byte {
		calls.Add(1)
		last.Store(&p)
		return argon2idKey(pw, salt, p)
	}
	return calls, last
}

func TestHashVerifyRoundTrip(t *testing.T) {
	h := NewUnsafeFastHasherForTests()
	ctx := context.Background()
	const pw = "correct horse ünïcödé"
	enc := mustHash(t, h, pw)
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("not a PHC argon2id string: %s", enc)
	}
	if strings.Contains(enc, "=$") || strings.HasSuffix(enc, "=") {
		t.Fatalf("base64 is padded: %s", enc)
	}
	if mustHash(t, h, pw) == enc {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
	if ok, rehash, err := h.Verify(ctx, pw, enc); !ok || rehash || err != nil {
		t.Fatalf("right password: ok=%v rehash=%v err=%v", ok, rehash, err)
	}
	for _, tt := range []struct{ name, pw string }{
		{"trailing space", pw + " "},
		{"leading space", " " + pw},
		{"case", "Correct horse ünïcödé"},
		{"prefix", pw[:len(pw)-1]},
		{"empty", ""},
		{"NFD form", "correct horse u\u0308nïcödé"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if ok, rehash, err := h.Verify(ctx, tt.pw, enc); ok || rehash || err != nil {
				t.Fatalf("wrong password %q: ok=%v rehash=%v err=%v", tt.pw, ok, rehash, err)
			}
		})
	}
}

func TestDefaultParamsHash(t *testing.T) {
	h := mustNew(t, Config{Params: DefaultParams})
	enc := mustHash(t, h, "correct horse battery staple")
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %s does not carry DefaultParams", enc)
	}
	p, salt, key, err := decodePHC(enc)
	if err != nil || p != DefaultParams || len(salt) != 16 || len(key) != 32 {
		t.Fatalf("decode: %+v salt %d key %d err %v", p, len(salt), len(key), err)
	}
	if ok, rehash, err := h.Verify(context.Background(), "correct horse battery staple", enc); !ok || rehash || err != nil {
		t.Fatalf("verify: ok=%v rehash=%v err=%v", ok, rehash, err)
	}
}

func TestNew(t *testing.T) {
	with := func(f func(*Params)) Params { p := DefaultParams; f(&p); return p }
	for _, tt := range []struct {
		name    string
		cfg     Config
		wantErr bool
	}{
		{"defaults", Config{Params: DefaultParams}, false},
		{"stronger", Config{Params: Params{Memory: 64 * 1024, Time: 3, Threads: 4, SaltLen: 32, KeyLen: 64}}, false},
		{"maximum", Config{Params: MaxParams}, false},
		{"zero params", Config{}, true},
		{"test params", Config{Params: fast}, true},
		{"memory below 19 MiB", Config{Params: with(func(p *Params) { p.Memory-- })}, true},
		{"t=1", Config{Params: with(func(p *Params) { p.Time = 1 })}, true},
		{"p=0", Config{Params: with(func(p *Params) { p.Threads = 0 })}, true},
		{"salt 15", Config{Params: with(func(p *Params) { p.SaltLen = 15 })}, true},
		{"key 31", Config{Params: with(func(p *Params) { p.KeyLen = 31 })}, true},
		{"memory above cap", Config{Params: with(func(p *Params) { p.Memory = MaxParams.Memory + 1 })}, true},
		{"time above cap", Config{Params: with(func(p *Params) { p.Time = MaxParams.Time + 1 })}, true},
		{"threads above cap", Config{Params: with(func(p *Params) { p.Threads = MaxParams.Threads + 1 })}, true},
		{"key above cap", Config{Params: with(func(p *Params) { p.KeyLen = MaxParams.KeyLen + 1 })}, true},
		{"negative concurrency", Config{Params: DefaultParams, Concurrency: -1}, true},
		{"negative queue", Config{Params: DefaultParams, QueueSize: -1}, true},
		{"negative timeout", Config{Params: DefaultParams, QueueTimeout: -time.Second}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, err := New(tt.cfg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("New(%+v) err = %v, want error %v", tt.cfg, err, tt.wantErr)
			}
			if (h == nil) != tt.wantErr {
				t.Fatalf("New returned hasher %v with err %v", h, err)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	h := mustNew(t, Config{Params: DefaultParams})
	procs := runtime.GOMAXPROCS(0)
	if h.concurrency != procs || h.queueSize != 8*procs || h.timeout != 2*time.Second {
		t.Fatalf("concurrency %d queue %d timeout %v, want %d, %d, 2s", h.concurrency, h.queueSize, h.timeout, procs, 8*procs)
	}
	h = mustNew(t, Config{Params: DefaultParams, Concurrency: 3, QueueSize: 5, QueueTimeout: time.Second})
	if h.concurrency != 3 || h.queueSize != 5 || h.timeout != time.Second {
		t.Fatalf("explicit config not used: %d %d %v", h.concurrency, h.queueSize, h.timeout)
	}
}

func TestNeedsRehash(t *testing.T) {
	current := Params{Memory: 128, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
	h := newHasher(Config{Params: current})
	with := func(f func(*Params)) Params { p := current; f(&p); return p }
	for _, tt := range []struct {
		name       string
		stored     Params
		pw         string
		ok, rehash bool
	}{
		{"current", current, "pw", true, false},
		{"less memory", with(func(p *Params) { p.Memory = 64 }), "pw", true, true},
		{"fewer passes", with(func(p *Params) { p.Time = 1 }), "pw", true, true},
		{"shorter salt", with(func(p *Params) { p.SaltLen = 8 }), "pw", true, true},
		{"shorter key", with(func(p *Params) { p.KeyLen = 16 }), "pw", true, true},
		{"more memory", with(func(p *Params) { p.Memory = 256 }), "pw", true, false},
		{"more threads", with(func(p *Params) { p.Threads = 2 }), "pw", true, false},
		{"weaker but wrong password", with(func(p *Params) { p.Memory = 64 }), "other", false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			enc := mustHash(t, newHasher(Config{Params: tt.stored}), "pw")
			ok, rehash, err := h.Verify(context.Background(), tt.pw, enc)
			if ok != tt.ok || rehash != tt.rehash || err != nil {
				t.Fatalf("ok=%v rehash=%v err=%v, want ok=%v rehash=%v", ok, rehash, err, tt.ok, tt.rehash)
			}
		})
	}
}

func TestVerifyBcrypt(t *testing.T) {
	h := NewUnsafeFastHasherForTests()
	calls, _ := countKDF(h)
	enc := mustBcrypt(t, "legacy pass")
	if !strings.HasPrefix(enc, "$2a$04$") {
		t.Fatalf("unexpected bcrypt format %s", enc)
	}
	long := strings.Repeat("x", 72)
	for _, tt := range []struct {
		name, pw, enc string
		ok            bool
	}{
		{"2a right", "legacy pass", enc, true},
		{"2b right", "legacy pass", "$2b$" + enc[4:], true},
		{"2y right", "legacy pass", "$2y$" + enc[4:], true},
		{"2a wrong", "legacy pasS", enc, false},
		{"2b wrong", "", "$2b$" + enc[4:], false},
		// bcrypt hashes only the first 72 bytes; legacy systems did the same.
		{"beyond 72 bytes", long + "tail", mustBcrypt(t, long), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(context.Background(), tt.pw, tt.enc)
			if ok != tt.ok || rehash != tt.ok || err != nil {
				t.Fatalf("ok=%v rehash=%v err=%v, want ok=rehash=%v", ok, rehash, err, tt.ok)
			}
		})
	}
	if calls.Load() != 0 {
		t.Fatalf("bcrypt verification ran argon2id %d times", calls.Load())
	}
}

func TestVerifyMalformed(t *testing.T) {
	h := NewUnsafeFastHasherForTests()
	good := mustHash(t, h, "x")
	calls, _ := countKDF(h)
	f := strings.Split(good, "$") // "", alg, version, params, salt, key
	salt, key := f[4], f[5]
	phc := func(alg, v, params, salt, key string) string {
		return "$" + alg + "$" + v + "$" + params + "$" + salt + "$" + key
	}
	bc := mustBcrypt(t, "x")
	for _, tt := range []struct{ name, enc string }{
		{"empty", ""},
		{"garbage", "not a hash"},
		{"dollars", "$$$$$"},
		{"argon2d", phc("argon2d", "v=19", "m=64,t=1,p=1", salt, key)},
		{"upper-case algorithm", phc("ARGON2ID", "v=19", "m=64,t=1,p=1", salt, key)},
		{"version 16", phc("argon2id", "v=16", "m=64,t=1,p=1", salt, key)},
		{"missing version", "$argon2id$m=64,t=1,p=1$" + salt + "$" + key},
		{"missing key", "$argon2id$v=19$m=64,t=1,p=1$" + salt},
		{"missing salt and key", "$argon2id$v=19$m=64,t=1,p=1"},
		{"empty salt", phc("argon2id", "v=19", "m=64,t=1,p=1", "", key)},
		{"empty key", phc("argon2id", "v=19", "m=64,t=1,p=1", salt, "")},
		{"extra field", good + "$x"},
		{"no leading dollar", strings.TrimPrefix(good, "$")},
		{"missing p", phc("argon2id", "v=19", "m=64,t=1", salt, key)},
		{"extra param", phc("argon2id", "v=19", "m=64,t=1,p=1,k=2", salt, key)},
		{"params out of order", phc("argon2id", "v=19", "t=1,m=64,p=1", salt, key)},
		{"leading zero", phc("argon2id", "v=19", "m=064,t=1,p=1", salt, key)},
		{"plus sign", phc("argon2id", "v=19", "m=+64,t=1,p=1", salt, key)},
		{"negative", phc("argon2id", "v=19", "m=-64,t=1,p=1", salt, key)},
		{"space", phc("argon2id", "v=19", "m=64, t=1,p=1", salt, key)},
		{"not a number", phc("argon2id", "v=19", "m=lots,t=1,p=1", salt, key)},
		{"overflow", phc("argon2id", "v=19", "m=99999999999,t=1,p=1", salt, key)},
		{"4 GiB memory", phc("argon2id", "v=19", "m=4194304,t=1,p=1", salt, key)},
		{"memory just above cap", phc("argon2id", "v=19", "m=262145,t=1,p=1", salt, key)},
		{"memory below 8 KiB per lane", phc("argon2id", "v=19", "m=15,t=1,p=2", salt, key)},
		{"a million passes", phc("argon2id", "v=19", "m=64,t=1000000,p=1", salt, key)},
		{"zero passes", phc("argon2id", "v=19", "m=64,t=0,p=1", salt, key)},
		{"zero threads", phc("argon2id", "v=19", "m=64,t=1,p=0", salt, key)},
		{"255 threads", phc("argon2id", "v=19", "m=8192,t=1,p=255", salt, key)},
		{"bad base64", phc("argon2id", "v=19", "m=64,t=1,p=1", "!!!!!!!!!!!!", key)},
		{"url-safe base64", phc("argon2id", "v=19", "m=64,t=1,p=1", strings.Repeat("_-", 11), key)},
		{"padded salt", phc("argon2id", "v=19", "m=64,t=1,p=1", salt+"==", key)},
		{"non-canonical trailing bits", phc("argon2id", "v=19", "m=64,t=1,p=1", salt[:len(salt)-1]+"B", key)},
		{"line break in salt", phc("argon2id", "v=19", "m=64,t=1,p=1", salt[:4]+"\n"+salt[4:], key)},
		{"short salt", phc("argon2id", "v=19", "m=64,t=1,p=1", "AAAAAA", key)},
		{"long salt", phc("argon2id", "v=19", "m=64,t=1,p=1", strings.Repeat("A", 90), key)},
		{"short key", phc("argon2id", "v=19", "m=64,t=1,p=1", salt, "AAAAAAAAAAAAAAAAAAAA")},
		{"long key", phc("argon2id", "v=19", "m=64,t=1,p=1", salt, strings.Repeat("A", 90))},
		{"bcrypt truncated", "$2b$10$abc"},
		{"bcrypt no cost", "$2a$"},
		{"bcrypt cost 31", "$2a$31$" + bc[7:]},
		{"bcrypt cost 15", "$2a$15$" + bc[7:]},
		// One bcrypt cap for imported and stored hashes: MaxLegacyBcryptCost (13).
		{"bcrypt cost 14", "$2a$14$" + bc[7:]},
		{"unknown scheme", "$md4$abc$def"},
		{"scrypt over its cap", "$scrypt$ln=30,r=8,p=1$c2FsdHNhbHQ$" + strings.Repeat("A", 43)},
		{"bcrypt bad cost", "$2a$xx$" + bc[7:]},
		{"bcrypt 2x", "$2x$" + bc[4:]},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(context.Background(), "x", tt.enc)
			if ok || rehash || !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("ok=%v rehash=%v err=%v, want ErrMalformedHash", ok, rehash, err)
			}
		})
	}
	if calls.Load() != 0 {
		t.Fatalf("malformed hashes ran the KDF %d times, want 0", calls.Load())
	}
}

func TestPHCRoundTrip(t *testing.T) {
	for _, p := range []Params{fast, DefaultParams, MaxParams, {Memory: 16, Time: 1, Threads: 2, SaltLen: 8, KeyLen: 16}} {
		salt, key := randomBytes(p.SaltLen), randomBytes(p.KeyLen)
		enc := encodePHC(p, salt, key)
		gotP, gotSalt, gotKey, err := decodePHC(enc)
		if err != nil || gotP != p || string(gotSalt) != string(salt) || string(gotKey) != string(key) {
			t.Fatalf("%s: decoded %+v err %v", enc, gotP, err)
		}
	}
}

func TestVerifyDummyRunsTheKDF(t *testing.T) {
	current := Params{Memory: 128, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
	h := newHasher(Config{Params: current})
	calls, last := countKDF(h)
	for i := range 3 {
		if err := h.VerifyDummy(context.Background(), "anything"); err != nil {
			t.Fatal(err)
		}
		if got := calls.Load(); got != int64(i+1) {
			t.Fatalf("after %d dummy verifications the KDF ran %d times", i+1, got)
		}
	}
	if p := last.Load(); p == nil || *p != current {
		t.Fatalf("dummy verification used params %+v, want the current %+v", p, current)
	}
	// The dummy hash matches no password, not even the empty one.
	if ok, _, err := h.Verify(context.Background(), "", h.dummy); ok || err != nil {
		t.Fatalf("dummy hash matched: %v %v", ok, err)
	}
}

func TestParamsValidate(t *testing.T) {
	for _, tt := range []struct {
		name  string
		p     Params
		nErrs int
	}{
		{"defaults", DefaultParams, 0},
		{"maximum", MaxParams, 0},
		{"test params", fast, 1},
		{"too weak and too big", Params{Memory: 1 << 30, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			n := 0
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				n = len(j.Unwrap())
			} else if err != nil {
				n = 1
			}
			if n != tt.nErrs {
				t.Fatalf("Validate(%+v) = %v: %d problems, want %d", tt.p, err, n, tt.nErrs)
			}
		})
	}
}
