package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-auth/gatehouse/internal/mfa"
)

// TestMFAEndToEnd drives the real server: enrolment with a bearer access token, a sign-in
// that needs the second factor, a replayed code, step-up with a recovery code, and an
// x/oauth2 client refreshing the step-up session, which keeps its acr and auth_time.
func TestMFAEndToEnd(t *testing.T) {
	s := startServer(t, t.TempDir(), nil)
	mfaFlow(t, s, s)
}

// TestMFAAcrossInstances runs the same flow on two instances sharing PostgreSQL and Redis:
// a code accepted on one is a replay on the other.
func TestMFAAcrossInstances(t *testing.T) {
	dbURL := testDatabase(t)
	redisURL, prefix := testRedis(t)
	k := make([]byte, 32)
	rand.Read(k)
	env := map[string]string{"GATEHOUSE_KEK": base64.StdEncoding.EncodeToString(k), "GATEHOUSE_ADMIN_KEY": strings.Repeat("m", 40),
		"GATEHOUSE_REDIS_PREFIX": prefix}
	a := startServer(t, t.TempDir(), env, "--database-url", dbURL, "--redis-url", redisURL)
	b := startServer(t, t.TempDir(), env, "--database-url", dbURL, "--redis-url", redisURL)
	mfaFlow(t, a, b)
}

func mfaFlow(t *testing.T, a, b *server) {
	ctx := context.Background()
	const email, pw = "e2e-mfa@example.com", "correct horse battery staple"
	res, body := postJSON(t, http.DefaultClient, a.url+"/v1/signup", map[string]string{"email": email, "password": pw, "delivery": "token"})
	if res.StatusCode != 201 {
		t.Fatalf("signup: %d %v", res.StatusCode, body)
	}
	bearer := []string{"Authorization", "Bearer " + body["access_token"].(string)}
	res, body = postJSON(t, http.DefaultClient, a.url+"/v1/mfa/totp", map[string]any{}, bearer...)
	if res.StatusCode != 200 {
		t.Fatalf("enrol: %d %v", res.StatusCode, body)
	}
	seed, err := mfa.ParseSeed(body["secret"].(string))
	if err != nil {
		t.Fatal(err)
	}
	code := mfa.Code(seed, time.Now())
	res, body = postJSON(t, http.DefaultClient, a.url+"/v1/mfa/totp/confirm", map[string]string{"code": code}, bearer...)
	if res.StatusCode != 200 {
		t.Fatalf("confirm: %d %v", res.StatusCode, body)
	}
	var recovery []string
	for _, c := range body["recovery_codes"].([]any) {
		recovery = append(recovery, c.(string))
	}

	login := func(s *server) string {
		t.Helper()
		res, body := postJSON(t, http.DefaultClient, s.url+"/v1/login", map[string]string{"email": email, "password": pw, "delivery": "token"})
		if res.StatusCode != 403 || body["error"] != "mfa_required" {
			t.Fatalf("login: %d %v", res.StatusCode, body)
		}
		return body["mfa_token"].(string)
	}
	// The confirming code, again, on the other instance: a replay.
	res, body = postJSON(t, http.DefaultClient, b.url+"/v1/login/mfa", map[string]string{"mfa_token": login(b), "code": code, "delivery": "token"})
	if res.StatusCode != 400 || body["error"] != "invalid_code" {
		t.Fatalf("replayed code on the other instance: %d %v", res.StatusCode, body)
	}
	res, body = postJSON(t, http.DefaultClient, b.url+"/v1/login/mfa", map[string]string{"mfa_token": login(a), "recovery_code": recovery[0], "delivery": "token"})
	if res.StatusCode != 200 {
		t.Fatalf("second step on the other instance: %d %v", res.StatusCode, body)
	}
	// A second sign-in, then step-up of its session on the other instance.
	res, body = postJSON(t, http.DefaultClient, b.url+"/v1/login/mfa", map[string]string{"mfa_token": login(b), "recovery_code": recovery[1], "delivery": "token"})
	if res.StatusCode != 200 {
		t.Fatalf("second sign-in: %d %v", res.StatusCode, body)
	}
	res, up := postJSON(t, http.DefaultClient, a.url+"/v1/session/step-up", map[string]string{"recovery_code": recovery[2]},
		"Authorization", "Bearer "+body["access_token"].(string))
	if res.StatusCode != 200 {
		t.Fatalf("step-up: %d %v", res.StatusCode, up)
	}
	first := claimsOf(t, up["access_token"].(string))
	if first["acr"] != "urn:gatehouse:acr:mfa" || first["sid"] == claimsOf(t, body["access_token"].(string))["sid"] {
		t.Fatalf("step-up token %v", first)
	}

	conf := &oauth2.Config{ClientID: "gatehouse", Endpoint: oauth2.Endpoint{TokenURL: b.url + "/oauth/token", AuthStyle: oauth2.AuthStyleInParams}}
	tok := &oauth2.Token{AccessToken: up["access_token"].(string), RefreshToken: up["refresh_token"].(string), Expiry: time.Now().Add(-time.Second)}
	for i := range 3 {
		next, err := conf.TokenSource(ctx, tok).Token()
		if err != nil {
			t.Fatalf("refresh %d: %v", i+1, err)
		}
		c := claimsOf(t, next.AccessToken)
		if c["acr"] != "urn:gatehouse:acr:mfa" || c["auth_time"] != first["auth_time"] || c["sid"] != first["sid"] {
			t.Fatalf("refresh %d lost the step-up: %v (step-up token %v)", i+1, c, first)
		}
		next.Expiry = time.Now().Add(-time.Second)
		tok = next
	}
}

func claimsOf(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMFAConfig(t *testing.T) {
	tests := []struct {
		env, want string
		ok        bool
	}{
		{"", "optional", true},
		{"required", "required", true},
		{"adaptive", "adaptive", true},
		{"always", "", false},
	}
	for _, tc := range tests {
		cfg, _, err := loadConfig("serve", nil, func(k string) string {
			if k == "GATEHOUSE_MFA" {
				return tc.env
			}
			return ""
		})
		if tc.ok != (err == nil) || (tc.ok && cfg.MFA != tc.want) {
			t.Errorf("GATEHOUSE_MFA=%q: mfa %q, %v", tc.env, cfg.MFA, err)
		}
		if !tc.ok && err != nil && !strings.Contains(err.Error(), "mfa") {
			t.Errorf("GATEHOUSE_MFA=%q: error does not name the key: %v", tc.env, err)
		}
	}
}
