package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi"
	"github.com/gatehouse-auth/gatehouse/internal/mfa"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
)

var testKEK = []byte("0123456789abcdef0123456789abcdef")

// enableMFA (re)configures second factors on the env's account service with policy.
func (e *env) enableMFA(policy string) {
	e.t.Helper()
	mem := ratelimit.NewMemory(0)
	att, err := mfa.NewAttempts(mem, nil, e.clock.Now)
	if err != nil {
		e.t.Fatal(err)
	}
	svc, err := mfa.New(mfa.Config{Issuer: "gatehouse.test", KEK: testKEK}, e.db, e.db, att, e.clock.Now)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.accounts.WithMFA(accounts.MFAConfig{Policy: policy, TOTP: svc, Challenges: mfa.NewChallenges(e.db, e.clock.Now),
		Signals: mem, DeviceKey: testKEK}); err != nil {
		e.t.Fatal(err)
	}
}

// enrolHTTP enrols an authenticator app through the API for the session ck and returns the
// seed and the recovery codes.
func (e *env) enrolHTTP(ck *http.Cookie) ([]byte, []string) {
	e.t.Helper()
	r := e.do("POST", "/v1/mfa/totp", nil, withCookie(ck)...)
	r.wantStatus(e.t, http.StatusOK)
	m := r.json(e.t)
	if !strings.HasPrefix(m["otpauth_uri"].(string), "otpauth://totp/") || !strings.HasPrefix(m["qr"].(string), "data:image/png;base64,") {
		e.t.Fatalf("enrolment %v", m)
	}
	seed, err := mfa.ParseSeed(m["secret"].(string))
	if err != nil {
		e.t.Fatal(err)
	}
	r = e.do("POST", "/v1/mfa/totp/confirm", map[string]string{"code": mfa.Code(seed, e.clock.Now())}, withCookie(ck)...)
	r.wantStatus(e.t, http.StatusOK)
	var out struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	json.Unmarshal(r.body, &out)
	if len(out.RecoveryCodes) != 10 {
		e.t.Fatalf("recovery codes %v", out.RecoveryCodes)
	}
	e.clock.Add(3 * mfa.Period)
	return seed, out.RecoveryCodes
}

func cookieNamed(r *resp, name string) *http.Cookie {
	for _, c := range r.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// jwtClaims decodes a JWT's payload without verifying it (the server made it).
func jwtClaims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}

func TestMFAOverHTTP(t *testing.T) {
	e := newEnv(t)
	ck := e.signup("mfa@example.com")
	seed, recovery := e.enrolHTTP(ck)

	r := e.do("GET", "/v1/mfa", nil, withCookie(ck)...)
	r.wantStatus(t, http.StatusOK)
	if m := r.json(t); m["totp"] != true || m["recovery_codes"] != float64(10) || m["secret"] != nil {
		t.Fatalf("GET /v1/mfa: %s", r.body)
	}
	if r := e.do("GET", "/v1/admin/users/"+userID(t, e, ck), nil, asAdmin()...); !strings.Contains(string(r.body), `"mfa":{"totp":true,"recovery_codes":10}`) {
		t.Fatalf("admin user object: %s", r.body)
	}

	login := func(body map[string]any) (string, []any) {
		t.Helper()
		r := e.do("POST", "/v1/login", body)
		r.wantError(t, http.StatusForbidden, "mfa_required")
		m := r.json(t)
		if cookieNamed(r, httpapi.SessionCookie) != nil {
			t.Fatal("mfa_required set a session cookie")
		}
		return m["mfa_token"].(string), m["methods"].([]any)
	}
	tok, methods := login(map[string]any{"email": "mfa@example.com", "password": goodPassword})
	if len(methods) != 2 || methods[0] != "totp" || methods[1] != "recovery_code" {
		t.Fatalf("methods %v", methods)
	}
	code := mfa.Code(seed, e.clock.Now())
	e.do("POST", "/v1/login/mfa", map[string]any{"mfa_token": tok, "code": "12345"}).wantError(t, http.StatusBadRequest, "invalid_code")
	e.do("POST", "/v1/login/mfa", map[string]any{"mfa_token": tok}).wantError(t, http.StatusBadRequest, "invalid_request")
	e.do("POST", "/v1/login/mfa", map[string]any{"mfa_token": tok, "code": code, "delivery": "token"}).wantError(t, http.StatusUnauthorized, "invalid_mfa_token")
	e.do("POST", "/v1/login/mfa", map[string]any{"mfa_token": tok, "code": code}, "User-Agent", "another").wantError(t, http.StatusUnauthorized, "invalid_mfa_token")
	r = e.do("POST", "/v1/login/mfa", map[string]any{"mfa_token": tok, "code": code})
	r.wantStatus(t, http.StatusOK)
	full := sessionCookie(t, r)
	if amr := r.json(t)["session"].(map[string]any)["amr"]; len(amr.([]any)) != 3 {
		t.Fatalf("amr %v", amr)
	}
	e.do("POST", "/v1/login/mfa", map[string]any{"mfa_token": tok, "code": code}).wantError(t, http.StatusUnauthorized, "invalid_mfa_token")

	// Replay through a new token; then a recovery code, once.
	tok, _ = login(map[string]any{"email": "mfa@example.com", "password": goodPassword})
	e.do("POST", "/v1/login/mfa", map[string]any{"mfa_token": tok, "code": code}).wantError(t, http.StatusBadRequest, "invalid_code")
	e.do("POST", "/v1/login/mfa", map[string]any{"mfa_token": tok, "recovery_code": strings.ToUpper(recovery[0])}).wantStatus(t, http.StatusOK)
	tok, _ = login(map[string]any{"email": "mfa@example.com", "password": goodPassword})
	e.do("POST", "/v1/login/mfa", map[string]any{"mfa_token": tok, "recovery_code": recovery[0]}).wantError(t, http.StatusBadRequest, "invalid_code")

	// Token delivery with the refresh token in a cookie: the second step answers the same.
	tok, _ = login(map[string]any{"email": "mfa@example.com", "password": goodPassword, "delivery": "token", "refresh_cookie": true})
	r = e.do("POST", "/v1/login/mfa", map[string]any{"mfa_token": tok, "recovery_code": recovery[1], "delivery": "token"})
	r.wantStatus(t, http.StatusOK)
	tr := r.json(t)
	if tr["refresh_token"] != nil || cookieNamed(r, httpapi.RefreshCookie) == nil {
		t.Fatalf("refresh_cookie not kept across the second step: %s", r.body)
	}
	if c := jwtClaims(t, tr["access_token"].(string)); c["acr"] != "urn:gatehouse:acr:mfa" || c["auth_time"] == nil {
		t.Fatalf("access token claims %v", c)
	}
	if c := jwtClaims(t, tr["id_token"].(string)); c["acr"] != "urn:gatehouse:acr:mfa" {
		t.Fatalf("ID token claims %v", c)
	}

	// Sensitive operations need a recent sign-in; step-up gives a new session.
	e.clock.Add(11 * time.Minute)
	e.do("DELETE", "/v1/mfa/totp", nil, withCookie(full)...).wantError(t, http.StatusForbidden, "step_up_required")
	e.do("POST", "/v1/mfa/recovery-codes", nil, withCookie(full)...).wantError(t, http.StatusForbidden, "step_up_required")
	r = e.do("POST", "/v1/session/step-up", map[string]any{"code": mfa.Code(seed, e.clock.Now())}, withCookie(full)...)
	r.wantStatus(t, http.StatusOK)
	up := sessionCookie(t, r)
	if up.Value == full.Value {
		t.Fatal("step-up kept the session id")
	}
	e.do("GET", "/v1/session", nil, withCookie(full)...).wantError(t, http.StatusUnauthorized, "unauthorized")
	e.do("POST", "/v1/mfa/recovery-codes", nil, withCookie(up)...).wantStatus(t, http.StatusOK)
	e.do("DELETE", "/v1/mfa/totp", nil, withCookie(up)...).wantStatus(t, http.StatusNoContent)
	e.do("DELETE", "/v1/mfa/totp", nil, withCookie(up)...).wantError(t, http.StatusNotFound, "mfa_not_enrolled")
	e.login("mfa@example.com") // no factor left: password only

	m := string(e.do("GET", "/metrics", nil).body)
	for _, want := range []string{
		`gatehouse_mfa_total{outcome="challenged",path="login"} 4`,
		`gatehouse_mfa_total{outcome="success",path="login"} 3`,
		`gatehouse_mfa_total{outcome="invalid_code",path="login"} 4`,
		`gatehouse_mfa_total{outcome="invalid_token",path="login"} 3`,
		`gatehouse_mfa_total{outcome="success",path="step_up"} 1`,
		`gatehouse_logins_total{outcome="second_step"} 4`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s\n%s", want, metricLines(m))
		}
	}
}

func userID(t *testing.T, e *env, ck *http.Cookie) string {
	t.Helper()
	r := e.do("GET", "/v1/session", nil, withCookie(ck)...)
	r.wantStatus(t, http.StatusOK)
	return r.json(t)["user"].(map[string]any)["id"].(string)
}

func TestMFAStepUpTokenDelivery(t *testing.T) {
	e := newEnv(t)
	ck := e.signup("tokens@example.com")
	seed, _ := e.enrolHTTP(ck)
	r := e.do("POST", "/v1/login", map[string]any{"email": "tokens@example.com", "password": goodPassword, "delivery": "token"})
	tok := r.json(t)["mfa_token"].(string)
	r = e.do("POST", "/v1/login/mfa", map[string]any{"mfa_token": tok, "code": mfa.Code(seed, e.clock.Now()), "delivery": "token"})
	r.wantStatus(t, http.StatusOK)
	at := r.json(t)["access_token"].(string)
	e.clock.Add(time.Minute)
	r = e.do("POST", "/v1/session/step-up", map[string]any{"code": mfa.Code(seed, e.clock.Now())}, withBearer(at)...)
	r.wantStatus(t, http.StatusOK)
	m := r.json(t)
	if m["refresh_token"] == nil || m["access_token"] == nil {
		t.Fatalf("step-up of a token session: %s", r.body)
	}
	c := jwtClaims(t, m["access_token"].(string))
	if c["acr"] != "urn:gatehouse:acr:mfa" || c["auth_time"] != float64(e.clock.Now().Unix()) || c["sid"] == jwtClaims(t, at)["sid"] {
		t.Fatalf("step-up access token %v", c)
	}
	e.do("GET", "/v1/session", nil, withBearer(at)...).wantError(t, http.StatusUnauthorized, "unauthorized")
}

func TestMFAPerUserLimitOverHTTP(t *testing.T) {
	e := newEnv(t)
	ck := e.signup("limit@example.com")
	seed, _ := e.enrolHTTP(ck)
	code := mfa.Code(seed, e.clock.Now())
	bad := "000000"
	if code == bad {
		bad = "111111"
	}
	for range 5 {
		tok := e.do("POST", "/v1/login", map[string]any{"email": "limit@example.com", "password": goodPassword}).json(t)["mfa_token"].(string)
		e.do("POST", "/v1/login/mfa", map[string]any{"mfa_token": tok, "code": bad}).wantError(t, http.StatusBadRequest, "invalid_code")
	}
	tok := e.do("POST", "/v1/login", map[string]any{"email": "limit@example.com", "password": goodPassword}).json(t)["mfa_token"].(string)
	r := e.do("POST", "/v1/login/mfa", map[string]any{"mfa_token": tok, "code": code})
	r.wantError(t, http.StatusTooManyRequests, "rate_limited")
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
}

func TestMFARequiredPolicyOverHTTP(t *testing.T) {
	e := newEnv(t)
	e.enableMFA(accounts.MFARequired)
	r := e.do("POST", "/v1/signup", map[string]string{"email": "must@example.com", "password": goodPassword})
	r.wantError(t, http.StatusForbidden, "mfa_enrollment_required")
	limited := sessionCookie(t, r)
	e.do("GET", "/v1/session", nil, withCookie(limited)...).wantStatus(t, http.StatusOK)
	e.do("GET", "/v1/sessions", nil, withCookie(limited)...).wantError(t, http.StatusForbidden, "mfa_enrollment_required")
	e.do("POST", "/v1/session/step-up", map[string]any{"code": "123456"}, withCookie(limited)...).wantError(t, http.StatusForbidden, "mfa_enrollment_required")
	r = e.do("POST", "/v1/login", map[string]any{"email": "must@example.com", "password": goodPassword, "delivery": "token"})
	r.wantError(t, http.StatusForbidden, "mfa_enrollment_required")
	m := r.json(t)
	if m["session_token"] == nil || m["access_token"] != nil || m["refresh_token"] != nil {
		t.Fatalf("token delivery of a limited session: %s", r.body)
	}
	bearer := withBearer(m["session_token"].(string))
	e.do("GET", "/v1/sessions", nil, bearer...).wantError(t, http.StatusForbidden, "mfa_enrollment_required")
	seed, _ := e.enrolHTTP(limited)
	e.do("GET", "/v1/session", nil, withCookie(limited)...).wantError(t, http.StatusUnauthorized, "unauthorized")
	tok := e.do("POST", "/v1/login", map[string]any{"email": "must@example.com", "password": goodPassword}).json(t)["mfa_token"].(string)
	r = e.do("POST", "/v1/login/mfa", map[string]any{"mfa_token": tok, "code": mfa.Code(seed, e.clock.Now())})
	r.wantStatus(t, http.StatusOK)
	e.do("GET", "/v1/sessions", nil, withCookie(sessionCookie(t, r))...).wantStatus(t, http.StatusOK)
}

func TestAdminResetMFA(t *testing.T) {
	e := newEnv(t)
	ck := e.signup("reset@example.com")
	id := userID(t, e, ck)
	e.enrolHTTP(ck)
	e.do("DELETE", "/v1/admin/users/"+id+"/mfa", nil).wantError(t, http.StatusUnauthorized, "unauthorized")
	e.do("DELETE", "/v1/admin/users/"+id+"/mfa", nil, asAdmin()...).wantStatus(t, http.StatusNoContent)
	e.do("GET", "/v1/session", nil, withCookie(ck)...).wantError(t, http.StatusUnauthorized, "unauthorized")
	if r := e.do("GET", "/v1/admin/users/"+id, nil, asAdmin()...); !strings.Contains(string(r.body), `"mfa":{"totp":false,"recovery_codes":0}`) {
		t.Fatalf("admin user after reset: %s", r.body)
	}
	e.login("reset@example.com")
}

func TestMFAAdaptiveDeviceCookie(t *testing.T) {
	e := newEnv(t)
	e.enableMFA(accounts.MFAAdaptive)
	ck := e.signup("adaptive@example.com")
	seed, _ := e.enrolHTTP(ck)
	r := e.do("POST", "/v1/login", map[string]any{"email": "adaptive@example.com", "password": goodPassword})
	r.wantError(t, http.StatusForbidden, "mfa_required")
	tok := r.json(t)["mfa_token"].(string)
	r = e.do("POST", "/v1/login/mfa", map[string]any{"mfa_token": tok, "code": mfa.Code(seed, e.clock.Now())})
	r.wantStatus(t, http.StatusOK)
	d := cookieNamed(r, httpapi.DeviceCookie)
	if d == nil || !d.HttpOnly || !d.Secure || d.SameSite != http.SameSiteLaxMode || d.MaxAge < 86400*300 {
		t.Fatalf("device cookie %+v", d)
	}
	// The same browser, network and account: no second factor.
	e.do("POST", "/v1/login", map[string]any{"email": "adaptive@example.com", "password": goodPassword}, "Cookie", d.Name+"="+d.Value).wantStatus(t, http.StatusOK)
	// Without the cookie: asked again.
	e.do("POST", "/v1/login", map[string]any{"email": "adaptive@example.com", "password": goodPassword}).wantError(t, http.StatusForbidden, "mfa_required")
}

// TestOpenAPIDescribesMFAAnswers checks the answers of the second-factor routes against
// api/openapi.yaml, as TestOpenAPIDescribesAnswers does for the others.
func TestOpenAPIDescribesMFAAnswers(t *testing.T) {
	e := newEnv(t)
	c := schemaChecker{doc: loadOpenAPI(t)}
	check := func(method, template string, r *resp) { t.Helper(); c.answer(t, method, template, r) }
	r := e.do("POST", "/v1/signup", map[string]string{"email": "doc@example.com", "password": goodPassword})
	ck := withCookie(sessionCookie(t, r))
	id := userID(t, e, sessionCookie(t, r))
	check("GET", "/v1/mfa", e.do("GET", "/v1/mfa", nil, ck...))
	check("POST", "/v1/mfa/totp/confirm", e.do("POST", "/v1/mfa/totp/confirm", map[string]string{"code": "123456"}, ck...))
	r = e.do("POST", "/v1/mfa/totp", nil, ck...)
	check("POST", "/v1/mfa/totp", r)
	seed, _ := mfa.ParseSeed(r.json(t)["secret"].(string))
	check("POST", "/v1/mfa/totp/confirm", e.do("POST", "/v1/mfa/totp/confirm", map[string]string{"code": "12"}, ck...))
	check("POST", "/v1/mfa/totp/confirm", e.do("POST", "/v1/mfa/totp/confirm", map[string]string{"code": mfa.Code(seed, e.clock.Now())}, ck...))
	check("POST", "/v1/mfa/totp", e.do("POST", "/v1/mfa/totp", nil, ck...))
	check("GET", "/v1/mfa", e.do("GET", "/v1/mfa", nil, ck...))
	check("GET", "/v1/admin/users/{id}", e.do("GET", "/v1/admin/users/"+id, nil, asAdmin()...))
	e.clock.Add(time.Minute)
	r = e.do("POST", "/v1/login", map[string]any{"email": "doc@example.com", "password": goodPassword})
	check("POST", "/v1/login", r)
	tok := r.json(t)["mfa_token"].(string)
	check("POST", "/v1/login/mfa", e.do("POST", "/v1/login/mfa", map[string]any{"mfa_token": tok, "code": "000000x"}))
	check("POST", "/v1/login/mfa", e.do("POST", "/v1/login/mfa", map[string]any{"mfa_token": "nope", "code": "000000"}))
	r = e.do("POST", "/v1/login/mfa", map[string]any{"mfa_token": tok, "code": mfa.Code(seed, e.clock.Now())})
	check("POST", "/v1/login/mfa", r)
	full := withCookie(sessionCookie(t, r))
	e.clock.Add(11 * time.Minute)
	check("DELETE", "/v1/mfa/totp", e.do("DELETE", "/v1/mfa/totp", nil, full...))
	check("POST", "/v1/mfa/recovery-codes", e.do("POST", "/v1/mfa/recovery-codes", nil, full...))
	check("POST", "/v1/session/step-up", e.do("POST", "/v1/session/step-up", map[string]any{}, full...))
	r = e.do("POST", "/v1/session/step-up", map[string]any{"code": mfa.Code(seed, e.clock.Now())}, full...)
	check("POST", "/v1/session/step-up", r)
	up := withCookie(sessionCookie(t, r))
	check("POST", "/v1/mfa/recovery-codes", e.do("POST", "/v1/mfa/recovery-codes", nil, up...))
	check("DELETE", "/v1/mfa/totp", e.do("DELETE", "/v1/mfa/totp", nil, up...))
	check("DELETE", "/v1/mfa/totp", e.do("DELETE", "/v1/mfa/totp", nil, up...))
	check("POST", "/v1/session/step-up", e.do("POST", "/v1/session/step-up", map[string]any{"code": "123456"}, up...))
	check("DELETE", "/v1/admin/users/{id}/mfa", e.do("DELETE", "/v1/admin/users/"+id+"/mfa", nil, asAdmin()...))
	check("DELETE", "/v1/admin/users/{id}/mfa", e.do("DELETE", "/v1/admin/users/aaaaaaaaaaaaaaaaaaaaaaaaaa/mfa", nil, asAdmin()...))
	e.enableMFA(accounts.MFARequired)
	r = e.do("POST", "/v1/login", map[string]any{"email": "doc@example.com", "password": goodPassword, "delivery": "token"})
	check("POST", "/v1/login", r)
	check("GET", "/v1/sessions", e.do("GET", "/v1/sessions", nil, withBearer(r.json(t)["session_token"].(string))...))
}

func metricLines(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "gatehouse_mfa_total") || strings.HasPrefix(l, "gatehouse_logins_total") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestLoginMFAIsLimitedPerAddress: made-up mfa_tokens from one address are refused with 429
// once the address's allowance is spent, before they reach the store.
func TestLoginMFAIsLimitedPerAddress(t *testing.T) {
	e := newEnv(t, func(c *httpapi.Config, _ *ratelimit.Policy) { c.Buckets = ratelimit.NewMemory(0) })
	body := map[string]string{"mfa_token": "made-up.token", "code": "123456"}
	for i := range 30 {
		if res := e.do("POST", "/v1/login/mfa", body); res.StatusCode != 401 {
			t.Fatalf("attempt %d: %d %s", i, res.StatusCode, res.body)
		}
	}
	res := e.do("POST", "/v1/login/mfa", body)
	res.wantError(t, 429, "rate_limited")
	e.clock.Add(time.Second)
	if res := e.do("POST", "/v1/login/mfa", body); res.StatusCode != 401 {
		t.Fatalf("after a second: %d", res.StatusCode)
	}
}
