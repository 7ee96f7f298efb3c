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
