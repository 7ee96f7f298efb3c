package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/jws"
	"github.com/gatehouse-auth/gatehouse/verify"
)

func TestOrdersAPI(t *testing.T) {
	priv, _ := jws.GenerateKey(jws.EdDSA)
	signer, _ := jws.NewSigner("k1", jws.EdDSA, priv)
	var iss *httptest.Server
	iss = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":%q}`, iss.URL, iss.URL+"/jwks")
		case "/jwks":
			b, _ := jws.MarshalJWKSet([]jws.PublicKey{signer.PublicKey()})
			w.Write(b)
		}
	}))
	defer iss.Close()
	v, err := verify.New(context.Background(), iss.URL, verify.WithAudience("gatehouse"))
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(routes(v))
	defer api.Close()
	token := func(scope string) string {
		now := time.Now()
		b, _ := json.Marshal(map[string]any{"iss": iss.URL, "sub": "alice", "aud": "gatehouse", "exp": now.Add(time.Minute).Unix(),
			"iat": now.Unix(), "jti": "j-" + scope, "sid": "s1", "scope": scope, "client_id": "gatehouse"})
		tok, _ := signer.Sign("at+jwt", b)
		return tok
	}
	call := func(method, tok string) (int, string) {
		req, _ := http.NewRequest(method, api.URL+"/orders", nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var sb strings.Builder
		buf := make([]byte, 1024)
		n, _ := res.Body.Read(buf)
		sb.Write(buf[:n])
		return res.StatusCode, sb.String()
	}
	if code, body := call("GET", token("openid")); code != 200 || !strings.Contains(body, `"user":"alice"`) {
		t.Fatalf("GET with a token: %d %s", code, body)
	}
	if code, _ := call("GET", ""); code != 401 {
		t.Fatalf("GET without a token: %d", code)
	}
	if code, _ := call("POST", token("openid")); code != 403 {
		t.Fatalf("POST without orders:write: %d", code)
	}
	if code, _ := call("POST", token("orders:write")); code != 200 {
		t.Fatalf("POST with orders:write: %d", code)
	}
}
