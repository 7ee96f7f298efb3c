package httpapi_test

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/gatehouse-auth/gatehouse/web/sdk"
)

func TestSDKServed(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		path, ctype string
		body        []byte
	}{
		{"/sdk/gatehouse.js", "text/javascript; charset=utf-8", sdk.JS},
		{"/sdk/gatehouse.d.ts", "application/typescript; charset=utf-8", sdk.Types},
	} {
		t.Run(c.path, func(t *testing.T) {
			r := e.do("GET", c.path, nil)
			r.wantStatus(t, http.StatusOK)
			if !bytes.Equal(r.body, c.body) || len(c.body) < 1000 {
				t.Fatalf("body is not the embedded file (%d bytes)", len(r.body))
			}
			if got := r.Header.Get("Content-Type"); got != c.ctype {
				t.Errorf("Content-Type = %q, want %q", got, c.ctype)
			}
			if got := r.Header.Get("Cache-Control"); got != "public, max-age=300" {
				t.Errorf("Cache-Control = %q", got)
			}
			// Any page may load the module (a module script is a CORS request).
			if got := r.Header.Get("Access-Control-Allow-Origin"); got != "*" {
				t.Errorf("Access-Control-Allow-Origin = %q, want *", got)
			}
			if got := r.Header.Get("Cross-Origin-Resource-Policy"); got != "cross-origin" {
				t.Errorf("Cross-Origin-Resource-Policy = %q", got)
			}
			etag := r.Header.Get("ETag")
			if len(etag) < 10 {
				t.Fatalf("ETag = %q", etag)
			}
			r = e.do("GET", c.path, nil, "If-None-Match", etag)
			r.wantStatus(t, http.StatusNotModified)
		})
	}
	if !bytes.Contains(sdk.JS, []byte("export function createClient")) || !bytes.Contains(sdk.JS, []byte("export class GatehouseError")) {
		t.Fatal("gatehouse.js does not export createClient and GatehouseError")
	}
}

// A listed origin gets its own origin and credentials on the SDK file too (not "*", which
// browsers refuse together with credentials).
func TestSDKFromListedOrigin(t *testing.T) {
	e := newEnv(t, withCORS(spaOrigin))
	r := e.do("GET", "/sdk/gatehouse.js", nil, crossSite(spaOrigin)...)
	r.wantStatus(t, http.StatusOK)
	if got := r.Header.Get("Access-Control-Allow-Origin"); got != spaOrigin {
		t.Fatalf("Access-Control-Allow-Origin = %q, want %q", got, spaOrigin)
	}
}
