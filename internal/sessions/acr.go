package sessions

import "slices"

// Authentication context class references (the acr claim) that Gatehouse issues, from the
// weakest: a password (or another single factor), two factors, a phishing-resistant factor
// (a passkey). docs/security.md "Second factors" describes them.
const (
	ACRPassword          = "urn:gatehouse:acr:pwd"
	ACRMFA               = "urn:gatehouse:acr:mfa"
	ACRPhishingResistant = "urn:gatehouse:acr:phr"
)

// ACR derives a session's acr from its amr (RFC 8176 values), so that the two never
// disagree and no column holds a second copy: "hwk" or "swk" (a passkey) is phishing
// resistant, "mfa" is two factors, anything else one factor.
func ACR(amr []string) string {
	switch {
	case slices.Contains(amr, "hwk") || slices.Contains(amr, "swk"):
		return ACRPhishingResistant
	case slices.Contains(amr, "mfa"):
		return ACRMFA
	default:
		return ACRPassword
	}
}

// ACR is the session's acr (see the function ACR).
func (s *Session) ACR() string { return ACR(s.AMR) }
