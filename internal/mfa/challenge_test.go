package mfa_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/clock"
	"github.com/gatehouse-auth/gatehouse/internal/mfa"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
)

var binding = mfa.Binding{Delivery: "cookie", IPClass: "203.0.113.0/24", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"}

func newChallenges(t *testing.T) (*mfa.Challenges, *memChallenges, *clock.Fake) {
	t.Helper()
	clk := clock.NewFake(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	st := newMemChallenges()
	return mfa.NewChallenges(st, clk.Now), st, clk
}

func TestChallengeIssue(t *testing.T) {
	c, st, _ := newChallenges(t)
	ctx := context.Background()
	tok, err := c.Issue(ctx, "u1", binding, []byte("state"))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(tok) != "[REDACTED]" {
		t.Fatalf("token prints as %v", tok)
	}
	id, sec, ok := mfa.ParseChallengeToken(string(tok))
	if !ok {
		t.Fatalf("token %q does not parse", tok)
	}
	stored := st.byID[id]
	if strings.Contains(fmt.Sprintf("%+v", stored), sec) || string(stored.SecretHash) == sec {
		t.Fatal("the secret is stored")
	}
	if strings.Contains(string(stored.BindingHash), binding.UserAgent) {
		t.Fatal("the binding is stored in clear")
	}
	ch, err := c.Challenge(ctx, string(tok), binding)
	if err != nil {
		t.Fatal(err)
	}
	if ch.UserID != "u1" || ch.Delivery != "cookie" || string(ch.Data) != "state" || ch.Failures != 0 {
		t.Fatalf("challenge %+v", ch)
	}
	if err := c.Consume(ctx, ch); err != nil {
		t.Fatal(err)
	}
	if err := c.Consume(ctx, ch); !errors.Is(err, mfa.ErrChallenge) {
		t.Fatalf("consume twice: %v", err)
	}
	if _, err := c.Challenge(ctx, string(tok), binding); !errors.Is(err, mfa.ErrChallenge) {
		t.Fatalf("a consumed token still works: %v", err)
	}
}

func TestChallengeRefused(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		mangle func(tok string, clk *clock.Fake) (string, mfa.Binding)
	}{
		{"other delivery", func(tok string, _ *clock.Fake) (string, mfa.Binding) {
			b := binding
			b.Delivery = "token"
			return tok, b
		}},
		{"other network", func(tok string, _ *clock.Fake) (string, mfa.Binding) {
			b := binding
			b.IPClass = "198.51.100.0/24"
			return tok, b
		}},
		{"other user agent", func(tok string, _ *clock.Fake) (string, mfa.Binding) {
			b := binding
			b.UserAgent += " "
			return tok, b
		}},
		{"fields shifted", func(tok string, _ *clock.Fake) (string, mfa.Binding) {
			b := binding
			b.Delivery, b.IPClass = b.Delivery+b.IPClass[:3], b.IPClass[3:]
			return tok, b
		}},
		{"wrong secret", func(tok string, _ *clock.Fake) (string, mfa.Binding) {
			return tok[:secret.IDLen+1] + secret.NewToken(), binding
		}},
		{"unknown id", func(tok string, _ *clock.Fake) (string, mfa.Binding) {
			return secret.NewID() + tok[secret.IDLen:], binding
		}},
		{"expired", func(tok string, clk *clock.Fake) (string, mfa.Binding) {
			clk.Add(mfa.ChallengeTTL)
			return tok, binding
		}},
		{"malformed", func(tok string, _ *clock.Fake) (string, mfa.Binding) {
			return tok + "x", binding
		}},
		{"empty", func(string, *clock.Fake) (string, mfa.Binding) { return "", binding }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, _, clk := newChallenges(t)
			tok, err := c.Issue(ctx, "u1", binding, nil)
			if err != nil {
				t.Fatal(err)
			}
			clk.Add(mfa.ChallengeTTL - time.Second)
			if _, err := c.Challenge(ctx, string(tok), binding); err != nil {
				t.Fatalf("the token itself is refused a second before expiry: %v", err)
			}
			mt, mb := tt.mangle(string(tok), clk)
			if _, err := c.Challenge(ctx, mt, mb); !errors.Is(err, mfa.ErrChallenge) {
				t.Fatalf("Challenge: %v, want ErrChallenge", err)
			}
		})
	}
}

func TestChallengeFailures(t *testing.T) {
	c, _, _ := newChallenges(t)
	ctx := context.Background()
	tok, _ := c.Issue(ctx, "u1", binding, nil)
	for i := 1; i <= mfa.MaxChallengeFailures; i++ {
		ch, err := c.Challenge(ctx, string(tok), binding)
		if err != nil {
			t.Fatalf("before failure %d: %v", i, err)
		}
		left, err := c.Fail(ctx, ch)
		if err != nil || left != mfa.MaxChallengeFailures-i {
			t.Fatalf("failure %d: %d left, %v", i, left, err)
		}
		if i == mfa.MaxChallengeFailures {
			if err := c.Consume(ctx, ch); !errors.Is(err, mfa.ErrChallenge) {
				t.Fatalf("consumed after %d failures: %v", i, err)
			}
		}
	}
	if _, err := c.Challenge(ctx, string(tok), binding); !errors.Is(err, mfa.ErrChallenge) {
		t.Fatalf("token alive after %d failures: %v", mfa.MaxChallengeFailures, err)
	}
}

func TestChallengeConsumeRace(t *testing.T) {
	c, _, _ := newChallenges(t)
	ctx := context.Background()
	tok, _ := c.Issue(ctx, "u1", binding, nil)
	ch, err := c.Challenge(ctx, string(tok), binding)
	if err != nil {
		t.Fatal(err)
	}
	var wins atomic.Int64
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Consume(ctx, ch); err == nil {
				wins.Add(1)
			} else if !errors.Is(err, mfa.ErrChallenge) {
				t.Errorf("consume: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d concurrent consumes won, want 1", wins.Load())
	}
}

func TestChallengeFailClosed(t *testing.T) {
	c, st, _ := newChallenges(t)
	ctx := context.Background()
	tok, _ := c.Issue(ctx, "u1", binding, nil)
	ch, _ := c.Challenge(ctx, string(tok), binding)
	st.fail = errDown
	if _, err := c.Challenge(ctx, string(tok), binding); !errors.Is(err, errDown) {
		t.Fatalf("Challenge: %v", err)
	}
	if _, err := c.Fail(ctx, ch); !errors.Is(err, errDown) {
		t.Fatalf("Fail: %v", err)
	}
	if err := c.Consume(ctx, ch); !errors.Is(err, errDown) {
		t.Fatalf("Consume: %v", err)
	}
	if _, err := c.Issue(ctx, "u1", binding, nil); !errors.Is(err, errDown) {
		t.Fatalf("Issue: %v", err)
	}
}

func FuzzParseChallengeToken(f *testing.F) {
	f.Add(secret.NewID() + "." + secret.NewToken())
	f.Add("")
	f.Add(strings.Repeat("a", 26) + "." + strings.Repeat("A", 43))
	f.Add(strings.Repeat("a", 26) + "x" + strings.Repeat("A", 43))
	f.Fuzz(func(t *testing.T, s string) {
		id, sec, ok := mfa.ParseChallengeToken(s)
		if !ok {
			return
		}
		if id+"."+sec != s || !secret.ValidID(id) || !secret.ValidToken(sec) {
			t.Fatalf("ParseChallengeToken(%q) = %q, %q", s, id, sec)
		}
	})
}

func TestIPClass(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"203.0.113.7", "203.0.113.0/24"},
		{"203.0.113.250", "203.0.113.0/24"},
		{"::ffff:203.0.113.7", "203.0.113.0/24"},
		{"2001:db8:1234:5678::1", "2001:db8:1234::/48"},
		{"2001:db8:1234:ffff::2", "2001:db8:1234::/48"},
		{"fe80::1%eth0", "fe80::/48"},
	} {
		if got := mfa.IPClass(netip.MustParseAddr(tt.in)); got != tt.want {
			t.Errorf("IPClass(%s) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := mfa.IPClass(netip.Addr{}); got != "" {
		t.Errorf("IPClass(zero) = %q", got)
	}
}
