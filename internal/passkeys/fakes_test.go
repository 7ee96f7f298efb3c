package passkeys

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/onetime"
	"github.com/gatehouse-auth/gatehouse/internal/passkeys/passkeystest"
)

// mem is an in-memory passkeys.Store, onetime.Store and audit.Store for the fuzz targets and
// benchmarks, which need many ceremonies fast; the conformance suite keeps the real stores
// honest.
type mem struct {
	mu     sync.Mutex
	keys   []*Passkey
	codes  map[string][]byte
	events []*audit.Event
}

func newMem() *mem { return &mem{codes: map[string][]byte{}} }

func (m *mem) CreatePasskey(_ context.Context, p *Passkey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range m.keys {
		if bytes.Equal(k.CredentialID, p.CredentialID) {
			return ErrConflict
		}
	}
	c := *p
	m.keys = append(m.keys, &c)
	return nil
}

func (m *mem) PasskeysByUser(_ context.Context, userID string) ([]*Passkey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*Passkey
	for _, k := range m.keys {
		if k.UserID == userID {
			c := *k
			out = append(out, &c)
		}
	}
	return out, nil
}

func (m *mem) PasskeyByCredentialID(_ context.Context, id []byte) (*Passkey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range m.keys {
		if bytes.Equal(k.CredentialID, id) {
			c := *k
			return &c, nil
		}
	}
	return nil, ErrNotFound
}

func (m *mem) RecordPasskeyUse(_ context.Context, id string, count uint32, bs bool, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range m.keys {
		if k.ID == id {
			if !(k.SignCount < count || (k.SignCount == 0 && count == 0)) {
				return ErrConflict
			}
			k.SignCount, k.BackupState, k.LastUsedAt = count, bs, at
			return nil
		}
	}
	return ErrNotFound
}

func (m *mem) RenamePasskey(context.Context, string, string, string) error { return nil }

func (m *mem) DeletePasskey(_ context.Context, userID, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, k := range m.keys {
		if k.ID == id && k.UserID == userID {
			m.keys = append(m.keys[:i], m.keys[i+1:]...)
			return nil
		}
	}
	return ErrNotFound
}

// resetCounters puts every counter back to zero, so that a replayed valid seed verifies.
func (m *mem) resetCounters() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range m.keys {
		k.SignCount = 0
	}
}

func (m *mem) PutCode(_ context.Context, key string, v []byte, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.codes[key] = v
	return nil
}

func (m *mem) ConsumeCode(_ context.Context, key string, _ time.Time) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.codes[key]
	if !ok {
		return nil, onetime.ErrNotFound
	}
	delete(m.codes, key)
	return v, nil
}

func (m *mem) AppendEvent(_ context.Context, e *audit.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.events) < 1000 {
		m.events = append(m.events, e)
	}
	return nil
}

func (m *mem) ListEvents(context.Context, audit.Filter) ([]*audit.Event, error) { return nil, nil }

const (
	tRPID    = "auth.example.com"
	tOrigin  = "https://auth.example.com"
	tBind    = "bind"
	tUser    = "user-one"
	tAccount = "one@example.com"
)

// fixedChallenge is the challenge the fuzz targets' ceremonies are begun with, so that a
// seed body stays valid across iterations.
var fixedChallenge = bytes.Repeat([]byte{0x42}, 32)

type memFixture struct {
	svc  *Service
	mem  *mem
	auth *passkeystest.Authenticator
}

func newMemFixture(tb testing.TB) *memFixture {
	tb.Helper()
	m := newMem()
	now := func() time.Time { return time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC) }
	svc, err := New(Config{RPID: tRPID, Origins: []string{tOrigin}}, m, m, audit.NewLog(m, now), now)
	if err != nil {
		tb.Fatal(err)
	}
	f := &memFixture{svc: svc, mem: m, auth: passkeystest.New(tRPID, tOrigin)}
	opts, err := svc.BeginRegistration(context.Background(), tUser, tAccount, tBind)
	if err != nil {
		tb.Fatal(err)
	}
	body, err := f.auth.Create(opts)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := svc.FinishRegistration(context.Background(), tUser, tBind, "", body); err != nil {
		tb.Fatal(err)
	}
	return f
}

// beginLogin begins a password-less sign-in with fixedChallenge.
func (f *memFixture) beginLogin(tb testing.TB) {
	tb.Helper()
	_, sd, err := f.svc.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired), webauthn.WithChallenge(fixedChallenge))
	if err != nil {
		tb.Fatal(err)
	}
	if err := f.svc.put(context.Background(), kindLogin, "", tBind, sd); err != nil {
		tb.Fatal(err)
	}
}

// beginRegistration begins a registration of tUser with fixedChallenge.
func (f *memFixture) beginRegistration(tb testing.TB) {
	tb.Helper()
	u, _, err := f.svc.user(context.Background(), tUser, tAccount)
	if err != nil {
		tb.Fatal(err)
	}
	_, sd, err := f.svc.wa.BeginRegistration(u)
	if err != nil {
		tb.Fatal(err)
	}
	sd.Challenge = protocol.URLEncodedBase64(fixedChallenge).String()
	if err := f.svc.put(context.Background(), kindRegister, tUser, tBind, sd); err != nil {
		tb.Fatal(err)
	}
}

// beginAssertion begins a second-factor check of tUser with fixedChallenge.
func (f *memFixture) beginAssertion(tb testing.TB) {
	tb.Helper()
	u, _, err := f.svc.user(context.Background(), tUser, "")
	if err != nil {
		tb.Fatal(err)
	}
	_, sd, err := f.svc.wa.BeginLogin(u, webauthn.WithChallenge(fixedChallenge))
	if err != nil {
		tb.Fatal(err)
	}
	if err := f.svc.put(context.Background(), kindAssert, tUser, tBind, sd); err != nil {
		tb.Fatal(err)
	}
}
