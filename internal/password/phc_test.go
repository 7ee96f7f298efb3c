package password

import (
	"context"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// FuzzParsePHC checks that no stored hash makes parsing or Verify panic, that whatever the
// parser accepts is within the caps and re-encodes to the same string, and that every
// rejection is ErrMalformedHash.
func FuzzParsePHC(f *testing.F) {
	h := NewUnsafeFastHasherForTests()
	f.Add(mustHash(f, h, "x"))
	f.Add(encodePHC(DefaultParams, make([]byte, 16), make([]byte, 32)))
	f.Add("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA")
	f.Add("$argon2id$v=19$m=4294967295,t=4294967295,p=255$c2FsdHNhbHQ$aGFzaA")
	b, err := bcrypt.GenerateFromPassword([]byte("x"), bcrypt.MinCost)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(b))
	f.Add("$2b$10$" + strings.Repeat("a", 53))
	f.Add("$$$$$")
	f.Add("")
	// Verify must not run a real KDF on what the fuzzer invents: parameters up to the caps
	// would be slow. The stub returns a key of the requested length.
	h.kdf = func(_, _ []byte, p Params) []byte { return make([]byte, p.KeyLen) }
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, key, err := decodePHC(s)
		if err != nil {
			if !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("decodePHC(%q) error %v is not ErrMalformedHash", s, err)
			}
		} else {
			if p.Memory > MaxParams.Memory || p.Time > MaxParams.Time || p.Threads > MaxParams.Threads ||
				p.Threads < 1 || p.Time < 1 || p.Memory < 8*uint32(p.Threads) ||
				len(salt) < minSaltLen || len(salt) > int(MaxParams.SaltLen) ||
				len(key) < minKeyLen || len(key) > int(MaxParams.KeyLen) {
				t.Fatalf("decodePHC accepted out-of-range %q: %+v", s, p)
			}
			if got := encodePHC(p, salt, key); got != s {
				t.Fatalf("decodePHC accepted a non-canonical string:\n in  %q\n out %q", s, got)
			}
		}
		if isBcrypt(s) {
			return // real bcrypt work; covered by TestVerifyBcrypt
		}
		ok, _, err := h.Verify(context.Background(), "x", s)
		if err != nil && !errors.Is(err, ErrMalformedHash) {
			t.Fatalf("Verify(%q) error %v", s, err)
		}
		if ok && err != nil {
			t.Fatalf("Verify(%q) ok with error %v", s, err)
		}
	})
}
