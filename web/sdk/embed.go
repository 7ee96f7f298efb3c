// Package sdk holds the browser SDK (docs/browser-sdk.md): gatehouse.js, a hand-written ES
// module, and its TypeScript declarations, embedded so the binary serves exactly the files in
// the repository.
package sdk

import _ "embed"

// JS is gatehouse.js, served at GET /sdk/gatehouse.js.
//
//go:embed gatehouse.js
var JS []byte

// Types is gatehouse.d.ts, served at GET /sdk/gatehouse.d.ts.
//
//go:embed gatehouse.d.ts
var Types []byte
