package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse/web/sdk"
)

// The browser SDK (docs/browser-sdk.md) is served from the binary, so a page loads the SDK
// that matches the server it talks to.

// sdkFile is one embedded SDK file with its strong validator.
type sdkFile struct {
	name, contentType, etag string
	body                    []byte
}

func newSDKFile(name, contentType string, body []byte) sdkFile {
	h := sha256.Sum256(body)
	return sdkFile{name: name, contentType: contentType, etag: `"` + hex.EncodeToString(h[:16]) + `"`, body: body}
}

var (
	sdkJS    = newSDKFile("gatehouse.js", "text/javascript; charset=utf-8", sdk.JS)
	sdkTypes = newSDKFile("gatehouse.d.ts", "application/typescript; charset=utf-8", sdk.Types)
)

func (s *Server) sdkRoutes() {
	s.handle("GET /sdk/gatehouse.js", s.sdkFile(sdkJS))
	s.handle("GET /sdk/gatehouse.d.ts", s.sdkFile(sdkTypes))
}

// sdkFile answers GET for f. The files are public and the same for every caller: any origin
// may load them (a module script is fetched in CORS mode), caches keep them five minutes and
// then revalidate by ETag.
func (s *Server) sdkFile(f sdkFile) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		h := w.Header()
		h.Set("Content-Type", f.contentType)
		h.Set("Cache-Control", "public, max-age=300")
		h.Set("ETag", f.etag)
		h.Set("Cross-Origin-Resource-Policy", "cross-origin")
		if h.Get("Access-Control-Allow-Origin") == "" {
			h.Set("Access-Control-Allow-Origin", "*")
		}
		http.ServeContent(w, r, f.name, time.Time{}, bytes.NewReader(f.body))
		return nil
	}
}
