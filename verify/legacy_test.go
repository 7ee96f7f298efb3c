package verify_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/jws"
	"github.com/gatehouse-auth/gatehouse/verify"
)

func TestAdditionalLegacyIssuer(t *testing.T) {
	is := newIssuer(t)
	priv, _ := jws.GenerateKey(jws.RS256)
	legacySigner, _ := jws.NewSigner("L1", jws.RS256, priv)
	legacyJWKS := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := jws.MarshalJWKSet([]jws.PublicKey{legacySigner.PublicKey()})
		w.Write(b)
	}))
	defer legacyJWKS.Close()
	c := &clock{t: time.Now()}
	v := newVerifier(t, is, c, verify.WithAdditionalIssuer(verify.LegacyIssuer{
		Issuer: "https://legacy.example.auth0.com/", JWKSURL: legacyJWKS.URL, Audience: "https://api.example.com"}))
	legacy := func(aud string) claims {
		return claims{"iss": "https://legacy.example.auth0.com/", "sub": "auth0|42", "aud": aud, "exp": c.Now().Add(time.Hour).Unix(), "iat": c.Now().Unix(), "scope": "read:orders"}
	}
	got, err := v.Verify(context.Background(), sign(t, legacySigner, "JWT", legacy("https://api.example.com")))
	if err != nil || !got.Legacy || got.Subject != "auth0|42" || !got.HasScope("read:orders") {
		t.Fatalf("legacy token: %+v %v", got, err)
	}
	if _, err := v.Verify(context.Background(), sign(t, legacySigner, "JWT", legacy("https://other.example.com"))); !errors.Is(err, verify.ErrAudience) {
		t.Fatalf("legacy token for another audience: %v", err)
	}
	// Claiming the legacy issuer does not make our own key (or any other) acceptable for it.
	if _, err := v.Verify(context.Background(), sign(t, is.signers[0], "JWT", legacy("https://api.example.com"))); err == nil {
		t.Fatal("a token claiming the legacy issuer but signed by another key was accepted")
	}
	// Gatehouse's own tokens are unaffected.
	own, err := v.Verify(context.Background(), sign(t, is.signers[0], "at+jwt", is.claims(c.Now())))
	if err != nil || own.Legacy {
		t.Fatalf("own token: %+v %v", own, err)
	}
}

func TestVerifySession(t *testing.T) {
	is := newIssuer(t)
	c := &clock{t: time.Now()}
	if _, err := newVerifier(t, is, c).VerifySession(context.Background(), "good-session"); err == nil {
		t.Fatal("VerifySession without a credential succeeded")
	}
	v := newVerifier(t, is, c, verify.WithRevocationFeed("feed-cred"))
	got, err := v.VerifySession(context.Background(), "good-session")
	if err != nil || got.SessionID != "sess9" || got.Subject != "user1" {
		t.Fatalf("session: %+v %v", got, err)
	}
	before := is.introspections.Load()
	for range 5 {
		v.VerifySession(context.Background(), "good-session")
	}
	if is.introspections.Load() != before {
		t.Fatal("answers within the cache TTL were not reused")
	}
	if _, err := v.VerifySession(context.Background(), "unknown"); !errors.Is(err, verify.ErrRevoked) {
		t.Fatalf("inactive session: %v", err)
	}
	// The feed is honoured on cached answers.
	time.Sleep(50 * time.Millisecond)
	is.events <- fmt.Sprintf("id: 3\nevent: revocation\ndata: {\"sid\":\"sess9\",\"until\":%d}\n\n", c.Now().Add(time.Hour).Unix())
	deadline := time.Now().Add(time.Second)
	for {
		if _, err := v.VerifySession(context.Background(), "good-session"); errors.Is(err, verify.ErrRevoked) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("revoked session still accepted from the cache")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestMiddlewareCookie(t *testing.T) {
	is := newIssuer(t)
	c := &clock{t: time.Now()}
	v := newVerifier(t, is, c, verify.WithRevocationFeed("feed-cred"), verify.WithCookie("__Host-gh_session"))
	h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cl, _ := verify.ClaimsFrom(r.Context())
		fmt.Fprint(w, cl.SessionID)
	}))
	for name, tc := range map[string]struct {
		cookie string
		code   int
		body   string
	}{
		"session cookie":      {"good-session", 200, "sess9"},
		"access token cookie": {sign(t, is.signers[0], "at+jwt", is.claims(c.Now())), 200, "sess1"},
		"bad cookie":          {"nope", 401, ""},
		"no cookie":           {"", 401, ""},
	} {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if tc.cookie != "" {
				r.AddCookie(&http.Cookie{Name: "__Host-gh_session", Value: tc.cookie})
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.code || (tc.body != "" && w.Body.String() != tc.body) {
				t.Fatalf("%d %q", w.Code, w.Body.String())
			}
		})
	}
}
