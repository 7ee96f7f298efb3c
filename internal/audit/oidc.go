package audit

// Event types of the OpenID Provider (docs/oidc.md). Each names the client by Event.ClientID.
const (
	OAuthClientCreated  = "oauth_client.created"
	OAuthClientUpdated  = "oauth_client.updated"
	OAuthClientDeleted  = "oauth_client.deleted"
	OAuthConsentGranted = "oauth_consent.granted"
	OAuthConsentRevoked = "oauth_consent.revoked"
	OAuthCodeIssued     = "oauth_code.issued"
	OAuthCodeReplayed   = "oauth_code.replayed"
)

// Events of RP-Initiated Logout (docs/oidc.md).
const (
	OAuthLogout = "oauth.logout" // a session ended at /oauth/logout; Reason "id_token_hint" or "confirmed"
)
