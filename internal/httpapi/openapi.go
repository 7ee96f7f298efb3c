package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse/api"
)

// openapiETag is the strong validator of the embedded document: it changes only with the binary.
var openapiETag = func() string {
	h := sha256.Sum256(api.OpenAPI)
	return `"` + hex.EncodeToString(h[:16]) + `"`
}()

// openapi is GET /openapi.yaml: the OpenAPI 3.1 description of this API (api/openapi.yaml).
// application/yaml is the registered type (RFC 9512) that browsers and tools know; the
// document is public and the same for every caller, so caches may keep it for an hour and
// revalidate it by ETag.
func (s *Server) openapi(w http.ResponseWriter, r *http.Request) error {
	h := w.Header()
	h.Set("Content-Type", "application/yaml")
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("ETag", openapiETag)
	http.ServeContent(w, r, "openapi.yaml", time.Time{}, bytes.NewReader(api.OpenAPI))
	return nil
}
