package password

import (
	"context"
	"errors"
	"testing"
)

// TestHasherVerifiesEveryImportedScheme runs every independent vector through the sign-in
// path (Admit, then Ticket.Verify): the right password matches and asks for a rehash, a wrong
// one does not match, and no scheme runs argon2id behind the caller's back.
func TestHasherVerifiesEveryImportedScheme(t *testing.T) {
	h := NewUnsafeFastHasherForTests()
	calls, _ := countKDF(h)
	ctx := context.Background()
	for _, v := range loadVectors(t) {
		if Scheme(v.Encoded) == "argon2id" {
			continue // native: the KDF runs, covered by TestHashVerifyRoundTrip
		}
		t.Run(v.Scheme+"/"+v.Tool, func(t *testing.T) {
			for _, c := range []struct {
				pw string
				ok bool
			}{{v.Password, true}, {"!" + v.Password, false}} {
				tk, err := h.Admit(ctx, Admission{})
				if err != nil {
					t.Fatal(err)
				}
				ok, rehash, err := tk.Verify(c.pw, v.Encoded)
				if err != nil || ok != c.ok || rehash != c.ok {
					t.Fatalf("Ticket.Verify(%q) = %v, %v, %v; want ok = rehash = %v", c.pw, ok, rehash, err, c.ok)
				}
				if ok, rehash, err := h.Verify(ctx, c.pw, v.Encoded); err != nil || ok != c.ok || rehash != c.ok {
					t.Fatalf("Hasher.Verify(%q) = %v, %v, %v", c.pw, ok, rehash, err)
				}
			}
		})
	}
	if n := calls.Load(); n != 0 {
		t.Fatalf("imported schemes ran argon2id %d times", n)
	}
}

// TestTicketMalformedCostsADummy checks that a sign-in against a malformed stored hash costs
// one full verification (the dummy) and reports ErrMalformedHash, never a match.
func TestTicketMalformedCostsADummy(t *testing.T) {
	h := NewUnsafeFastHasherForTests()
	calls, _ := countKDF(h)
	for _, enc := range []string{"garbage", "$2a$31$abc", "$argon2id$v=19$m=4194304,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA", "{SSHA}!!"} {
		before := calls.Load()
		tk, err := h.Admit(context.Background(), Admission{})
		if err != nil {
			t.Fatal(err)
		}
		ok, rehash, err := tk.Verify("pw", enc)
		if ok || rehash || !errors.Is(err, ErrMalformedHash) {
			t.Fatalf("%q: ok=%v rehash=%v err=%v, want ErrMalformedHash", enc, ok, rehash, err)
		}
		if got := calls.Load() - before; got != 1 {
			t.Fatalf("%q: %d KDF runs, want 1 (the dummy)", enc, got)
		}
		if h.InFlight() != 0 {
			t.Fatalf("slot not released")
		}
	}
}
