package audit

// Event types of second factors and step-up (docs/security.md "Second factors"). API, like
// the others: never rename one.
const (
	MFAEnrolled          = "mfa.enrolled"
	MFARemoved           = "mfa.removed"
	MFAChallengeFailed   = "mfa.challenge_failed"
	RecoveryCodeUsed     = "recovery_code.used"
	RecoveryCodesRenewed = "recovery_codes.regenerated"
	StepUp               = "step_up"
	LoginRisk            = "login.risk"
	AdminUserMFAReset    = "admin.user.mfa_reset"
	MFAEnrolmentRequired = "mfa.enrollment_required"
)
