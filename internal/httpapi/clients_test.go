package httpapi_test

import (
	"net/http"
	"net/url"
	"testing"

	"golang.org/x/oauth2"
)

// TestAdminClients: create (secret once), get and list without it, update, bad input, delete;
// a client's own token lifetime; the admin view and revocation of a user's consents.
func TestAdminClients(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/v1/admin/clients", map[string]any{"name": "Shop", "type": "confidential", "redirect_uris": []string{rpCallback},
		"allowed_scopes": []string{"openid", "offline_access"}, "access_token_ttl": 120}, asAdmin()...)
	r.wantStatus(t, http.StatusCreated)
	c := r.json(t)
	id, sec := c["client_id"].(string), c["client_secret"].(string)
	if sec == "" || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("create: %v", c)
	}
	got := e.do("GET", "/v1/admin/clients/"+id, nil, asAdmin()...).json(t)
	if _, has := got["client_secret"]; has || got["access_token_ttl"] != float64(120) {
		t.Fatalf("get: %v", got)
	}
	e.do("GET", "/v1/admin/clients", nil).wantError(t, http.StatusUnauthorized, "unauthorized")
	for name, body := range map[string]map[string]any{
		"http off loopback": {"name": "x", "type": "public", "redirect_uris": []string{"http://shop.example/cb"}},
		"fragment":          {"name": "x", "type": "public", "redirect_uris": []string{"https://shop.example/cb#x"}},
		"unknown scope":     {"name": "x", "type": "public", "redirect_uris": []string{rpCallback}, "allowed_scopes": []string{"openid", "admin"}},
		"bad type":          {"name": "x", "type": "secret", "redirect_uris": []string{rpCallback}},
	} {
		if r := e.do("POST", "/v1/admin/clients", body, asAdmin()...); r.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d %s", name, r.StatusCode, r.body)
		}
	}
	up := e.do("PATCH", "/v1/admin/clients/"+id, map[string]any{"name": "Shop 2", "first_party": true}, asAdmin()...)
	up.wantStatus(t, http.StatusOK)
	if m := up.json(t); m["name"] != "Shop 2" || m["first_party"] != true || m["access_token_ttl"] != float64(120) {
		t.Fatalf("patch: %v", m)
	}

	e.signup("shopper@example.com")
	cookie := e.login("shopper@example.com")
	cfg := rpConfig(e, id, sec, oauth2.AuthStyleInHeader, "openid", "offline_access")
	q := e.authorize(cfg, cookie)
	tr := postForm(e, "/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {rpCallback}}, basic(id, sec)...)
	tr.wantStatus(t, http.StatusOK)
	tok := tr.json(t)
	if tok["expires_in"] != float64(120) {
		t.Fatalf("per-client lifetime: %v", tok)
	}
	user := e.do("GET", "/v1/session", nil, withCookie(cookie)...).json(t)["user"].(map[string]any)["id"].(string)
	cons := e.do("GET", "/v1/admin/users/"+user+"/consents", nil, asAdmin()...).json(t)
	if list, _ := cons["consents"].([]any); len(list) != 1 {
		t.Fatalf("admin consents: %v", cons)
	}
	// Revoking the consent ends the client's refreshes.
	e.do("DELETE", "/v1/admin/users/"+user+"/consents/"+id, nil, asAdmin()...).wantStatus(t, http.StatusNoContent)
	postForm(e, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}}, basic(id, sec)...).
		wantError(t, http.StatusBadRequest, "invalid_grant")
	if e.introspectActive(tok["access_token"].(string)) {
		t.Fatal("session still live after its consent was revoked and a refresh was refused")
	}

	e.do("DELETE", "/v1/admin/clients/"+id, nil, asAdmin()...).wantStatus(t, http.StatusNoContent)
	e.do("GET", "/v1/admin/clients/"+id, nil, asAdmin()...).wantError(t, http.StatusNotFound, "client_not_found")
	postForm(e, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}, basic(id, sec)...).
		wantError(t, http.StatusUnauthorized, "invalid_client")
}
