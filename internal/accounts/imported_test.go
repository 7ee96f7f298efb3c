package accounts_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/password"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/userimport"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

type vector struct {
	Scheme, Password, Encoded string
	Auth0                     json.RawMessage
}

// oneVectorPerScheme reads the password package's independent vectors (passlib, hashlib,
// mkpasswd, openssl, htpasswd, Firebase's README) and keeps the first of each scheme.
func oneVectorPerScheme(t *testing.T) []vector {
	t.Helper()
	b, err := os.ReadFile("../password/testdata/legacy_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct{ Vectors []vector }
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var out []vector
	for _, v := range file.Vectors {
		if seen[v.Scheme] {
			continue
		}
		seen[v.Scheme] = true
		if v.Auth0 != nil {
			if v.Encoded, err = password.ImportAuth0(v.Auth0); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, v)
	}
	if len(out) < 20 {
		t.Fatalf("only %d schemes in the vectors", len(out))
	}
	return out
}

func storeUser(t *testing.T, db users.Store, email, hash string) *users.User {
	t.Helper()
	u := &users.User{ID: secret.NewID(), Email: email, PasswordHash: hash}
	if err := db.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// TestSignInWithImportedHashes signs in once with each imported scheme: a wrong password
// fails, the right one succeeds, the stored hash becomes argon2id and the rehash is audited
// with the old scheme's name.
func TestSignInWithImportedHashes(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			db := b.open(t)
			f := newFixture(t, db, nil, generous)
			ctx := context.Background()
			for i, v := range oneVectorPerScheme(t) {
				email := fmt.Sprintf("user%d@example.com", i)
				u := storeUser(t, db, email, v.Encoded)
				if _, err := f.svc.Login(ctx, email, "!"+v.Password, client("198.51.100.1")); !errors.Is(err, accounts.ErrInvalidCredentials) {
					t.Fatalf("%s: wrong password: %v", v.Scheme, err)
				}
				if _, err := f.svc.Login(ctx, email, v.Password, client("198.51.100.1")); err != nil {
					t.Fatalf("%s: sign-in: %v", v.Scheme, err)
				}
				got, err := db.UserByID(ctx, u.ID)
				if err != nil {
					t.Fatal(err)
				}
				if password.Scheme(got.PasswordHash) != "argon2id" {
					t.Fatalf("%s: stored hash after sign-in is %s, want argon2id", v.Scheme, password.Scheme(got.PasswordHash))
				}
				if _, err := f.svc.Login(ctx, email, v.Password, client("198.51.100.1")); err != nil {
					t.Fatalf("%s: second sign-in with the argon2id hash: %v", v.Scheme, err)
				}
			}
			evs := f.events(t, audit.PasswordRehashed)
			schemes := map[string]bool{}
			for _, e := range evs {
				schemes[e.Reason] = true
			}
			for _, v := range oneVectorPerScheme(t) {
				if v.Scheme != "argon2id" && !schemes[v.Scheme] {
					t.Errorf("no %s event for %s (events: %v)", audit.PasswordRehashed, v.Scheme, schemes)
				}
			}
		})
	}
}

// TestMalformedStoredHashRefuses checks that a stored hash that does not parse is a failed
// sign-in answered like a wrong password (for any password), audited, never an error or a
// success.
func TestMalformedStoredHashRefuses(t *testing.T) {
	db := openSQLite(t)
	f := newFixture(t, db, nil, generous)
	for i, h := range []string{"garbage", "$2a$31$" + strings.Repeat("a", 53), "{SSHA}", "$argon2id$v=19$m=99999999,t=1,p=1$AAAA$AAAA"} {
		email := fmt.Sprintf("bad%d@example.com", i)
		storeUser(t, db, email, h)
		for _, pw := range []string{"", "anything", h} {
			if _, err := f.svc.Login(context.Background(), email, pw, client("198.51.100.2")); !errors.Is(err, accounts.ErrInvalidCredentials) {
				t.Fatalf("%q with %q: %v, want ErrInvalidCredentials", h, pw, err)
			}
		}
	}
	n := 0
	for _, e := range f.events(t, audit.LoginFailed) {
		if e.Reason == "malformed_password_hash" {
			n++
		}
	}
	if n != 12 {
		t.Fatalf("%d failures audited as malformed_password_hash, want 12", n)
	}
}

// fakeLegacy is a legacy password system that knows some passwords.
type fakeLegacy struct {
	known map[string]string // email -> password
	down  bool
	asked atomic.Int64
}

func (l *fakeLegacy) CheckPassword(ctx context.Context, email, pw string) (bool, bool, error) {
	l.asked.Add(1)
	if l.down {
		return false, false, errors.New("connection refused")
	}
	want, ok := l.known[email]
	return ok && want == pw, true, nil
}

func TestLazyPasswordMigration(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			db := b.open(t)
			f := newFixture(t, db, nil, generous)
			ctx := context.Background()
			legacy := &fakeLegacy{known: map[string]string{"new@example.com": testPassword, "nohash@example.com": testPassword, "off@example.com": testPassword}}
			f.svc.WithLegacyPasswords(legacy)
			imported := storeUser(t, db, "nohash@example.com", "")
			off := &users.User{ID: secret.NewID(), Email: "off@example.com", Disabled: true}
			if err := db.CreateUser(ctx, off); err != nil {
				t.Fatal(err)
			}
			c := client("198.51.100.3")

			// Wrong passwords and an unreachable endpoint look like a wrong password.
			if _, err := f.svc.Login(ctx, "new@example.com", "wrong password", c); !errors.Is(err, accounts.ErrInvalidCredentials) {
				t.Fatalf("wrong: %v", err)
			}
			legacy.down = true
			if _, err := f.svc.Login(ctx, "new@example.com", testPassword, c); !errors.Is(err, accounts.ErrInvalidCredentials) {
				t.Fatalf("endpoint down: %v", err)
			}
			legacy.down = false
			if _, err := db.UserByEmail(ctx, "new@example.com"); !errors.Is(err, users.ErrNotFound) {
				t.Fatalf("a failed lazy migration created the user: %v", err)
			}
			// A disabled user is never asked about.
			before := legacy.asked.Load()
			if _, err := f.svc.Login(ctx, "off@example.com", testPassword, c); !errors.Is(err, accounts.ErrInvalidCredentials) {
				t.Fatalf("disabled: %v", err)
			}
			if legacy.asked.Load() != before {
				t.Fatal("the endpoint was asked about a disabled user")
			}

			for _, email := range []string{"new@example.com", "nohash@example.com"} {
				r, err := f.svc.Login(ctx, email, testPassword, c)
				if err != nil {
					t.Fatalf("%s: %v", email, err)
				}
				if password.Scheme(r.User.PasswordHash) != "argon2id" || !r.User.EmailVerified {
					t.Fatalf("%s: user after migration %+v", email, r.User)
				}
				asked := legacy.asked.Load()
				if _, err := f.svc.Login(ctx, email, testPassword, c); err != nil {
					t.Fatalf("%s again: %v", email, err)
				}
				if _, err := f.svc.Login(ctx, email, "wrong password", c); !errors.Is(err, accounts.ErrInvalidCredentials) {
					t.Fatalf("%s wrong after migration: %v", email, err)
				}
				if legacy.asked.Load() != asked {
					t.Fatalf("%s: the endpoint was asked again after the migration", email)
				}
			}
			got, err := db.UserByID(ctx, imported.ID)
			if err != nil || got.PasswordHash == "" {
				t.Fatalf("imported user: %+v %v", got, err)
			}
			reasons := map[string]int{}
			for _, e := range f.events(t, audit.PasswordMigrated) {
				reasons[e.Reason]++
			}
			if reasons["created"] != 1 || reasons["existing"] != 1 {
				t.Fatalf("password_migrated events %v", reasons)
			}
		})
	}
}

// TestLazyMigrationOverTLS signs a user in through a real PasswordEndpoint against a TLS
// server that checks the signature with its own HMAC code.
func TestLazyMigrationOverTLS(t *testing.T) {
	db := openSQLite(t)
	f := newFixture(t, db, nil, generous)
	secretKey := []byte("shared secret of the two systems")
	var calls atomic.Int64
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		ts, sig, _ := strings.Cut(strings.TrimPrefix(r.Header.Get("Gatehouse-Signature"), "t="), ",v1=")
		m := hmac.New(sha256.New, secretKey)
		m.Write([]byte(ts + "." + string(body)))
		if got, _ := hex.DecodeString(sig); !hmac.Equal(got, m.Sum(nil)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var in struct{ Email, Password string }
		json.Unmarshal(body, &in)
		json.NewEncoder(w).Encode(map[string]any{"ok": in.Email == "old@example.com" && in.Password == testPassword})
	}))
	defer srv.Close()
	f.svc.WithLegacyPasswords(userimport.NewPasswordEndpoint(srv.URL, secretKey, srv.Client(), f.clock.Now))
	ctx := context.Background()
	if _, err := f.svc.Login(ctx, "old@example.com", "wrong password", client("198.51.100.9")); !errors.Is(err, accounts.ErrInvalidCredentials) {
		t.Fatalf("wrong: %v", err)
	}
	r, err := f.svc.Login(ctx, "old@example.com", testPassword, client("198.51.100.9"))
	if err != nil || password.Scheme(r.User.PasswordHash) != "argon2id" || r.User.EmailVerified {
		t.Fatalf("migrated sign-in: %+v %v", r, err)
	}
	if _, err := f.svc.Login(ctx, "old@example.com", testPassword, client("198.51.100.9")); err != nil || calls.Load() != 2 {
		t.Fatalf("second sign-in: %v, endpoint asked %d times (want 2: the wrong and the first right one)", err, calls.Load())
	}
}
