package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi"
	"github.com/gatehouse-auth/gatehouse/internal/passkeys"
	"github.com/gatehouse-auth/gatehouse/internal/passkeys/passkeystest"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
)

const (
	pkRPID   = "localhost"
	pkOrigin = "http://localhost:8080"
)

// newPasskeyEnv is newEnv with passkeys for pkRPID and pkOrigin. The service needs the
// env's database, which newEnv opens, so the server gets a pointer filled in right after.
func newPasskeyEnv(t testing.TB, opts ...option) *env {
	t.Helper()
	pk := new(passkeys.Service)
	e := newEnv(t, append(opts, func(c *httpapi.Config, _ *ratelimit.Policy) { c.Passkeys = pk })...)
	svc, err := passkeys.New(passkeys.Config{RPID: pkRPID, Origins: []string{pkOrigin}}, e.db, e.db, audit.NewLog(e.db, e.clock.Now), e.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	*pk = *svc
	return e
}

// registerPasskey registers a for the session of cookie and returns the passkey JSON.
func (e *env) registerPasskey(cookie *http.Cookie, a *passkeystest.Authenticator, name string) map[string]any {
	e.t.Helper()
	r := e.do("POST", "/v1/passkeys/register/begin", nil, withCookie(cookie)...)
	r.wantStatus(e.t, http.StatusOK)
	cred, err := a.Create(r.body)
	if err != nil {
		e.t.Fatal(err)
	}
	if name != "" {
		var m map[string]any
		json.Unmarshal(cred, &m)
		m["name"] = name
		cred, _ = json.Marshal(m)
	}
	r = e.do("POST", "/v1/passkeys/register/finish", string(cred), withCookie(cookie)...)
	r.wantStatus(e.t, http.StatusCreated)
	return r.json(e.t)
}

// passkeyLogin runs a password-less sign-in with a and returns the finish answer.
func (e *env) passkeyLogin(a *passkeystest.Authenticator, delivery string) *resp {
	e.t.Helper()
	r := e.do("POST", "/v1/login/passkey/begin", nil)
	r.wantStatus(e.t, http.StatusOK)
	cred, err := a.Get(r.body)
	if err != nil {
		e.t.Fatal(err)
	}
	body := map[string]any{"credential": json.RawMessage(cred)}
	if delivery != "" {
		body["delivery"] = delivery
	}
	return e.do("POST", "/v1/login/passkey/finish", body)
}

func TestPasskeyRegisterAndSignIn(t *testing.T) {
	e := newPasskeyEnv(t)
	cookie := e.signup("pk@example.com")
	a := passkeystest.New(pkRPID, pkOrigin)
	p := e.registerPasskey(cookie, a, "Work laptop")
	if p["name"] != "Work laptop" || p["amr"] != "hwk" || p["last_used_at"] != nil || p["backup_eligible"] != false ||
		len(p["aaguid"].(string)) != 36 || p["attachment"] != "platform" {
		t.Fatalf("registered passkey: %v", p)
	}
	id := p["id"].(string)

	// Options of a password-less sign-in: no allowCredentials, user verification required.
	r := e.do("POST", "/v1/login/passkey/begin", "{}")
	r.wantStatus(t, http.StatusOK)
	var opts struct {
		PublicKey struct {
			RPID  string `json:"rpId"`
			Allow []any  `json:"allowCredentials"`
			UV    string `json:"userVerification"`
		} `json:"publicKey"`
	}
	json.Unmarshal(r.body, &opts)
	if opts.PublicKey.RPID != pkRPID || len(opts.PublicKey.Allow) != 0 || opts.PublicKey.UV != "required" {
		t.Fatalf("request options: %s", r.body)
	}

	e.clock.Add(time.Minute)
	r = e.passkeyLogin(a, "")
	r.wantStatus(t, http.StatusOK)
	m := r.json(t)
	sess := m["session"].(map[string]any)
	if m["user"].(map[string]any)["email"] != "pk@example.com" || !slices.Equal(toStrings(sess["amr"]), []string{"hwk"}) {
		t.Fatalf("sign-in answer: %s", r.body)
	}
	c2 := sessionCookie(t, r)
	if c2.Value == cookie.Value {
		t.Fatal("the passkey sign-in reused a session")
	}
	e.do("GET", "/v1/session", nil, withCookie(c2)...).wantStatus(t, http.StatusOK)

	// Token delivery, with a synced passkey: amr swk in the access token.
	s := passkeystest.New(pkRPID, pkOrigin)
	s.Flags |= passkeystest.FlagBE | passkeystest.FlagBS
	if p := e.registerPasskey(c2, s, ""); p["amr"] != "swk" || !strings.HasPrefix(p["name"].(string), "Passkey added ") {
		t.Fatalf("synced passkey: %v", p)
	}
	r = e.passkeyLogin(s, "token")
	r.wantStatus(t, http.StatusOK)
	tok := r.json(t)
	at, _ := tok["access_token"].(string)
	if at == "" || tok["refresh_token"] == "" || tok["id_token"] == "" {
		t.Fatalf("token delivery: %s", r.body)
	}
	var claims struct {
		AMR []string `json:"amr"`
	}
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(at, ".")[1])
	json.Unmarshal(payload, &claims)
	if !slices.Equal(claims.AMR, []string{"swk"}) {
		t.Fatalf("access token amr: %v", claims.AMR)
	}

	// List, rename.
	r = e.do("GET", "/v1/passkeys", nil, withCookie(c2)...)
	r.wantStatus(t, http.StatusOK)
	var list struct {
		Passkeys []map[string]any `json:"passkeys"`
	}
	json.Unmarshal(r.body, &list)
	if len(list.Passkeys) != 2 {
		t.Fatalf("list: %s", r.body)
	}
	for _, p := range list.Passkeys {
		if p["id"] == id && p["last_used_at"] == nil {
			t.Fatalf("last_used_at not set after a sign-in: %v", p)
		}
	}
	r = e.do("PATCH", "/v1/passkeys/"+id, map[string]string{"name": "Old laptop"}, withCookie(c2)...)
	r.wantStatus(t, http.StatusOK)
	if r.json(t)["name"] != "Old laptop" {
		t.Fatalf("rename: %s", r.body)
	}
	e.do("PATCH", "/v1/passkeys/"+id, map[string]string{"name": strings.Repeat("x", 65)}, withCookie(c2)...).wantError(t, http.StatusBadRequest, "invalid_request")
	e.do("PATCH", "/v1/passkeys/"+id, map[string]string{"name": "x"}).wantError(t, http.StatusUnauthorized, "unauthorized")
}

func toStrings(v any) []string {
	var out []string
	for _, s := range v.([]any) {
		out = append(out, s.(string))
	}
	return out
}

func TestPasskeySignInRefused(t *testing.T) {
	e := newPasskeyEnv(t)
	cookie := e.signup("refused@example.com")
	a := passkeystest.New(pkRPID, pkOrigin)
	e.registerPasskey(cookie, a, "")

	tests := []struct {
		name   string
		change func(a *passkeystest.Authenticator)
	}{
		{"wrong origin", func(a *passkeystest.Authenticator) { a.Origin = "https://localhost.evil.example" }},
		{"wrong RP ID", func(a *passkeystest.Authenticator) { a.RPID = "evil.example" }},
		{"no user verification", func(a *passkeystest.Authenticator) { a.Flags = passkeystest.FlagUP }},
		{"counter going back", func(a *passkeystest.Authenticator) { a.Counter = 0; a.Step = 0 }},
	}
	a.Counter = 5
	e.passkeyLogin(a, "").wantStatus(t, http.StatusOK) // counter 6
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := *a
			tt.change(&bad)
			e.passkeyLogin(&bad, "").wantError(t, http.StatusUnauthorized, "passkey_invalid")
		})
	}
	if ev, _ := e.db.ListEvents(context.Background(), audit.Filter{Type: passkeys.EventCloneDetected, Limit: 10}); len(ev) != 1 {
		t.Fatalf("clone events: %d, want 1", len(ev))
	}
	if ev, _ := e.db.ListEvents(context.Background(), audit.Filter{Type: audit.LoginFailed, Limit: 10}); len(ev) != len(tests) {
		t.Fatalf("failed sign-ins audited: %d, want %d", len(ev), len(tests))
	}

	t.Run("replayed challenge", func(t *testing.T) {
		r := e.do("POST", "/v1/login/passkey/begin", nil)
		cred, _ := a.Get(r.body)
		body := map[string]any{"credential": json.RawMessage(cred)}
		e.do("POST", "/v1/login/passkey/finish", body).wantStatus(t, http.StatusOK)
		e.do("POST", "/v1/login/passkey/finish", body).wantError(t, http.StatusUnauthorized, "passkey_invalid")
	})
	t.Run("other user agent", func(t *testing.T) {
		r := e.do("POST", "/v1/login/passkey/begin", nil)
		cred, _ := a.Get(r.body)
		e.do("POST", "/v1/login/passkey/finish", map[string]any{"credential": json.RawMessage(cred)}, "User-Agent", "another browser").
			wantError(t, http.StatusUnauthorized, "passkey_invalid")
	})
	t.Run("disabled user", func(t *testing.T) {
		var u struct {
			User struct {
				ID string `json:"id"`
			} `json:"user"`
		}
		json.Unmarshal(e.do("GET", "/v1/session", nil, withCookie(cookie)...).body, &u)
		e.do("POST", "/v1/admin/users/"+u.User.ID+"/disable", nil, asAdmin()...).wantStatus(t, http.StatusOK)
		e.passkeyLogin(a, "").wantError(t, http.StatusUnauthorized, "passkey_invalid")
	})
	t.Run("bad bodies", func(t *testing.T) {
		for _, body := range []string{
			`{}`, `{"credential":"x"}`, `{"credential":[]}`, `{"credential":{}}`, `{"credential":{"id":"AA","id":"AA"}}`,
			`{"credential":{},"delivery":"carrier pigeon"}`, `{"credential":{},"extra":1}`, `not json`,
		} {
			r := e.do("POST", "/v1/login/passkey/finish", body)
			if r.StatusCode != http.StatusBadRequest && r.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s: status %d %s", body, r.StatusCode, r.body)
			}
		}
	})
}

func TestPasskeyDeleteNeedsRecentSignIn(t *testing.T) {
	e := newPasskeyEnv(t)
	cookie := e.signup("del@example.com")
	a := passkeystest.New(pkRPID, pkOrigin)
	id := e.registerPasskey(cookie, a, "")["id"].(string)
	other := e.signup("other@example.com")

	e.clock.Add(11 * time.Minute)
	e.do("DELETE", "/v1/passkeys/"+id, nil, withCookie(cookie)...).wantError(t, http.StatusForbidden, "step_up_required")
	e.do("POST", "/v1/passkeys/register/begin", nil, withCookie(cookie)...).wantError(t, http.StatusForbidden, "step_up_required")

	fresh := e.login("del@example.com")
	e.do("DELETE", "/v1/passkeys/"+id, nil, withCookie(e.login("other@example.com"))...).wantError(t, http.StatusNotFound, "passkey_not_found")
	_ = other
	e.do("DELETE", "/v1/passkeys/not-an-id", nil, withCookie(fresh)...).wantError(t, http.StatusNotFound, "passkey_not_found")
	e.do("DELETE", "/v1/passkeys/"+id, nil, withCookie(fresh)...).wantStatus(t, http.StatusNoContent)
	e.do("DELETE", "/v1/passkeys/"+id, nil, withCookie(fresh)...).wantError(t, http.StatusNotFound, "passkey_not_found")
	e.passkeyLogin(a, "").wantError(t, http.StatusUnauthorized, "passkey_invalid")
	e.do("DELETE", "/v1/passkeys/"+id, nil).wantError(t, http.StatusUnauthorized, "unauthorized")
}

func TestPasskeyRegistrationRefused(t *testing.T) {
	e := newPasskeyEnv(t)
	cookie := e.signup("reg@example.com")
	e.do("POST", "/v1/passkeys/register/begin", nil).wantError(t, http.StatusUnauthorized, "unauthorized")

	a := passkeystest.New(pkRPID, pkOrigin)
	r := e.do("POST", "/v1/passkeys/register/begin", nil, withCookie(cookie)...)
	ch, _ := passkeystest.Challenge(r.body)
	// Another session of the same user cannot finish it.
	e.do("POST", "/v1/passkeys/register/finish", string(a.CreateWithChallenge(ch)), withCookie(e.login("reg@example.com"))...).
		wantError(t, http.StatusBadRequest, "passkey_invalid")
	// Nor the session that began it, once the challenge is used.
	e.do("POST", "/v1/passkeys/register/finish", string(a.CreateWithChallenge(ch)), withCookie(cookie)...).
		wantError(t, http.StatusBadRequest, "passkey_invalid")

	wrong := passkeystest.New("evil.example", pkOrigin)
	r = e.do("POST", "/v1/passkeys/register/begin", nil, withCookie(cookie)...)
	cred, _ := wrong.Create(r.body)
	e.do("POST", "/v1/passkeys/register/finish", string(cred), withCookie(cookie)...).wantError(t, http.StatusBadRequest, "passkey_invalid")

	e.registerPasskey(cookie, a, "")
	r = e.do("POST", "/v1/passkeys/register/begin", nil, withCookie(cookie)...)
	ch, _ = passkeystest.Challenge(r.body)
	e.do("POST", "/v1/passkeys/register/finish", string(a.CreateWithChallenge(ch)), withCookie(cookie)...).wantError(t, http.StatusConflict, "passkey_exists")

	for _, body := range []string{`[]`, `"x"`, `{"id":"a","id":"b"}`, `{"name":""}`, `{"name":5}`, `{}`} {
		r := e.do("POST", "/v1/passkeys/register/finish", body, withCookie(cookie)...)
		r.wantStatus(t, http.StatusBadRequest)
	}
	e.do("POST", "/v1/passkeys/register/finish", "{}", "Content-Type", "text/plain", "Cookie", cookie.Name+"="+cookie.Value).
		wantError(t, http.StatusUnsupportedMediaType, "unsupported_media_type")
}

func TestPasskeySignInRateLimited(t *testing.T) {
	e := newPasskeyEnv(t, func(_ *httpapi.Config, p *ratelimit.Policy) { p.PerIP = ratelimit.Limit{Burst: 3, Per: time.Hour} })
	for range 3 {
		e.do("POST", "/v1/login/passkey/begin", nil).wantStatus(t, http.StatusOK)
	}
	r := e.do("POST", "/v1/login/passkey/begin", nil)
	r.wantError(t, http.StatusTooManyRequests, "rate_limited")
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	// The bucket is the one password sign-in uses.
	e.do("POST", "/v1/login", map[string]string{"email": "x@example.com", "password": goodPassword}).wantError(t, http.StatusTooManyRequests, "rate_limited")
}

func TestPasskeysDisabled(t *testing.T) {
	e := newEnv(t)
	e.do("POST", "/v1/login/passkey/begin", nil).wantError(t, http.StatusNotFound, "not_found")
	e.do("GET", "/v1/passkeys", nil, withCookie(e.signup("np@example.com"))...).wantError(t, http.StatusNotFound, "not_found")
}
