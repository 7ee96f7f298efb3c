package accounts_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/password"
)

// fifoHasher admits every caller to one first-come-first-served queue, as the Hasher did
// before admission lanes: the baseline of the flood test.
type fifoHasher struct{ *password.Hasher }

func (f fifoHasher) Admit(ctx context.Context, _ password.Admission) (*password.Ticket, error) {
	return f.Hasher.Admit(ctx, password.Admission{})
}

// floodHasher is a Hasher bounded like production on two cores (2 slots, a queue of 16,
// 2 s queue timeout), with a cost of a few milliseconds per hash.
func floodHasher() *password.Hasher {
	return password.NewUnsafeHasherForTests(password.Config{
		Params:      password.Params{Memory: 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32},
		Concurrency: 2, QueueSize: 16, QueueTimeout: 2 * time.Second,
	})
}

// floodSuccess signs in a legitimate user legit times, one after another, from a network
// the account used before, while attackers goroutines on distinct networks send
// wrong-password sign-ins as fast as they are answered; it returns how many of the user's
// sign-ins succeeded.
func floodSuccess(t *testing.T, h accounts.Hasher, attackers, legit int, byCookie bool) int {
	t.Helper()
	f := newFixture(t, openSQLite(t), h, generous)
	ctx := context.Background()
	owner := f.mustUser(t, "owner@example.com", testPassword)
	home := client("192.0.2.10")
	first, err := f.svc.Login(ctx, owner.Email, testPassword, home)
	if err != nil {
		t.Fatal(err) // the account has now signed in from its home network
	}
	if byCookie { // a new network, but the browser presents its session cookie
		home = client("198.18.0.1")
		home.Session = string(first.Token)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range attackers {
		wg.Go(func() {
			c := client(fmt.Sprintf("10.%d.%d.1", i/200, i%200))
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				email := fmt.Sprintf("victim%d@example.com", n%50)
				if n%2 == 0 {
					email = owner.Email
				}
				f.svc.Login(ctx, email, "guess guess guess", c)
			}
		})
	}
	for h.(interface{ QueueDepth() int }).QueueDepth() < 16 { // wait until the flood fills the queue
		time.Sleep(time.Millisecond)
	}
	ok := 0
	for range legit {
		_, err := f.svc.Login(ctx, owner.Email, testPassword, home)
		switch {
		case err == nil:
			ok++
		case errors.Is(err, password.ErrBusy):
		default:
			t.Errorf("legitimate sign-in: %v", err)
		}
	}
	close(stop)
	wg.Wait()
	return ok
}

// TestLegitimateUserDuringFlood runs a 100-way wrong-password flood from distinct networks
// and a legitimate user signing in from a network the account used in the last 30 days (or
// from a new one, presenting a session cookie of the account):
// with one first-come-first-served queue (the baseline) nearly all of the user's sign-ins
// are shed with 503; with the priority lane nearly all succeed.
func TestLegitimateUserDuringFlood(t *testing.T) {
	if testing.Short() || raceDetector {
		t.Skip("flood simulation: a measurement, too slow under -short or -race")
	}
	const attackers, legit = 100, 33
	before := floodSuccess(t, fifoHasher{floodHasher()}, attackers, legit, false)
	after := floodSuccess(t, floodHasher(), attackers, legit, false)
	cookie := floodSuccess(t, floodHasher(), attackers, legit, true)
	t.Logf("legitimate sign-ins during a %d-way flood: %d/%d with one FIFO queue; with admission lanes %d/%d from a known network, %d/%d from a new network with a session cookie",
		attackers, before, legit, after, legit, cookie, legit)
	if after < legit*95/100 || cookie < legit*95/100 {
		t.Fatalf("only %d and %d of %d legitimate sign-ins succeeded during the flood", after, cookie, legit)
	}
}
