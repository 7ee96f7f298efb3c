package audit

// Event types of machine credentials (access keys). Each names the key by Event.ClientID,
// never by the key itself. A successful exchange of a key for a token is not an event (it
// is counted in the gatehouse_client_credentials_total metric); failed ones are recorded,
// sampled per client address.
const (
	AccessKeyCreated        = "access_key.created"
	AccessKeyImported       = "access_key.imported"
	AccessKeyUpdated        = "access_key.updated"
	AccessKeyRevoked        = "access_key.revoked"
	AccessKeyExchangeFailed = "access_key.exchange_failed"
)
