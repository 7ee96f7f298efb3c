package legacy_test

import (
	"github.com/gatehouse-auth/gatehouse/internal/users"

	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/legacy"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/jws"
)

func forEachBackend(t *testing.T, fn func(t *testing.T, f *fixture)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { fn(t, newFixture(t, b.open(t), generous)) })
	}
}

func refusal(t *testing.T, err error) string {
	t.Helper()
	var r *legacy.Refusal
	if !errors.As(err, &r) || !errors.Is(err, legacy.ErrRefused) {
		t.Fatalf("err = %v, want a *legacy.Refusal", err)
	}
	if r.Description == "" {
		t.Fatal("refusal without description")
	}
	return r.Reason
}

func TestExchangeAccessAndIDTokens(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		u := f.mustUser(t, "ada@example.com", true)
		if err := f.db.LinkIdentity(ctx, users.Identity{Issuer: f.rs.Issuer, Subject: "auth0|ada", UserID: u.ID}); err != nil {
			t.Fatal(err)
		}
		c := f.claims("auth0|ada")
		authTime := f.clock.Now().Add(-3 * time.Hour)
		c["auth_time"] = authTime.Unix()
		// Auth0 puts x5t in headers; it is tolerated and never used.
		tok := sign(t, f.rsKey(), map[string]any{"x5t": "bm90LWEtdGh1bWI"}, c)
		res, err := f.svc.Exchange(ctx, tok, legacy.TokenTypeAccess, testClient)
		if err != nil {
			t.Fatalf("Exchange: %v", err)
		}
		if res.User.ID != u.ID || !slices.Equal(res.Session.AMR, []string{"fed"}) || !res.Session.AuthTime.Equal(authTime) {
			t.Fatalf("session = user %s amr %v auth_time %v; want %s [fed] %v", res.User.ID, res.Session.AMR, res.Session.AuthTime, u.ID, authTime)
		}
		if _, err := f.acc.Logout(ctx, res.Session, accounts.ScopeLocal, testClient); err != nil {
			t.Fatal(err)
		}
		if ev := f.events(t, legacy.EventExchanged); len(ev) != 1 || ev[0].UserID != u.ID || ev[0].SessionID != res.Session.ID {
			t.Fatalf("exchanged events: %+v", ev)
		}

		// An ID token (aud = the legacy client id, no scope): auth_time falls back to iat.
		f.rs.Audiences = append(f.rs.Audiences, "legacy-spa")
		if err := f.svc.Update(ctx, f.rs, legacy.Actor{}); err != nil {
			t.Fatal(err)
		}
		idc := map[string]any{"iss": f.rs.Issuer, "sub": "auth0|ada", "aud": "legacy-spa", "iat": f.clock.Now().Add(-2 * time.Minute).Unix(),
			"exp": f.clock.Now().Add(time.Hour).Unix(), "nonce": "n", "email": "ada@example.com", "email_verified": true}
		idt := sign(t, f.rsKey(), nil, idc)
		if _, err := f.svc.Exchange(ctx, idt, legacy.TokenTypeAccess, testClient); refusal(t, err) != legacy.ReasonType {
			t.Fatalf("ID token as access token: %v", err)
		}
		idt = sign(t, f.rsKey(), nil, idc) // the refused attempt did not burn it, but sign afresh anyway
		res, err = f.svc.Exchange(ctx, idt, legacy.TokenTypeID, testClient)
		if err != nil {
			t.Fatalf("Exchange ID token: %v", err)
		}
		if res.User.ID != u.ID || !res.Session.AuthTime.Equal(f.clock.Now().Add(-2*time.Minute)) {
			t.Fatalf("ID token session: %+v", res.Session)
		}
		// subject_token_type jwt takes either kind.
		if _, err := f.svc.Exchange(ctx, sign(t, f.rsKey(), nil, f.claims("auth0|ada")), legacy.TokenTypeJWT, testClient); err != nil {
			t.Fatalf("jwt type: %v", err)
		}
	})
}

func TestExchangeES256Issuer(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		tn := f.idp.tenants["es"]
		es := &legacy.Issuer{Issuer: f.idp.issuer(tn), Audiences: []string{"api"}, Algorithms: []jws.Algorithm{jws.ES256}, CreateUsers: true}
		if err := f.svc.Create(ctx, es, legacy.Actor{}); err != nil {
			t.Fatal(err)
		}
		now := f.clock.Now()
		tok := sign(t, tn.keys[0], map[string]any{"typ": "at+jwt"}, map[string]any{"iss": es.Issuer, "sub": "okta-1", "aud": "api",
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "email": "es@example.com", "email_verified": "true"})
		res, err := f.svc.Exchange(ctx, tok, legacy.TokenTypeAccess, testClient)
		if err != nil {
			t.Fatalf("Exchange: %v", err)
		}
		if res.User.Email != "es@example.com" || !res.User.EmailVerified || res.User.PasswordHash != "" {
			t.Fatalf("JIT user: %+v", res.User)
		}
		if got, err := f.db.UserByIdentity(ctx, es.Issuer, "okta-1"); err != nil || got.ID != res.User.ID {
			t.Fatalf("identity not linked: %v %v", got, err)
		}
		// The RS256 tenant's key is not valid for this issuer even under its kid.
		bad := sign(t, idpKey{"es-1", jws.RS256, testRSA(0)}, nil, map[string]any{"iss": es.Issuer, "sub": "okta-1", "aud": "api",
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
		if r := refusal(t, mustFail(f.svc.Exchange(ctx, bad, legacy.TokenTypeJWT, testClient))); r != legacy.ReasonBadSignature {
			t.Fatalf("RS256 token for an ES256 issuer: %s", r)
		}
	})
}

func mustFail(_ *accounts.Result, err error) error { return err }

func TestExchangeRefusals(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		u := f.mustUser(t, "bo@example.com", true)
		f.db.LinkIdentity(ctx, users.Identity{Issuer: f.rs.Issuer, Subject: "auth0|bo", UserID: u.ID})
		off := f.mustUser(t, "off@example.com", true)
		f.db.LinkIdentity(ctx, users.Identity{Issuer: f.rs.Issuer, Subject: "auth0|off", UserID: off.ID})
		off.Disabled = true
		if err := f.db.UpdateUser(ctx, off); err != nil {
			t.Fatal(err)
		}
		now := f.clock.Now()
		other := idpKey{"rs-1", jws.RS256, testRSA(1)} // same kid, another key
		cases := []struct {
			name   string
			token  func() string
			typ    string
			reason string
		}{
			{"garbage", func() string { return "not-a-jwt" }, legacy.TokenTypeAccess, legacy.ReasonMalformed},
			{"alg none", func() string { return "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln" }, legacy.TokenTypeAccess, legacy.ReasonMalformed},
			{"jku header", func() string {
				return sign(t, f.rsKey(), map[string]any{"jku": "https://evil.example"}, f.claims("auth0|bo"))
			}, legacy.TokenTypeAccess, legacy.ReasonMalformed},
			{"unknown issuer", func() string {
				c := f.claims("auth0|bo")
				c["iss"] = "https://evil.example/"
				return sign(t, f.rsKey(), nil, c)
			}, legacy.TokenTypeAccess, legacy.ReasonUnknownIssuer},
			{"bad signature", func() string { return sign(t, other, nil, f.claims("auth0|bo")) }, legacy.TokenTypeAccess, legacy.ReasonBadSignature},
			{"unknown kid", func() string { return sign(t, idpKey{"rs-9", jws.RS256, testRSA(1)}, nil, f.claims("auth0|bo")) }, legacy.TokenTypeAccess, legacy.ReasonUnknownKey},
			{"expired", func() string {
				c := f.claims("auth0|bo")
				c["exp"] = now.Add(-time.Minute).Unix()
				return sign(t, f.rsKey(), nil, c)
			}, legacy.TokenTypeAccess, legacy.ReasonExpired},
			{"no exp", func() string {
				c := f.claims("auth0|bo")
				delete(c, "exp")
				return sign(t, f.rsKey(), nil, c)
			}, legacy.TokenTypeAccess, legacy.ReasonExpired},
			{"nbf in the future", func() string {
				c := f.claims("auth0|bo")
				c["nbf"] = now.Add(time.Hour).Unix()
				return sign(t, f.rsKey(), nil, c)
			}, legacy.TokenTypeAccess, legacy.ReasonNotYetValid},
			{"iat in the future", func() string {
				c := f.claims("auth0|bo")
				c["iat"] = now.Add(10 * time.Minute).Unix()
				return sign(t, f.rsKey(), nil, c)
			}, legacy.TokenTypeAccess, legacy.ReasonNotYetValid},
			{"wrong audience", func() string {
				c := f.claims("auth0|bo")
				c["aud"] = "https://other-api.example.com"
				return sign(t, f.rsKey(), nil, c)
			}, legacy.TokenTypeAccess, legacy.ReasonAudience},
			{"wrong subject_token_type", func() string { return sign(t, f.rsKey(), nil, f.claims("auth0|bo")) }, "urn:ietf:params:oauth:token-type:saml2", legacy.ReasonType},
			{"access token said to be an ID token", func() string { return sign(t, f.rsKey(), nil, f.claims("auth0|bo")) }, legacy.TokenTypeID, legacy.ReasonType},
			{"logout token", func() string { return sign(t, f.rsKey(), map[string]any{"typ": "logout+jwt"}, f.claims("auth0|bo")) }, legacy.TokenTypeJWT, legacy.ReasonType},
			{"disabled user", func() string { return sign(t, f.rsKey(), nil, f.claims("auth0|off")) }, legacy.TokenTypeAccess, legacy.ReasonUserDisabled},
			{"no match", func() string { return sign(t, f.rsKey(), nil, f.claims("auth0|nobody")) }, legacy.TokenTypeAccess, legacy.ReasonNoMatch},
			{"email not verified", func() string {
				c := f.claims("auth0|nobody2")
				c["email"], c["email_verified"] = "bo@example.com", false
				return sign(t, f.rsKey(), nil, c)
			}, legacy.TokenTypeAccess, legacy.ReasonNoMatch},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				before := len(f.events(t, legacy.EventRefused))
				_, err := f.svc.Exchange(ctx, c.token(), c.typ, testClient)
				if r := refusal(t, err); r != c.reason {
					t.Fatalf("reason = %s, want %s (%v)", r, c.reason, err)
				}
				ev := f.events(t, legacy.EventRefused)
				if len(ev) != before+1 || ev[len(ev)-1].Reason != c.reason || ev[len(ev)-1].Outcome != audit.Failure {
					t.Fatalf("audit: %d events, last %+v", len(ev), ev[len(ev)-1])
				}
			})
		}
		// A token of an access-token-only issuer that is an ID token.
		t.Run("token type not accepted", func(t *testing.T) {
			f.rs.TokenTypes = []string{legacy.TypeAccessToken}
			f.rs.Audiences = []string{"https://api.example.com", "legacy-spa"}
			if err := f.svc.Update(ctx, f.rs, legacy.Actor{}); err != nil {
				t.Fatal(err)
			}
			idt := sign(t, f.rsKey(), nil, map[string]any{"iss": f.rs.Issuer, "sub": "auth0|bo", "aud": "legacy-spa", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
			if r := refusal(t, mustFail(f.svc.Exchange(ctx, idt, legacy.TokenTypeJWT, testClient))); r != legacy.ReasonType {
				t.Fatalf("reason %s", r)
			}
		})
		t.Run("window closed", func(t *testing.T) {
			f.rs.AcceptUntil = now
			if err := f.svc.Update(ctx, f.rs, legacy.Actor{}); err != nil {
				t.Fatal(err)
			}
			if r := refusal(t, mustFail(f.svc.Exchange(ctx, sign(t, f.rsKey(), nil, f.claims("auth0|bo")), legacy.TokenTypeAccess, testClient))); r != legacy.ReasonWindowClosed {
				t.Fatalf("reason %s", r)
			}
			f.rs.AcceptUntil = now.Add(time.Second)
			if err := f.svc.Update(ctx, f.rs, legacy.Actor{}); err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.Exchange(ctx, sign(t, f.rsKey(), nil, f.claims("auth0|bo")), legacy.TokenTypeAccess, testClient); err != nil {
				t.Fatalf("inside the window: %v", err)
			}
		})
	})
}

func TestExchangeReplay(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		u := f.mustUser(t, "cy@example.com", true)
		f.db.LinkIdentity(ctx, users.Identity{Issuer: f.rs.Issuer, Subject: "auth0|cy", UserID: u.ID})
		withJTI := sign(t, f.rsKey(), nil, f.claims("auth0|cy"))
		c := f.claims("auth0|cy")
		delete(c, "jti")
		noJTI := sign(t, f.rsKey(), nil, c)
		for _, tok := range []string{withJTI, noJTI} {
			if _, err := f.svc.Exchange(ctx, tok, legacy.TokenTypeAccess, testClient); err != nil {
				t.Fatal(err)
			}
			if r := refusal(t, mustFail(f.svc.Exchange(ctx, tok, legacy.TokenTypeAccess, testClient))); r != legacy.ReasonReplayed {
				t.Fatalf("second exchange: %s", r)
			}
		}
		// Another token with the same jti is the same token to the issuer: refused too.
		c = f.claims("auth0|cy")
		c["jti"] = "fixed-jti"
		if _, err := f.svc.Exchange(ctx, sign(t, f.rsKey(), nil, c), legacy.TokenTypeAccess, testClient); err != nil {
			t.Fatal(err)
		}
		c["iat"] = f.clock.Now().Unix()
		if r := refusal(t, mustFail(f.svc.Exchange(ctx, sign(t, f.rsKey(), nil, c), legacy.TokenTypeAccess, testClient))); r != legacy.ReasonReplayed {
			t.Fatalf("same jti: %s", r)
		}
		if ev := f.events(t, legacy.EventReplayed); len(ev) != 3 || ev[0].UserID != u.ID {
			t.Fatalf("replayed events: %+v", ev)
		}

		// Of two concurrent exchanges of one token exactly one wins (JIT creation included).
		f.rs.CreateUsers = true
		if err := f.svc.Update(ctx, f.rs, legacy.Actor{}); err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			c := f.claims("auth0|race")
			c["sub"] = "auth0|race" + string(rune('a'+i))
			c["email"], c["email_verified"] = "race"+string(rune('a'+i))+"@example.com", true
			tok := sign(t, f.rsKey(), nil, c)
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for j := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[j] = f.svc.Exchange(ctx, tok, legacy.TokenTypeAccess, testClient)
				}()
			}
			wg.Wait()
			wins := 0
			for _, err := range errs {
				if err == nil {
					wins++
				} else if r := refusal(t, err); r != legacy.ReasonReplayed {
					t.Fatalf("loser: %s", r)
				}
			}
			if wins != 1 {
				t.Fatalf("round %d: %d of 2 concurrent exchanges won (%v)", i, wins, errs)
			}
		}
	})
}

func TestExchangeMatching(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		existing := f.mustUser(t, "dee@example.com", false)
		tok := func(sub, email string, verified any) string {
			c := f.claims(sub)
			c["email"] = email
			if verified != nil {
				c["email_verified"] = verified
			}
			return sign(t, f.rsKey(), nil, c)
		}
		// An unverified (or absent) email_verified never matches by email.
		for _, v := range []any{false, nil, "false"} {
			if r := refusal(t, mustFail(f.svc.Exchange(ctx, tok("auth0|dee", "dee@example.com", v), legacy.TokenTypeAccess, testClient))); r != legacy.ReasonNoMatch {
				t.Fatalf("email_verified %v: %s", v, r)
			}
		}
		// Verified: matched by email, and linked.
		res, err := f.svc.Exchange(ctx, tok("auth0|dee", "DEE@example.com", true), legacy.TokenTypeAccess, testClient)
		if err != nil || res.User.ID != existing.ID {
			t.Fatalf("email match: %v %v", res, err)
		}
		if got, err := f.db.UserByIdentity(ctx, f.rs.Issuer, "auth0|dee"); err != nil || got.ID != existing.ID {
			t.Fatalf("not linked: %v %v", got, err)
		}
		// Now the identity matches first, whatever the email says.
		if res, err := f.svc.Exchange(ctx, tok("auth0|dee", "changed@example.com", false), legacy.TokenTypeAccess, testClient); err != nil || res.User.ID != existing.ID {
			t.Fatalf("identity match: %v %v", res, err)
		}
		// Email matching off: a verified email of an existing user does not match.
		f.rs.Match = []string{legacy.MatchIdentity}
		f.rs.CreateUsers = true
		if err := f.svc.Update(ctx, f.rs, legacy.Actor{}); err != nil {
			t.Fatal(err)
		}
		f.mustUser(t, "eve@example.com", true)
		if r := refusal(t, mustFail(f.svc.Exchange(ctx, tok("auth0|eve", "eve@example.com", true), legacy.TokenTypeAccess, testClient))); r != legacy.ReasonNoMatch {
			t.Fatalf("email match while off: %s", r)
		}
		// JIT: a new password-less user, linked; no email → refused.
		res, err = f.svc.Exchange(ctx, tok("auth0|fay", "fay@example.com", false), legacy.TokenTypeAccess, testClient)
		if err != nil || res.User.Email != "fay@example.com" || res.User.EmailVerified || res.User.PasswordHash != "" {
			t.Fatalf("JIT: %+v %v", res, err)
		}
		if ev := f.events(t, audit.UserSignup); len(ev) != 1 || ev[0].Reason != "legacy_token" || ev[0].UserID != res.User.ID {
			t.Fatalf("signup events: %+v", ev)
		}
		c := f.claims("auth0|gus")
		if r := refusal(t, mustFail(f.svc.Exchange(ctx, sign(t, f.rsKey(), nil, c), legacy.TokenTypeAccess, testClient))); r != legacy.ReasonNoMatch {
			t.Fatalf("JIT without email: %s", r)
		}
	})
}

func TestExchangeKeys(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		u := f.mustUser(t, "hal@example.com", true)
		f.db.LinkIdentity(ctx, users.Identity{Issuer: f.rs.Issuer, Subject: "auth0|hal", UserID: u.ID})
		tn := f.idp.tenants["rs"]
		ex := func(k idpKey) error {
			_, err := f.svc.Exchange(ctx, sign(t, k, nil, f.claims("auth0|hal")), legacy.TokenTypeAccess, testClient)
			return err
		}
		if err := ex(f.rsKey()); err != nil {
			t.Fatal(err)
		}
		if tn.disco.Load() != 1 || tn.jwks.Load() != 1 {
			t.Fatalf("fetches: discovery %d jwks %d, want 1 1", tn.disco.Load(), tn.jwks.Load())
		}
		// Cached for max-age (600 s): no fetch meanwhile.
		f.clock.Add(5 * time.Minute)
		if err := ex(f.rsKey()); err != nil || tn.jwks.Load() != 1 {
			t.Fatalf("within max-age: %v, %d fetches", err, tn.jwks.Load())
		}
		// Rotation: a new kid is fetched on sight.
		rotated := idpKey{"rs-2", jws.RS256, testRSA(2)}
		tn.mu.Lock()
		tn.keys = append(tn.keys, rotated)
		tn.mu.Unlock()
		if err := ex(rotated); err != nil || tn.jwks.Load() != 2 {
			t.Fatalf("rotated key: %v, %d fetches", err, tn.jwks.Load())
		}
		// Unknown kids refetch at most every 10 s.
		bogus := idpKey{"rs-x", jws.RS256, testRSA(1)}
		for range 3 {
			if r := refusal(t, ex(bogus)); r != legacy.ReasonUnknownKey {
				t.Fatalf("bogus kid: %s", r)
			}
		}
		if tn.jwks.Load() != 2 {
			t.Fatalf("unknown kids caused %d fetches within 10 s", tn.jwks.Load()-2)
		}
		f.clock.Add(11 * time.Second)
		ex(bogus)
		if tn.jwks.Load() != 3 {
			t.Fatalf("after 10 s: %d fetches, want 3", tn.jwks.Load())
		}

		// A key the issuer withdraws stops verifying once the cached set is stale.
		original := f.rsKey()
		tn.mu.Lock()
		tn.keys = []idpKey{rotated}
		tn.mu.Unlock()
		f.clock.Add(11 * time.Minute)
		if r := refusal(t, ex(original)); r != legacy.ReasonUnknownKey || tn.jwks.Load() != 4 {
			t.Fatalf("withdrawn key: %s after %d fetches", r, tn.jwks.Load())
		}

		// The issuer goes down: after max-age, the last good keys still verify.
		tn.down.Store(true)
		f.clock.Add(11 * time.Minute)
		if err := ex(rotated); err != nil {
			t.Fatalf("issuer down, cached keys: %v", err)
		}
		if tn.jwks.Load() != 4 {
			t.Fatalf("a down issuer is not counted as served: %d", tn.jwks.Load())
		}

		// An issuer never reached: invalid_grant at once, and no fetch storm.
		es := f.idp.tenants["es"]
		es.down.Store(true)
		esIss := &legacy.Issuer{Issuer: f.idp.issuer(es), Audiences: []string{"api"}, Algorithms: []jws.Algorithm{jws.ES256}}
		if err := f.svc.Create(ctx, esIss, legacy.Actor{}); err != nil {
			t.Fatal(err)
		}
		now := f.clock.Now()
		estok := func() string {
			return sign(t, es.keys[0], nil, map[string]any{"iss": esIss.Issuer, "sub": "x", "aud": "api", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": now.String()})
		}
		for range 5 {
			if r := refusal(t, mustFail(f.svc.Exchange(ctx, estok(), legacy.TokenTypeAccess, testClient))); r != legacy.ReasonUnreachable {
				t.Fatalf("unreachable issuer: %s", r)
			}
		}
		if es.disco.Load() != 0 {
			t.Fatalf("the down issuer answered %d discoveries", es.disco.Load())
		}
	})
}

func TestExchangeRateLimited(t *testing.T) {
	db := openSQLite(t)
	f := newFixture(t, db, ratelimit.Policy{PerIP: ratelimit.Limit{Burst: 2, Per: time.Hour}})
	for i := range 3 {
		_, err := f.svc.Exchange(context.Background(), "garbage", legacy.TokenTypeAccess, testClient)
		var rl *accounts.RateLimitedError
		if i < 2 && !errors.Is(err, legacy.ErrRefused) || i == 2 && !errors.As(err, &rl) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
}

func TestIssuerNormalize(t *testing.T) {
	cases := []struct {
		name string
		is   legacy.Issuer
		ok   bool
	}{
		{"minimal", legacy.Issuer{Issuer: "https://t.auth0.com/", Audiences: []string{"a"}}, true},
		{"loopback http", legacy.Issuer{Issuer: "http://localhost:9000", Audiences: []string{"a"}}, true},
		{"plain http", legacy.Issuer{Issuer: "http://idp.example", Audiences: []string{"a"}}, false},
		{"query", legacy.Issuer{Issuer: "https://idp.example/?x=1", Audiences: []string{"a"}}, false},
		{"no audience", legacy.Issuer{Issuer: "https://idp.example"}, false},
		{"bad alg", legacy.Issuer{Issuer: "https://idp.example", Audiences: []string{"a"}, Algorithms: []jws.Algorithm{"HS256"}}, false},
		{"email first", legacy.Issuer{Issuer: "https://idp.example", Audiences: []string{"a"}, Match: []string{"email", "identity"}}, false},
		{"bad token type", legacy.Issuer{Issuer: "https://idp.example", Audiences: []string{"a"}, TokenTypes: []string{"refresh_token"}}, false},
		{"bad jwks_uri", legacy.Issuer{Issuer: "https://idp.example", JWKSURI: "ftp://x", Audiences: []string{"a"}}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.is.Normalize()
			if c.ok != (err == nil) || err != nil && !errors.Is(err, legacy.ErrInvalid) {
				t.Fatalf("Normalize: %v", err)
			}
			if c.ok && (!slices.Equal(c.is.Algorithms, []jws.Algorithm{jws.RS256}) || len(c.is.TokenTypes) != 2 ||
				!slices.Equal(c.is.Match, []string{"identity"}) || c.is.Claims.Email != "email") {
				t.Fatalf("defaults: %+v", c.is)
			}
		})
	}
	// Several problems are reported together.
	is := legacy.Issuer{Issuer: "ftp://x", Algorithms: []jws.Algorithm{"none"}}
	if err := is.Normalize(); err == nil || len(err.Error()) < 60 {
		t.Fatalf("all problems: %v", err)
	}
}

func TestAdminAudited(t *testing.T) {
	f := newFixture(t, openSQLite(t), generous)
	ctx := context.Background()
	if ev := f.events(t, legacy.EventIssuerCreated); len(ev) != 1 || ev[0].Actor != "admin" {
		t.Fatalf("created: %+v", ev)
	}
	dup := &legacy.Issuer{Issuer: f.rs.Issuer, Audiences: []string{"x"}}
	if err := f.svc.Create(ctx, dup, legacy.Actor{}); !errors.Is(err, legacy.ErrConflict) {
		t.Fatalf("duplicate: %v", err)
	}
	f.rs.Audiences = []string{"y"}
	if err := f.svc.Update(ctx, f.rs, legacy.Actor{}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Delete(ctx, f.rs.ID, legacy.Actor{}); err != nil {
		t.Fatal(err)
	}
	if len(f.events(t, legacy.EventIssuerUpdated)) != 1 || len(f.events(t, legacy.EventIssuerDeleted)) != 1 {
		t.Fatal("update/delete not audited")
	}
	if _, err := f.svc.Get(ctx, f.rs.ID); !errors.Is(err, legacy.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}
