package password

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

var fast = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHashVerify(t *testing.T) {
	h := NewUnsafeFastHasherForTests()
	ctx := context.Background()
	enc, err := h.Hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("not a PHC argon2id string: %s", enc)
	}
	if enc2, _ := h.Hash(ctx, "correct horse"); enc2 == enc {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
	if ok, _, err := h.Verify(ctx, "correct horse", enc); !ok || err != nil {
		t.Fatalf("right password: %v %v", ok, err)
	}
	for _, wrong := range []string{"correct horse ", "Correct horse", "", "correct hors"} {
		if ok, _, err := h.Verify(ctx, wrong, enc); ok || err != nil {
			t.Fatalf("wrong password %q: %v %v", wrong, ok, err)
		}
	}
}

func TestNewRefusesWeakParams(t *testing.T) {
	if _, err := New(Config{Params: fast}); err == nil {
		t.Fatal("weak parameters accepted")
	}
	if _, err := New(Config{Params: DefaultParams}); err != nil {
		t.Fatal(err)
	}
}

func TestNeedsRehash(t *testing.T) {
	weak := NewUnsafeFastHasherForTests()
	enc, _ := weak.Hash(context.Background(), "pw")
	strong := newHasher(Config{Params: Params{Memory: 128, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}})
	ok, rehash, err := strong.Verify(context.Background(), "pw", enc)
	if !ok || !rehash || err != nil {
		t.Fatalf("weaker stored hash: ok=%v rehash=%v err=%v", ok, rehash, err)
	}
	enc, _ = strong.Hash(context.Background(), "pw")
	if _, rehash, _ := strong.Verify(context.Background(), "pw", enc); rehash {
		t.Fatal("current hash flagged for rehash")
	}
}

func TestBcrypt(t *testing.T) {
	h := NewUnsafeFastHasherForTests()
	b, _ := bcrypt.GenerateFromPassword([]byte("legacy pass"), bcrypt.MinCost)
	ok, rehash, err := h.Verify(context.Background(), "legacy pass", string(b))
	if !ok || !rehash || err != nil {
		t.Fatalf("bcrypt: %v %v %v", ok, rehash, err)
	}
	if ok, _, _ := h.Verify(context.Background(), "wrong", string(b)); ok {
		t.Fatal("bcrypt wrong password accepted")
	}
}

func TestMalformedHashes(t *testing.T) {
	h := NewUnsafeFastHasherForTests()
	good, _ := h.Hash(context.Background(), "x")
	parts := strings.Split(good, "$")
	for name, enc := range map[string]string{
		"empty":        "",
		"garbage":      "not a hash",
		"argon2i":      "$argon2i$v=19$m=64,t=1,p=1$" + parts[4] + "$" + parts[5],
		"version 16":   "$argon2id$v=16$m=64,t=1,p=1$" + parts[4] + "$" + parts[5],
		"missing key":  "$argon2id$v=19$m=64,t=1,p=1$" + parts[4],
		"huge memory":  "$argon2id$v=19$m=4294967295,t=1,p=1$" + parts[4] + "$" + parts[5],
		"huge time":    "$argon2id$v=19$m=64,t=1000000,p=1$" + parts[4] + "$" + parts[5],
		"zero threads": "$argon2id$v=19$m=64,t=1,p=0$" + parts[4] + "$" + parts[5],
		"order":        "$argon2id$v=19$t=1,m=64,p=1$" + parts[4] + "$" + parts[5],
		"leading zero": "$argon2id$v=19$m=064,t=1,p=1$" + parts[4] + "$" + parts[5],
		"bad base64":   "$argon2id$v=19$m=64,t=1,p=1$!!!!$" + parts[5],
		"padded":       "$argon2id$v=19$m=64,t=1,p=1$" + parts[4] + "==$" + parts[5],
		"short salt":   "$argon2id$v=19$m=64,t=1,p=1$AAAA$" + parts[5],
		"extra field":  good + "$x",
		"bcrypt junk":  "$2b$10$abc",
	} {
		t.Run(name, func(t *testing.T) {
			ok, _, err := h.Verify(context.Background(), "x", enc)
			if ok || !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("ok=%v err=%v, want ErrMalformedHash", ok, err)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	for _, tt := range []struct {
		name, pw string
		want     error
	}{
		{"7 runes", "abcdefg", ErrTooShort},
		{"8 runes", "kq8#vZp2", nil},
		{"8 multibyte runes", "ünïcödé€", nil},
		{"6 multibyte runes, 12 bytes", "ééééé€", ErrTooShort},
		{"256 runes", strings.Repeat("ab", 128), nil},
		{"257 runes", strings.Repeat("x", 257), ErrTooLong},
		{"common", "password1", ErrCommon},
		{"common digits", "12345678", ErrCommon},
		{"common upper-case", "PASSWORD", ErrCommon},
		{"invalid utf8", "abcdefgh\xff", ErrInvalid},
		{"nul", "abcd\x00efgh", ErrInvalid},
		{"spaces kept", "        ", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := Check(tt.pw); !errors.Is(err, tt.want) {
				t.Fatalf("Check = %v, want %v", err, tt.want)
			}
		})
	}
	if n := len(common()); n < 3000 {
		t.Fatalf("common list has %d entries", n)
	}
}

// blockingHasher returns a Hasher whose KDF blocks until release is closed and counts how
// many run at once.
func blockingHasher(conc, queue int, timeout time.Duration) (h *Hasher, inside *atomic.Int64, peak *atomic.Int64, calls *atomic.Int64, release chan struct{}) {
	h = newHasher(Config{Params: fast, Concurrency: conc, QueueSize: queue, QueueTimeout: timeout})
	inside, peak, calls = new(atomic.Int64), new(atomic.Int64), new(atomic.Int64)
	release = make(chan struct{})
	h.kdf = func(pw, salt []byte, p Params) []byte {
		calls.Add(1)
		n := inside.Add(1)
		for {
			old := peak.Load()
			if n <= old || peak.CompareAndSwap(old, n) {
				break
			}
		}
		<-release
		inside.Add(-1)
		return argon2idKey(pw, salt, p)
	}
	return
}

func TestBoundedConcurrency(t *testing.T) {
	h, inside, peak, _, release := blockingHasher(2, 3, time.Minute)
	var wg sync.WaitGroup
	var busy, done atomic.Int64
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := h.Hash(context.Background(), "pw"); errors.Is(err, ErrBusy) {
				busy.Add(1)
			} else if err == nil {
				done.Add(1)
			}
		}()
	}
	waitFor(t, func() bool { return inside.Load() == 2 && h.QueueDepth() == 3 && busy.Load() == 5 })
	close(release)
	wg.Wait()
	if peak.Load() != 2 || done.Load() != 5 || busy.Load() != 5 {
		t.Fatalf("peak=%d done=%d busy=%d, want 2/5/5", peak.Load(), done.Load(), busy.Load())
	}
	if h.InFlight() != 0 || h.QueueDepth() != 0 {
		t.Fatalf("leaked slots: in flight %d, queued %d", h.InFlight(), h.QueueDepth())
	}
}

func TestQueuedCallerGivesUp(t *testing.T) {
	h, inside, _, _, release := blockingHasher(1, 2, time.Minute)
	go h.Hash(context.Background(), "holder")
	waitFor(t, func() bool { return inside.Load() == 1 })
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := h.Hash(ctx, "waiter"); errc <- err }()
	waitFor(t, func() bool { return h.QueueDepth() == 1 })
	cancel()
	if err := <-errc; !errors.Is(err, ErrBusy) {
		t.Fatalf("cancelled waiter: %v", err)
	}
	// Timeout too.
	h.timeout = time.Millisecond
	if _, err := h.Hash(context.Background(), "late"); !errors.Is(err, ErrBusy) {
		t.Fatalf("timed-out waiter: %v", err)
	}
	close(release)
	waitFor(t, func() bool { return h.InFlight() == 0 && h.QueueDepth() == 0 })
}

func TestDummyRunsTheKDF(t *testing.T) {
	h, _, _, calls, release := blockingHasher(1, 1, time.Minute)
	close(release)
	before := calls.Load()
	if err := h.VerifyDummy(context.Background(), "anything"); err != nil {
		t.Fatal(err)
	}
	if calls.Load()-before != 1 {
		t.Fatalf("dummy verification ran the KDF %d times, want 1", calls.Load()-before)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}

func FuzzParsePHC(f *testing.F) {
	f.Add("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA")
	f.Add("$2b$10$" + strings.Repeat("a", 53))
	f.Add("$$$$$")
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, key, err := decode(s)
		if err == nil && (p.Memory > maxMemory || p.Time > maxTime || len(salt) < 8 || len(key) < 16) {
			t.Fatalf("accepted out-of-range %q", s)
		}
	})
}

func BenchmarkHash(b *testing.B) {
	h, _ := New(Config{Params: DefaultParams})
	for b.Loop() {
		if _, err := h.Hash(context.Background(), "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHashParallel is the raw hashing throughput of all cores together (no HTTP, no
// store): what a login benchmark can at best approach. Two argon2id computations of 19 MiB
// each contend for memory bandwidth, so this is below cores ÷ single-hash time.
func BenchmarkHashParallel(b *testing.B) {
	h, _ := New(Config{Params: DefaultParams, QueueSize: 1024, QueueTimeout: time.Minute})
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := h.Hash(context.Background(), "correct horse battery staple"); err != nil {
				b.Error(err)
			}
		}
	})
}
