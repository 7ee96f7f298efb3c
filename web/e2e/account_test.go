package e2e

import "testing"

// TestAccountPage runs account.mjs against a real Gatehouse: device sign-out from the account
// page, TOTP enrolment through it and a sign-in with the code, CSP and accessibility checks,
// and the screenshot docs/screenshots/account.png.
func TestAccountPage(t *testing.T) {
	t.Parallel()
	browserTools(t)
	g := StartGatehouse(t, nil)
	RunSpec(t, "account.mjs", "GATEHOUSE_ISSUER="+g.URL)
}
