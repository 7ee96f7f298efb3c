package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// screenshotDir is where the page specs save their screenshots: docs/screenshots when
// GATEHOUSE_UPDATE_SCREENSHOTS=1 (to refresh the pictures in the docs), else a temporary
// directory (the screenshots are still taken, so the step is exercised).
func screenshotDir(t *testing.T) string {
	t.Helper()
	if os.Getenv("GATEHOUSE_UPDATE_SCREENSHOTS") == "1" {
		dir, err := filepath.Abs(filepath.Join("..", "..", "docs", "screenshots"))
		if err != nil {
			t.Fatal(err)
		}
		return dir
	}
	return t.TempDir()
}

// TestHostedPagesInBrowser runs web/e2e/pages.mjs: sign-up, sign-in, a wrong password, a
// passkey, a second factor, consent and the code flow, error pages, size and speed of the
// sign-in page, CSP and accessibility on every page (docs/hosted-pages.md).
func TestHostedPagesInBrowser(t *testing.T) {
	t.Parallel()
	browserTools(t)
	g := StartGatehouse(t, nil)
	RunSpec(t, "pages.mjs", "GATEHOUSE_ISSUER="+g.URL, "GATEHOUSE_ADMIN_KEY="+AdminKey, "GATEHOUSE_SCREENSHOTS="+screenshotDir(t))
}

// TestHandoffInBrowser runs web/e2e/pages-handoff.mjs: one Gatehouse answering two hosts,
// a.localhost (the issuer) and b.localhost (a handoff target), on the same port; a browser
// signed in on a is handed off to b (docs/cross-domain.md).
func TestHandoffInBrowser(t *testing.T) {
	t.Parallel()
	browserTools(t)
	port := freePort(t)
	a := fmt.Sprintf("http://a.localhost:%d", port)
	b := fmt.Sprintf("http://b.localhost:%d", port)
	// Browsers treat *.localhost as secure contexts, so the cookies keep their Secure flag
	// and __Host- prefix over plain http here: one host-only cookie per host, as in
	// production.
	StartGatehouseOn(t, port, map[string]any{"handoff_targets": []string{b + "/v1/handoff/complete"}},
		"GATEHOUSE_ISSUER="+a)
	RunSpec(t, "pages-handoff.mjs", "GATEHOUSE_HOST_A="+a, "GATEHOUSE_HOST_B="+b, "GATEHOUSE_SCREENSHOTS="+screenshotDir(t))
}
