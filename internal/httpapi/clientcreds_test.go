package httpapi_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/accesskeys"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/jws"
)

// newKey makes an access key through the management API and returns its id and key.
func (e *env) newKey(spec map[string]any) (id, key string) {
	e.t.Helper()
	r := e.do("POST", "/v1/admin/access-keys", spec, asAdmin()...)
	r.wantStatus(e.t, http.StatusCreated)
	m := r.json(e.t)
	return m["id"].(string), m["key"].(string)
}

// basic is the Authorization header golang.org/x/oauth2 sends (RFC 6749 §2.3.1): id and
// secret form-urlencoded, then Basic.
func basic(id, secret string) []string {
	return []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))}
}

func (e *env) exchange(form url.Values, hdr ...string) *resp {
	e.t.Helper()
	form.Set("grant_type", "client_credentials")
	return e.form("/oauth/token", form, hdr...)
}

func claimsOf(t *testing.T, tok string) map[string]any {
	t.Helper()
	p, err := jws.Parse(tok)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(p.Claims.Raw, &m)
	return m
}

func (e *env) introspect(tok string, cred string) map[string]any {
	e.t.Helper()
	r := e.form("/oauth/introspect", url.Values{"token": {tok}}, withBearer(cred)...)
	r.wantStatus(e.t, http.StatusOK)
	return r.json(e.t)
}

// wantInvalidClient: every client authentication failure answers the same 401.
func (r *resp) wantInvalidClient(t *testing.T) {
	t.Helper()
	r.wantError(t, http.StatusUnauthorized, "invalid_client")
	if h := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(h, "Basic ") {
		t.Fatalf("WWW-Authenticate = %q, want a Basic challenge", h)
	}
	if d := r.json(t)["error_description"]; d != "client authentication failed" {
		t.Fatalf("description %q hints at the reason", d)
	}
}

func TestClientCredentials(t *testing.T) {
	e := newEnv(t)
	owner := e.do("POST", "/v1/admin/users", map[string]any{"email": "svc@example.com"}, asAdmin()...).json(t)["id"].(string)
	id, key := e.newKey(map[string]any{"name": "billing", "scopes": []string{"orders:read", "orders:write"}, "user_id": owner})

	disc := string(e.do("GET", "/.well-known/openid-configuration", nil).body)
	if !strings.Contains(disc, `"client_credentials"`) || !strings.Contains(disc, `"client_secret_post"`) {
		t.Fatalf("discovery does not announce the grant: %s", disc)
	}
	r := e.exchange(url.Values{}, basic(id, key)...)
	r.wantStatus(t, http.StatusOK)
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("Cache-Control %q", cc)
	}
	m := r.json(t)
	if m["token_type"] != "Bearer" || m["scope"] != "orders:read orders:write" || m["expires_in"] != float64(600) || m["refresh_token"] != nil {
		t.Fatalf("answer %v", m)
	}
	tok := m["access_token"].(string)
	c := claimsOf(t, tok)
	if c["sub"] != owner || c["client_id"] != id || c["scope"] != "orders:read orders:write" || c["sid"] != nil || c["amr"] != nil {
		t.Fatalf("claims %v", c)
	}
	if p, _ := jws.Parse(tok); p.Header.Typ != "at+jwt" {
		t.Fatalf("typ %q", p.Header.Typ)
	}

	// Other ways to present the key, and narrowing.
	for name, tc := range map[string]struct {
		form  url.Values
		hdr   []string
		scope string
	}{
		"client_secret alone":        {url.Values{"client_secret": {key}}, nil, "orders:read orders:write"},
		"client_id and secret, body": {url.Values{"client_id": {id}, "client_secret": {key}}, nil, "orders:read orders:write"},
		"narrowed":                   {url.Values{"scope": {"orders:read"}}, basic(id, key), "orders:read"},
		"Basic, not encoded (curl)":  {url.Values{}, []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+key))}, "orders:read orders:write"},
	} {
		t.Run(name, func(t *testing.T) {
			r := e.exchange(tc.form, tc.hdr...)
			r.wantStatus(t, http.StatusOK)
			if got := r.json(t)["scope"]; got != tc.scope {
				t.Fatalf("scope %v, want %q", got, tc.scope)
			}
		})
	}
	e.exchange(url.Values{"scope": {"orders:read admin"}}, basic(id, key)...).wantError(t, 400, "invalid_scope")
	e.exchange(url.Values{"client_secret": {key}}, basic(id, key)...).wantError(t, 400, "invalid_request")

	// The server's own checks: introspection says active, without a session; session-only
	// endpoints refuse the token.
	in := e.introspect(tok, adminKey)
	if in["active"] != true || in["client_id"] != id || in["sub"] != owner || in["sid"] != nil {
		t.Fatalf("introspection %v", in)
	}
	e.do("GET", "/v1/session", nil, withBearer(tok)...).wantStatus(t, 401)
	e.do("GET", "/v1/access-keys", nil, withBearer(tok)...).wantStatus(t, 401)

	// RFC 7009 revokes one client token.
	one := e.exchange(url.Values{}, basic(id, key)...).json(t)["access_token"].(string)
	e.form("/oauth/revoke", url.Values{"token": {one}, "client_id": {"gatehouse"}}).wantStatus(t, 200)
	if in := e.introspect(one, adminKey); in["active"] != false {
		t.Fatalf("a client token revoked by RFC 7009: %v", in)
	}
	if in := e.introspect(tok, adminKey); in["active"] != true {
		t.Fatalf("revoking one token revoked another: %v", in)
	}

	// A key without owner acts as itself.
	solo, soloKey := e.newKey(map[string]any{"name": "cron", "scopes": []string{"jobs"}})
	sm := e.exchange(url.Values{}, basic(solo, soloKey)...).json(t)
	if c := claimsOf(t, sm["access_token"].(string)); c["sub"] != solo || c["client_id"] != solo {
		t.Fatalf("ownerless claims %v", c)
	}

	// Every failure is the same 401.
	expID, expKey := e.newKey(map[string]any{"name": "short-lived", "scopes": []string{"a"}, "expires_at": e.clock.Now().Add(time.Hour)})
	badSum := key[:len(key)-1] + map[bool]string{true: "b", false: "a"}[key[len(key)-1] == 'a']
	for name, tc := range map[string]struct {
		form url.Values
		hdr  []string
	}{
		"nothing":           {url.Values{}, nil},
		"malformed":         {url.Values{"client_secret": {"gh_ak_nonsense"}}, nil},
		"truncated":         {url.Values{}, basic(id, key[:len(key)-3])},
		"bad checksum":      {url.Values{}, basic(id, badSum)},
		"unknown":           {url.Values{}, basic(id, accesskeys.Generate(secret.NewID()))},
		"wrong id":          {url.Values{}, basic(solo, key)},
		"id without secret": {url.Values{"client_id": {id}}, nil},
		"not Basic":         {url.Values{}, []string{"Authorization", "Bearer " + key}},
		"bad escape":        {url.Values{}, []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":%zz"))}},
		"expired": {url.Values{}, func() []string {
			return basic(expID, expKey)
		}()},
	} {
		t.Run(name, func(t *testing.T) {
			if name == "expired" {
				e.clock.Add(time.Hour)
				defer e.clock.Add(-time.Hour)
			}
			e.exchange(tc.form, tc.hdr...).wantInvalidClient(t)
		})
	}

	// Owner disabled: the key stops working, and so do its tokens (server-side and feed).
	e.do("POST", "/v1/admin/users/"+owner+"/disable", nil, asAdmin()...).wantStatus(t, 200)
	e.exchange(url.Values{}, basic(id, key)...).wantInvalidClient(t)
	if in := e.introspect(tok, adminKey); in["active"] != false || len(in) != 1 {
		t.Fatalf("token of a disabled owner's key: %v", in)
	}
	e.do("POST", "/v1/admin/users/"+owner+"/enable", nil, asAdmin()...).wantStatus(t, 200)
	e.clock.Add(time.Second)
	fresh := e.exchange(url.Values{}, basic(id, key)...).json(t)["access_token"].(string)
	if in := e.introspect(fresh, adminKey); in["active"] != true {
		t.Fatalf("a token minted after the owner was enabled again: %v", in)
	}
	if in := e.introspect(tok, adminKey); in["active"] != false {
		t.Fatalf("a token minted before the owner was disabled came back: %v", in)
	}

	// Revoked (deleted): the key and every token minted from it.
	e.do("DELETE", "/v1/admin/access-keys/"+id, nil, asAdmin()...).wantStatus(t, 204)
	e.exchange(url.Values{}, basic(id, key)...).wantInvalidClient(t)
	if in := e.introspect(fresh, adminKey); in["active"] != false {
		t.Fatalf("token of a deleted key: %v", in)
	}
}

// TestClientCredentialsImportedKeys: a key known only by its SHA-256 (and a cleartext legacy
// key) is exchanged as the services already send it: client_secret alone.
func TestClientCredentialsImportedKeys(t *testing.T) {
	e := newEnv(t)
	const legacy = "sk_live_0123456789abcdefABCDEF+/="
	const hashedOnly = "legacy-service-key-7f3a9c2e1b"
	sum := sha256.Sum256([]byte(hashedOnly))
	r := e.do("POST", "/v1/admin/access-keys/import", map[string]any{"keys": []map[string]any{
		{"key": legacy, "name": "legacy", "scopes": []string{"a"}},
		{"key_sha256": hex.EncodeToString(sum[:]), "name": "hashed", "scopes": []string{"b"}},
	}}, asAdmin()...)
	r.wantStatus(t, 200)
	res := r.json(t)["results"].([]any)
	hashedID := res[1].(map[string]any)["id"].(string)
	for name, tc := range map[string]struct {
		form  url.Values
		hdr   []string
		scope string
	}{
		"hash-only key, client_secret": {url.Values{"client_secret": {hashedOnly}}, nil, "b"},
		"hash-only key, Basic":         {url.Values{}, basic(hashedID, hashedOnly), "b"},
		"legacy key with + / =, body":  {url.Values{"client_secret": {legacy}}, nil, "a"},
		"legacy key, Basic, encoded":   {url.Values{}, basic(res[0].(map[string]any)["id"].(string), legacy), "a"},
	} {
		t.Run(name, func(t *testing.T) {
			r := e.exchange(tc.form, tc.hdr...)
			r.wantStatus(t, 200)
			m := r.json(t)
			if m["scope"] != tc.scope {
				t.Fatalf("answer %v", m)
			}
		})
	}
}

// TestClientCredentialsStoreDown: a store failure is 503, never invalid_client or a token.
func TestClientCredentialsStoreDown(t *testing.T) {
	e := newEnv(t)
	id, key := e.newKey(map[string]any{"name": "x", "scopes": []string{"a"}})
	e.db.Close()
	e.exchange(url.Values{}, basic(id, key)...).wantError(t, http.StatusServiceUnavailable, "temporarily_unavailable")
}

// TestKeyFailuresAreLimitedAndSampled: wrong keys from one address are limited (then even
// the right key is refused, or a guesser would learn which guess was right), and the audit
// trail gets a sample of them, not one event each.
func TestKeyFailuresAreLimitedAndSampled(t *testing.T) {
	e := newEnv(t, func(c *httpapi.Config, _ *ratelimit.Policy) { c.Buckets = ratelimit.NewMemory(0) })
	id, key := e.newKey(map[string]any{"name": "x", "scopes": []string{"a", httpapi.ScopeRevocations}})
	for i := range 20 {
		r := e.exchange(url.Values{}, basic(id, accesskeys.Generate(id))...)
		if r.StatusCode != 401 {
			t.Fatalf("attempt %d: %d", i+1, r.StatusCode)
		}
	}
	e.exchange(url.Values{}, basic(id, key)...).wantError(t, http.StatusTooManyRequests, "rate_limited")
	// The same allowance guards the feed.
	e.do("GET", "/v1/revocations", nil, withBearer(key)...).wantError(t, http.StatusTooManyRequests, "rate_limited")
	e.clock.Add(6 * time.Second)
	e.exchange(url.Values{}, basic(id, key)...).wantStatus(t, 200)
	ev := e.do("GET", "/v1/admin/events?type=access_key.exchange_failed", nil, asAdmin()...).json(t)["events"].([]any)
	if len(ev) != 2 {
		t.Fatalf("%d failure events for 20 failures, want 2 (first and last of the allowance)", len(ev))
	}
	if first := ev[0].(map[string]any); first["client_id"] != id || first["outcome"] != "failure" {
		t.Fatalf("event %v", first)
	}
	for _, x := range ev {
		if strings.Contains(string(mustJSON(x)), key[len(key)-20:]) {
			t.Fatal("an event holds key material")
		}
	}
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

// TestResourceServerKeys: access keys with gatehouse:introspect / gatehouse:revocations
// open exactly those endpoints; the management key keeps working; nothing else passes.
func TestResourceServerKeys(t *testing.T) {
	e := newEnv(t)
	_, intro := e.newKey(map[string]any{"name": "api", "scopes": []string{httpapi.ScopeIntrospect}})
	feedID, feed := e.newKey(map[string]any{"name": "feed", "scopes": []string{httpapi.ScopeRevocations}})
	_, plain := e.newKey(map[string]any{"name": "plain", "scopes": []string{"orders:read"}})
	ts := e.tokenLogin(func() string { e.signup("u@example.com"); return "u@example.com" }())

	for name, tc := range map[string]struct {
		cred            string
		introOK, feedOK bool
	}{
		"management key":         {adminKey, true, true},
		"introspect key":         {intro, true, false},
		"revocations key":        {feed, false, true},
		"key without the scopes": {plain, false, false},
		"unknown key":            {accesskeys.Generate(secret.NewID()), false, false},
		"a user's access token":  {ts.Access, false, false},
		"nothing":                {"", false, false},
	} {
		t.Run(name, func(t *testing.T) {
			var hdr []string
			if tc.cred != "" {
				hdr = withBearer(tc.cred)
			}
			r := e.form("/oauth/introspect", url.Values{"token": {ts.Access}}, hdr...)
			if tc.introOK {
				r.wantStatus(t, 200)
				if r.json(t)["active"] != true {
					t.Fatalf("introspection %s", r.body)
				}
			} else {
				r.wantError(t, 401, "unauthorized")
			}
			for _, path := range []string{"/v1/revocations"} {
				r := e.do("GET", path, nil, hdr...)
				if tc.feedOK {
					r.wantStatus(t, 200)
				} else {
					r.wantError(t, 401, "unauthorized")
				}
			}
		})
	}
	// A deleted feed key is refused at once.
	e.do("DELETE", "/v1/admin/access-keys/"+feedID, nil, asAdmin()...).wantStatus(t, 204)
	e.do("GET", "/v1/revocations", nil, withBearer(feed)...).wantError(t, 401, "unauthorized")
}

// TestKeyRevocationOnTheFeed: deleting a key, disabling or deleting its owner, each put
// client_id entries on the feed, in the shape resource servers read.
func TestKeyRevocationOnTheFeed(t *testing.T) {
	e := newEnv(t)
	owner := e.do("POST", "/v1/admin/users", map[string]any{"email": "o@example.com"}, asAdmin()...).json(t)["id"].(string)
	k1, _ := e.newKey(map[string]any{"name": "k1", "scopes": []string{"a"}, "user_id": owner})
	k2, _ := e.newKey(map[string]any{"name": "k2", "scopes": []string{"a"}, "user_id": owner})
	solo, _ := e.newKey(map[string]any{"name": "solo", "scopes": []string{"a"}})
	feed := func(after string) (entries []map[string]any, cursor string) {
		var page struct {
			Entries []map[string]any `json:"entries"`
			Cursor  string           `json:"cursor"`
		}
		json.Unmarshal(e.do("GET", "/v1/revocations?after="+after, nil, asAdmin()...).body, &page)
		return page.Entries, page.Cursor
	}
	_, cur := feed("")
	e.do("DELETE", "/v1/admin/access-keys/"+solo, nil, asAdmin()...).wantStatus(t, 204)
	got, cur := feed(cur)
	if len(got) != 1 || got[0]["client_id"] != solo || got[0]["issued_before"] != nil || got[0]["sid"] != nil {
		t.Fatalf("entries after a key delete: %v", got)
	}
	e.do("POST", "/v1/admin/users/"+owner+"/disable", nil, asAdmin()...).wantStatus(t, 200)
	got, cur = feed(cur)
	if len(got) != 2 {
		t.Fatalf("entries after the owner was disabled: %v", got)
	}
	want := e.clock.Now().Unix() + 1
	for _, en := range got {
		if (en["client_id"] != k1 && en["client_id"] != k2) || en["issued_before"] != float64(want) || en["sub"] != owner {
			t.Fatalf("entry %v, want issued_before %d", en, want)
		}
	}
	e.do("DELETE", "/v1/admin/users/"+owner, nil, asAdmin()...).wantStatus(t, 204)
	got, _ = feed(cur)
	var clients int
	for _, en := range got {
		if en["client_id"] != nil {
			clients++
		}
	}
	if clients != 2 {
		t.Fatalf("entries after the owner was deleted: %v", got)
	}
	ev := e.do("GET", "/v1/admin/events?type=access_key.revoked", nil, asAdmin()...).json(t)["events"].([]any)
	if len(ev) != 5 {
		t.Fatalf("%d access_key.revoked events, want 5 (delete, 2 disabled, 2 deleted)", len(ev))
	}
}

// TestOwnAccessKeys: users manage their own keys with their session, within the allow-list.
func TestOwnAccessKeys(t *testing.T) {
	t.Run("not allowed by default", func(t *testing.T) {
		e := newEnv(t)
		ck := e.signup("a@example.com")
		e.do("POST", "/v1/access-keys", map[string]any{"name": "x", "scopes": []string{"a"}}, withCookie(ck)...).wantError(t, 403, "access_keys_not_allowed")
		r := e.do("GET", "/v1/access-keys", nil, withCookie(ck)...)
		r.wantStatus(t, 200)
	})
	e := newEnv(t, func(c *httpapi.Config, _ *ratelimit.Policy) {
		c.UserAccessKeyScopes = []string{"orders:read", "orders:write"}
	})
	e.do("GET", "/v1/access-keys", nil).wantError(t, 401, "unauthorized")
	alice, bob := e.signup("alice@example.com"), e.signup("bob@example.com")
	aliceID := e.do("GET", "/v1/session", nil, withCookie(alice)...).json(t)["user"].(map[string]any)["id"].(string)
	bobID := e.do("GET", "/v1/session", nil, withCookie(bob)...).json(t)["user"].(map[string]any)["id"].(string)

	r := e.do("POST", "/v1/access-keys", map[string]any{"name": "laptop", "scopes": []string{"orders:read"}}, withCookie(alice)...)
	r.wantStatus(t, 201)
	k := r.json(t)
	aliceKey, aliceKeyID := k["key"].(string), k["id"].(string)
	if k["user_id"] != aliceID || k["created_by"] != aliceID {
		t.Fatalf("own key %v", k)
	}
	e.do("POST", "/v1/access-keys", map[string]any{"name": "x", "scopes": []string{"gatehouse:revocations"}}, withCookie(alice)...).wantError(t, 403, "scope_not_allowed")
	e.do("POST", "/v1/access-keys", map[string]any{"name": "x", "scopes": []string{"orders:read"}, "user_id": bobID}, withCookie(alice)...).wantError(t, 403, "access_keys_not_allowed")
	bobKeyID := e.do("POST", "/v1/access-keys", map[string]any{"name": "b", "scopes": []string{"orders:write"}}, withCookie(bob)...).json(t)["id"].(string)

	list := e.do("GET", "/v1/access-keys", nil, withCookie(alice)...).json(t)["access_keys"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["id"] != aliceKeyID {
		t.Fatalf("alice's list %v", list)
	}
	e.do("GET", "/v1/access-keys/"+aliceKeyID, nil, withCookie(alice)...).wantStatus(t, 200)
	e.do("GET", "/v1/access-keys/"+bobKeyID, nil, withCookie(alice)...).wantError(t, 404, "access_key_not_found")
	e.do("DELETE", "/v1/access-keys/"+bobKeyID, nil, withCookie(alice)...).wantError(t, 404, "access_key_not_found")

	// The key works, then dies with its deletion by its owner.
	e.exchange(url.Values{"client_secret": {aliceKey}}).wantStatus(t, 200)
	e.do("DELETE", "/v1/access-keys/"+aliceKeyID, nil, withCookie(alice)...).wantStatus(t, 204)
	e.exchange(url.Values{"client_secret": {aliceKey}}).wantInvalidClient(t)

	ev := e.do("GET", "/v1/admin/events?user="+aliceID, nil, asAdmin()...).json(t)["events"].([]any)
	var seen []string
	for _, x := range ev {
		m := x.(map[string]any)
		if strings.HasPrefix(m["type"].(string), "access_key.") {
			if m["client_id"] != aliceKeyID || m["actor"] != "user" || m["session_id"] == nil {
				t.Fatalf("event %v", m)
			}
			seen = append(seen, m["type"].(string))
		}
	}
	if strings.Join(seen, ",") != "access_key.created,access_key.revoked" {
		t.Fatalf("events %v", seen)
	}
}

// FuzzClientCredentials sends arbitrary client authentication to the token endpoint: the
// answer is a token for the one right key, otherwise a 400, 401 (with a Basic challenge) or
// 429, never a 5xx.
func FuzzClientCredentials(f *testing.F) {
	e := newEnv(f)
	e.t = f
	id, key := e.newKey(map[string]any{"name": "x", "scopes": []string{"a"}})
	f.Add("Basic "+base64.StdEncoding.EncodeToString([]byte(id+":"+key)), "")
	f.Add("", "client_secret="+url.QueryEscape(key))
	f.Add("Basic "+base64.StdEncoding.EncodeToString([]byte(":")), "client_id=x")
	f.Add("Basic %%%", "client_secret=gh_ak_")
	f.Add("", "client_id="+id+"&client_secret="+key[:20]+"&scope=a+b")
	f.Fuzz(func(t *testing.T, authz, body string) {
		e.t = t
		req, _ := http.NewRequest("POST", e.srv.URL+"/oauth/token", strings.NewReader("grant_type=client_credentials&"+body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if authz != "" && validHeader(authz) {
			req.Header.Set("Authorization", authz)
		}
		r := e.send(req)
		switch r.StatusCode {
		case 200:
			if !strings.Contains(authz+body, key) && !strings.Contains(authz+body, url.QueryEscape(key)) {
				// Only the key (possibly re-encoded) opens the door.
				u, p, _ := (&http.Request{Header: http.Header{"Authorization": {authz}}}).BasicAuth()
				if dec, _ := url.QueryUnescape(p); dec != key && !strings.Contains(u+p, key) {
					form, _ := url.ParseQuery(body)
					if form.Get("client_secret") != key {
						t.Fatalf("a token without the key: %q %q", authz, body)
					}
				}
			}
		case 401:
			if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Basic ") {
				t.Fatalf("401 without a Basic challenge: %q %q", authz, body)
			}
		case 400, 429:
		default:
			t.Fatalf("%q %q: %d %s", authz, body, r.StatusCode, r.body)
		}
	})
}

func validHeader(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}
