-- OpenID Connect clients (docs/oidc.md). secret_hash is SHA-256 of the client secret.
CREATE TABLE oauth_clients (
    id                        TEXT PRIMARY KEY,
    name                      TEXT NOT NULL,
    type                      TEXT NOT NULL,
    secret_hash               BLOB,
    redirect_uris             TEXT NOT NULL, -- space-separated (URIs have no spaces)
    post_logout_redirect_uris TEXT NOT NULL,
    allowed_scopes            TEXT NOT NULL,
    first_party               INTEGER NOT NULL,
    access_ttl_s              INTEGER NOT NULL,
    id_ttl_s                  INTEGER NOT NULL,
    created_at                INTEGER NOT NULL,
    updated_at                INTEGER NOT NULL
) STRICT;

-- What each user granted each client.
CREATE TABLE oauth_consents (
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES oauth_clients(id) ON DELETE CASCADE,
    scopes     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, client_id)
) STRICT;
CREATE INDEX oauth_consents_client ON oauth_consents(client_id);
