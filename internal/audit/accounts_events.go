package audit

// Event types of the email and self-service flows (docs/email.md). They are API: never
// rename one.
const (
	EmailVerified           = "user.email_verified"
	EmailChangeRequested    = "user.email_change_requested"
	EmailChangeCompleted    = "user.email_changed"
	EmailChangeUndone       = "user.email_change_undone"
	PasswordResetRequested  = "user.password_reset_requested"
	PasswordResetCompleted  = "user.password_reset"
	PasswordChanged         = "user.password_changed"
	ProfileUpdated          = "user.profile_updated"
	AccountDeleted          = "user.deleted"
	EmailLoginCodeRequested = "user.email_login_requested"
	EmailLogin              = "user.email_login"
)
