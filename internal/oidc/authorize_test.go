package oidc

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"testing"
)

func testClient(typ string) *Client {
	return &Client{ID: "c1", Type: typ, RedirectURIs: []string{"https://rp.example/cb", "http://127.0.0.1/cb", "com.example.app:/cb"},
		AllowedScopes: []string{"openid", "email", "offline_access"}}
}

func challenge(v string) string {
	h := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk" // RFC 7636 appendix B

func TestParseRequest(t *testing.T) {
	good := url.Values{"response_type": {"code"}, "client_id": {"c1"}, "redirect_uri": {"https://rp.example/cb"},
		"scope": {"openid email"}, "state": {"s"}, "nonce": {"n"}, "code_challenge": {challenge(verifier)}, "code_challenge_method": {"S256"}}
	with := func(kv ...string) url.Values {
		q := url.Values{}
		for k, v := range good {
			q[k] = append([]string(nil), v...)
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "\x00del" {
				q.Del(kv[i])
			} else {
				q.Set(kv[i], kv[i+1])
			}
		}
		return q
	}
	rep := with()
	rep["scope"] = []string{"openid", "openid"}
	tests := []struct {
		name string
		q    url.Values
		typ  string
		code string // "" = accepted
	}{
		{"good", good, Public, ""},
		{"confidential without PKCE", with("code_challenge", "\x00del", "code_challenge_method", "\x00del"), Confidential, ""},
		{"public without PKCE", with("code_challenge", "\x00del", "code_challenge_method", "\x00del"), Public, ErrInvalidRequest},
		{"plain PKCE", with("code_challenge_method", "plain"), Public, ErrInvalidRequest},
		{"malformed challenge", with("code_challenge", "short"), Public, ErrInvalidRequest},
		{"token response type", with("response_type", "token"), Public, ErrUnsupportedResponseType},
		{"hybrid response type", with("response_type", "code id_token"), Public, ErrUnsupportedResponseType},
		{"no response type", with("response_type", "\x00del"), Public, ErrInvalidRequest},
		{"fragment mode", with("response_mode", "fragment"), Public, ErrInvalidRequest},
		{"no openid", with("scope", "email"), Public, ErrInvalidScope},
		{"scope not allowed", with("scope", "openid profile"), Public, ErrInvalidScope},
		{"state too long", with("state", strings.Repeat("s", MaxStateLen+1)), Public, ErrInvalidRequest},
		{"oversize parameter", with("foo", strings.Repeat("x", MaxParamLen+1)), Public, ErrInvalidRequest},
		{"repeated parameter", rep, Public, ErrInvalidRequest},
		{"unknown prompt", with("prompt", "bogus"), Public, ErrInvalidRequest},
		{"prompt none with login", with("prompt", "none login"), Public, ErrInvalidRequest},
		{"negative max_age", with("max_age", "-1"), Public, ErrInvalidRequest},
		{"request object", with("request", "eyJ"), Public, ErrRequestNotSupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRequest(tt.q, testClient(tt.typ))
			if tt.code == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ae *AuthError
			if !errors.As(err, &ae) || ae.Code != tt.code || !ae.Redirect {
				t.Fatalf("err = %v, want redirectable %s", err, tt.code)
			}
			if r == nil || r.RedirectURI == "" {
				t.Fatal("an error without the request to answer")
			}
		})
	}
	r, _ := ParseRequest(with("prompt", "select_account", "max_age", "0", "acr_values", ACRMFA, "response_mode", "form_post"), testClient(Public))
	if !r.Has("login") || r.MaxAge != 0 || !r.RequireMFA || r.ResponseMode != "form_post" {
		t.Fatalf("parsed %+v", r)
	}
	// Core §3.1.2.1: scopes not understood are ignored, in any order; OIDC parameters Gatehouse
	// does not use (display, locales, claims, unknown ones) are accepted.
	r, err := ParseRequest(with("scope", "address email phone openid", "display", "popup", "ui_locales", "fr", "claims_locales", "fr",
		"claims", `{"userinfo":{"email":{"essential":true}}}`, "x-unknown", "1"), testClient(Public))
	if err != nil || r.Scope() != "email openid" {
		t.Fatalf("scopes %v, %v", r, err)
	}
}

func TestCheckClientParams(t *testing.T) {
	for name, q := range map[string]url.Values{
		"no client":         {"redirect_uri": {"https://rp.example/cb"}},
		"no redirect":       {"client_id": {"c1"}},
		"repeated client":   {"client_id": {"c1", "c2"}, "redirect_uri": {"https://rp.example/cb"}},
		"repeated redirect": {"client_id": {"c1"}, "redirect_uri": {"https://rp.example/cb", "https://evil.example/"}},
	} {
		var ae *AuthError
		if _, _, err := CheckClientParams(q); !errors.As(err, &ae) || ae.Redirect {
			t.Errorf("%s: %v (must be a page, never a redirect)", name, err)
		}
	}
}

func TestRedirectURIs(t *testing.T) {
	for _, u := range []string{"https://rp.example/cb", "http://127.0.0.1/cb", "http://[::1]:8080/cb", "com.example.app:/cb"} {
		if err := CheckRedirectURI(u); err != nil {
			t.Errorf("%s refused: %v", u, err)
		}
	}
	for _, u := range []string{"http://rp.example/cb", "http://localhost/cb", "https://rp.example/cb#frag", "javascript:alert(1)",
		"myapp:/cb", "/relative", "https://user@rp.example/cb", "data:text/html,x", "vbscript:x"} {
		if err := CheckRedirectURI(u); err == nil {
			t.Errorf("%s accepted", u)
		}
	}
	c := testClient(Public)
	for u, want := range map[string]bool{
		"https://rp.example/cb":          true,
		"https://rp.example/cb/":         false,
		"https://rp.example/cb?x=1":      false,
		"https://RP.example/cb":          false,
		"http://127.0.0.1:51234/cb":      true, // RFC 8252 §7.3: any port on loopback
		"http://127.0.0.1:51234/other":   false,
		"http://[::1]:51234/cb":          false, // registered on 127.0.0.1 only
		"com.example.app:/cb":            true,
		"https://rp.example.evil.com/cb": false,
	} {
		if got := c.MatchRedirectURI(u); got != want {
			t.Errorf("MatchRedirectURI(%s) = %v", u, got)
		}
	}
}

func TestVerifyPKCE(t *testing.T) {
	// RFC 7636 appendix B.
	if challenge(verifier) != "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" || !VerifyPKCE("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", verifier) {
		t.Fatal("RFC 7636 example refused")
	}
	for _, v := range []string{"", verifier[:42], verifier + "x", strings.Repeat("a", 129), verifier[:42] + "!"} {
		if VerifyPKCE(challenge(verifier), v) {
			t.Errorf("verifier %q accepted", v)
		}
	}
}

// FuzzParseRequest: any query string gives an answer, never a panic; an accepted request
// always has its redirect URI registered and values within the limits.
func FuzzParseRequest(f *testing.F) {
	f.Add("response_type=code&client_id=c1&redirect_uri=https%3A%2F%2Frp.example%2Fcb&scope=openid&state=x&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256")
	f.Add("response_type=code&scope=openid&prompt=none+login&max_age=9999999999&response_mode=form_post")
	f.Add("client_id=c1&client_id=c2&redirect_uri=%zz")
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		c := testClient(Public)
		id, ru, err := CheckClientParams(q)
		if err != nil {
			var ae *AuthError
			if !errors.As(err, &ae) || ae.Redirect {
				t.Fatalf("client parameter error is redirectable: %v", err)
			}
			return
		}
		if id != c.ID || !c.MatchRedirectURI(ru) {
			return
		}
		r, err := ParseRequest(q, c)
		if r == nil {
			t.Fatal("no request")
		}
		if err == nil {
			if len(r.State) > MaxStateLen || len(r.Nonce) > MaxNonceLen || r.CodeChallenge == "" || r.Scope() == "" {
				t.Fatalf("accepted out of limits: %+v", r)
			}
			for _, s := range r.Scopes {
				if !strings.Contains(" openid email offline_access ", " "+s+" ") {
					t.Fatalf("scope %q accepted", s)
				}
			}
		}
	})
}
