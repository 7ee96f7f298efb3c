package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/gatehouse-auth/gatehouse/internal/oidc"
)

var _ oidc.Store = (*DB)(nil)

const clientColumns = "id, name, type, secret_hash, redirect_uris, post_logout_redirect_uris, allowed_scopes, first_party, access_ttl_s, id_ttl_s, created_at, updated_at, backchannel_logout_uri, backchannel_logout_session_required"

func orNil(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func scanClient(row pgx.Row) (*oidc.Client, error) {
	var c oidc.Client
	var access, id int64
	if err := row.Scan(&c.ID, &c.Name, &c.Type, &c.SecretHash, &c.RedirectURIs, &c.PostLogoutRedirectURIs, &c.AllowedScopes, &c.FirstParty, &access, &id, &c.CreatedAt, &c.UpdatedAt, &c.BackchannelLogoutURI, &c.BackchannelLogoutSessionRequired); err != nil {
		return nil, err
	}
	c.RedirectURIs, c.PostLogoutRedirectURIs, c.AllowedScopes = orNil(c.RedirectURIs), orNil(c.PostLogoutRedirectURIs), orNil(c.AllowedScopes)
	c.AccessTTL, c.IDTTL = time.Duration(access)*time.Second, time.Duration(id)*time.Second
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	if len(c.SecretHash) == 0 {
		c.SecretHash = nil
	}
	return &c, nil
}

// CreateClient implements oidc.Store.
func (db *DB) CreateClient(ctx context.Context, c *oidc.Client) error {
	_, err := db.pool.Exec(ctx, "INSERT INTO oauth_clients ("+clientColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
		c.ID, c.Name, c.Type, c.SecretHash, scopesArray(c.RedirectURIs), scopesArray(c.PostLogoutRedirectURIs), scopesArray(c.AllowedScopes),
		c.FirstParty, int64(c.AccessTTL/time.Second), int64(c.IDTTL/time.Second), c.CreatedAt, c.UpdatedAt, c.BackchannelLogoutURI, c.BackchannelLogoutSessionRequired)
	if isUnique(err) {
		return oidc.ErrConflict
	}
	return unavailable(err)
}

// ClientByID implements oidc.Store.
func (db *DB) ClientByID(ctx context.Context, id string) (*oidc.Client, error) {
	c, err := scanClient(db.pool.QueryRow(ctx, "SELECT "+clientColumns+" FROM oauth_clients WHERE id = $1", id))
	if noRows(err) {
		return nil, oidc.ErrNotFound
	}
	return c, unavailable(err)
}

// ListClients implements oidc.Store.
func (db *DB) ListClients(ctx context.Context) ([]*oidc.Client, error) {
	rows, err := db.pool.Query(ctx, "SELECT "+clientColumns+" FROM oauth_clients ORDER BY id")
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	var out []*oidc.Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, unavailable(err)
		}
		out = append(out, c)
	}
	return out, unavailable(rows.Err())
}

// UpdateClient implements oidc.Store.
func (db *DB) UpdateClient(ctx context.Context, c *oidc.Client) error {
	return affectedOIDC(db.pool.Exec(ctx, "UPDATE oauth_clients SET name = $1, redirect_uris = $2, post_logout_redirect_uris = $3, allowed_scopes = $4, first_party = $5, access_ttl_s = $6, id_ttl_s = $7, updated_at = $8, backchannel_logout_uri = $9, backchannel_logout_session_required = $10 WHERE id = $11",
		c.Name, scopesArray(c.RedirectURIs), scopesArray(c.PostLogoutRedirectURIs), scopesArray(c.AllowedScopes),
		c.FirstParty, int64(c.AccessTTL/time.Second), int64(c.IDTTL/time.Second), c.UpdatedAt, c.BackchannelLogoutURI, c.BackchannelLogoutSessionRequired, c.ID))
}

// DeleteClient implements oidc.Store (consents go by the foreign key's cascade).
func (db *DB) DeleteClient(ctx context.Context, id string) error {
	return affectedOIDC(db.pool.Exec(ctx, "DELETE FROM oauth_clients WHERE id = $1", id))
}

func isForeignKey(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23503"
}

func affectedOIDC(tag pgconn.CommandTag, err error) error {
	return affected(tag, err, oidc.ErrNotFound)
}

// PutConsent implements oidc.Store.
func (db *DB) PutConsent(ctx context.Context, c *oidc.Consent) error {
	_, err := db.pool.Exec(ctx, "INSERT INTO oauth_consents (user_id, client_id, scopes, created_at, updated_at) VALUES ($1, $2, $3, $4, $5) "+
		"ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, updated_at = excluded.updated_at",
		c.UserID, c.ClientID, scopesArray(c.Scopes), c.CreatedAt, c.UpdatedAt)
	if isForeignKey(err) {
		return oidc.ErrNotFound
	}
	return unavailable(err)
}

func scanConsent(row pgx.Row) (*oidc.Consent, error) {
	var c oidc.Consent
	if err := row.Scan(&c.UserID, &c.ClientID, &c.Scopes, &c.CreatedAt, &c.UpdatedAt); err != nil {
		return nil, err
	}
	c.Scopes, c.CreatedAt, c.UpdatedAt = orNil(c.Scopes), c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return &c, nil
}

// Consent implements oidc.Store.
func (db *DB) Consent(ctx context.Context, userID, clientID string) (*oidc.Consent, error) {
	c, err := scanConsent(db.pool.QueryRow(ctx, "SELECT user_id, client_id, scopes, created_at, updated_at FROM oauth_consents WHERE user_id = $1 AND client_id = $2", userID, clientID))
	if noRows(err) {
		return nil, oidc.ErrNotFound
	}
	return c, unavailable(err)
}

// ListConsents implements oidc.Store.
func (db *DB) ListConsents(ctx context.Context, userID string) ([]*oidc.Consent, error) {
	rows, err := db.pool.Query(ctx, "SELECT user_id, client_id, scopes, created_at, updated_at FROM oauth_consents WHERE user_id = $1 ORDER BY client_id", userID)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	var out []*oidc.Consent
	for rows.Next() {
		c, err := scanConsent(rows)
		if err != nil {
			return nil, unavailable(err)
		}
		out = append(out, c)
	}
	return out, unavailable(rows.Err())
}

// DeleteConsent implements oidc.Store.
func (db *DB) DeleteConsent(ctx context.Context, userID, clientID string) error {
	return affectedOIDC(db.pool.Exec(ctx, "DELETE FROM oauth_consents WHERE user_id = $1 AND client_id = $2", userID, clientID))
}
