package web

import "testing"

// The second-step page offers what the user has: the code field unless only a passkey is
// known, the passkey button when one is; unknown words are dropped from the hidden field.
func TestSetMFAMethods(t *testing.T) {
	for _, c := range []struct {
		in            string
		code, passkey bool
		kept          string
	}{
		{"", true, false, ""},
		{"totp", true, false, "totp"},
		{"passkey", false, true, "passkey"},
		{"totp passkey", true, true, "totp passkey"},
		{"<script> passkey", false, true, "passkey"},
		{"bogus", true, false, ""},
	} {
		var f form
		f.setMFAMethods(c.in)
		if f.MFACode != c.code || f.MFAPasskey != c.passkey || f.MFAMethods != c.kept {
			t.Errorf("%q: code=%v passkey=%v kept=%q, want %v %v %q", c.in, f.MFACode, f.MFAPasskey, f.MFAMethods, c.code, c.passkey, c.kept)
		}
	}
}
