// Package api holds the OpenAPI 3.1 description of Gatehouse's HTTP API (openapi.yaml), embedded
// so that the server can answer it at GET /openapi.yaml. internal/httpapi tests that it
// describes exactly the routes the server registers and the error codes it can return.
package api

import _ "embed"

// OpenAPI is the OpenAPI 3.1 document, as YAML.
//
//go:embed openapi.yaml
var OpenAPI []byte
