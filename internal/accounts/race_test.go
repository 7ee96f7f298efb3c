package accounts_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/password"
)

// slowHasher has real bounded concurrency and a cost of a few milliseconds, which widens the
// window between reading the user and storing the session, as production argon2id does.
func slowHasher() *password.Hasher {
	return password.NewUnsafeHasherForTests(password.Config{
		Params:      password.Params{Memory: 2048, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32},
		Concurrency: 8, QueueSize: 1024, QueueTimeout: time.Minute,
	})
}

// TestCredentialChangeEndsRacingSignIns races many sign-ins with the current password
// against an admin password change, disable or delete: afterwards no session handed out to
// those sign-ins may be live, and each must be on the revocation feed (so that its access
// tokens die too), on every backend.
func TestCredentialChangeEndsRacingSignIns(t *testing.T) {
	newPassword := "a brand new password, really"
	yes := true
	actions := []struct {
		name string
		do   func(ctx context.Context, f *fixture, id string) error
	}{
		{"password", func(ctx context.Context, f *fixture, id string) error {
			_, err := f.svc.UpdateUser(ctx, id, accounts.UserPatch{Password: &newPassword}, adminClient)
			return err
		}},
		{"disable", func(ctx context.Context, f *fixture, id string) error {
			_, err := f.svc.UpdateUser(ctx, id, accounts.UserPatch{Disabled: &yes}, adminClient)
			return err
		}},
		{"delete", func(ctx context.Context, f *fixture, id string) error {
			return f.svc.DeleteUser(ctx, id, adminClient)
		}},
	}
	for _, b := range backends {
		for _, a := range actions {
			t.Run(b.name+"/"+a.name, func(t *testing.T) {
				f := newFixture(t, b.open(t), slowHasher(), generous)
				rounds, logins := 3, 16
				if raceDetector || testing.Short() {
					rounds, logins = 1, 8
				}
				survivors := 0
				for round := range rounds {
					survivors += raceRound(t, f, fmt.Sprintf("racer%d@example.com", round), logins, a.do)
				}
				if survivors > 0 {
					t.Fatalf("%d sessions from sign-ins with the old credentials survived a %s (in %d rounds)", survivors, a.name, rounds)
				}
			})
		}
	}
}

// raceRound signs in logins goroutines in a loop with the user's password, runs change
// while they do, and returns how many of the sessions they got are still live or missing
// from the revocation feed.
func raceRound(t *testing.T, f *fixture, email string, logins int, change func(context.Context, *fixture, string) error) int {
	t.Helper()
	ctx := context.Background()
	u := f.mustUser(t, email, testPassword)
	var (
		mu        sync.Mutex
		won       []*accounts.Result
		successes atomic.Int64
		wg        sync.WaitGroup
	)
	stop := make(chan struct{})
	for i := range logins {
		wg.Go(func() {
			c := client(fmt.Sprintf("198.51.100.%d", i))
			if i%2 == 1 {
				c.Delivery = accounts.DeliverTokens
			}
			for {
				select {
				case <-stop:
					return
				default:
				}
				res, err := f.svc.Login(ctx, email, testPassword, c)
				switch {
				case err == nil:
					mu.Lock()
					won = append(won, res)
					mu.Unlock()
					successes.Add(1)
				case errors.Is(err, accounts.ErrInvalidCredentials):
				default:
					t.Errorf("login: %v", err)
					return
				}
			}
		})
	}
	for successes.Load() < int64(2*logins) && !t.Failed() {
		time.Sleep(time.Millisecond) // let sign-ins get going; nothing is asserted on timing
	}
	if err := change(ctx, f, u.ID); err != nil {
		t.Fatal(err)
	}
	// Every attempt that had read the user before the change finishes now.
	close(stop)
	wg.Wait()

	revoked := map[string]bool{}
	var cursor int64
	for {
		page, err := f.sessions.RevocationsAfter(ctx, cursor, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			revoked[r.SessionID] = true
			cursor = r.Cursor
		}
		if len(page) < 1000 {
			break
		}
	}
	bad := 0
	for _, res := range won {
		_, err := f.sessions.Get(ctx, res.Session.ID)
		if err == nil || !revoked[res.Session.ID] {
			bad++
		}
	}
	return bad
}
