package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/oidc"
)

var _ oidc.Store = (*DB)(nil)

const clientColumns = "id, name, type, secret_hash, redirect_uris, post_logout_redirect_uris, allowed_scopes, first_party, access_ttl_s, id_ttl_s, created_at, updated_at, backchannel_logout_uri, backchannel_logout_session_required"

func fields(s string) []string {
	if f := strings.Fields(s); len(f) > 0 {
		return f
	}
	return nil
}

func scanClient(row interface{ Scan(...any) error }) (*oidc.Client, error) {
	var c oidc.Client
	var redirects, logouts, scopes string
	var access, id, created, updated int64
	if err := row.Scan(&c.ID, &c.Name, &c.Type, &c.SecretHash, &redirects, &logouts, &scopes, &c.FirstParty, &access, &id, &created, &updated, &c.BackchannelLogoutURI, &c.BackchannelLogoutSessionRequired); err != nil {
		return nil, err
	}
	c.RedirectURIs, c.PostLogoutRedirectURIs, c.AllowedScopes = fields(redirects), fields(logouts), fields(scopes)
	c.AccessTTL, c.IDTTL = time.Duration(access)*time.Second, time.Duration(id)*time.Second
	c.CreatedAt, c.UpdatedAt = fromDB(created), fromDB(updated)
	if len(c.SecretHash) == 0 {
		c.SecretHash = nil
	}
	return &c, nil
}

// CreateClient implements oidc.Store.
func (db *DB) CreateClient(ctx context.Context, c *oidc.Client) error {
	_, err := db.exec(ctx, "INSERT INTO oauth_clients ("+clientColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		c.ID, c.Name, c.Type, c.SecretHash, strings.Join(c.RedirectURIs, " "), strings.Join(c.PostLogoutRedirectURIs, " "),
		strings.Join(c.AllowedScopes, " "), c.FirstParty, int64(c.AccessTTL/time.Second), int64(c.IDTTL/time.Second), toDB(c.CreatedAt), toDB(c.UpdatedAt), c.BackchannelLogoutURI, c.BackchannelLogoutSessionRequired)
	if isUnique(err) {
		return oidc.ErrConflict
	}
	return unavailable(err)
}

// ClientByID implements oidc.Store.
func (db *DB) ClientByID(ctx context.Context, id string) (*oidc.Client, error) {
	c, err := scanClient(db.queryRow(ctx, false, "SELECT "+clientColumns+" FROM oauth_clients WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, oidc.ErrNotFound
	}
	return c, unavailable(err)
}

// ListClients implements oidc.Store.
func (db *DB) ListClients(ctx context.Context) ([]*oidc.Client, error) {
	rows, err := db.query(ctx, false, "SELECT "+clientColumns+" FROM oauth_clients ORDER BY id")
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
	res, err := db.exec(ctx, "UPDATE oauth_clients SET name = ?, redirect_uris = ?, post_logout_redirect_uris = ?, allowed_scopes = ?, first_party = ?, access_ttl_s = ?, id_ttl_s = ?, updated_at = ?, backchannel_logout_uri = ?, backchannel_logout_session_required = ? WHERE id = ?",
		c.Name, strings.Join(c.RedirectURIs, " "), strings.Join(c.PostLogoutRedirectURIs, " "), strings.Join(c.AllowedScopes, " "),
		c.FirstParty, int64(c.AccessTTL/time.Second), int64(c.IDTTL/time.Second), toDB(c.UpdatedAt), c.BackchannelLogoutURI, c.BackchannelLogoutSessionRequired, c.ID)
	return affected(res, err, oidc.ErrNotFound)
}

// DeleteClient implements oidc.Store (consents go by the foreign key's cascade).
func (db *DB) DeleteClient(ctx context.Context, id string) error {
	res, err := db.exec(ctx, "DELETE FROM oauth_clients WHERE id = ?", id)
	return affected(res, err, oidc.ErrNotFound)
}

// PutConsent implements oidc.Store.
func (db *DB) PutConsent(ctx context.Context, c *oidc.Consent) error {
	_, err := db.exec(ctx, "INSERT INTO oauth_consents (user_id, client_id, scopes, created_at, updated_at) VALUES (?, ?, ?, ?, ?) "+
		"ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, updated_at = excluded.updated_at",
		c.UserID, c.ClientID, strings.Join(c.Scopes, " "), toDB(c.CreatedAt), toDB(c.UpdatedAt))
	if err != nil && strings.Contains(err.Error(), "FOREIGN KEY") {
		return oidc.ErrNotFound
	}
	return unavailable(err)
}

func scanConsent(row interface{ Scan(...any) error }) (*oidc.Consent, error) {
	var c oidc.Consent
	var scopes string
	var created, updated int64
	if err := row.Scan(&c.UserID, &c.ClientID, &scopes, &created, &updated); err != nil {
		return nil, err
	}
	c.Scopes, c.CreatedAt, c.UpdatedAt = fields(scopes), fromDB(created), fromDB(updated)
	return &c, nil
}

// Consent implements oidc.Store.
func (db *DB) Consent(ctx context.Context, userID, clientID string) (*oidc.Consent, error) {
	c, err := scanConsent(db.queryRow(ctx, false, "SELECT user_id, client_id, scopes, created_at, updated_at FROM oauth_consents WHERE user_id = ? AND client_id = ?", userID, clientID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, oidc.ErrNotFound
	}
	return c, unavailable(err)
}

// ListConsents implements oidc.Store.
func (db *DB) ListConsents(ctx context.Context, userID string) ([]*oidc.Consent, error) {
	rows, err := db.query(ctx, false, "SELECT user_id, client_id, scopes, created_at, updated_at FROM oauth_consents WHERE user_id = ? ORDER BY client_id", userID)
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
	res, err := db.exec(ctx, "DELETE FROM oauth_consents WHERE user_id = ? AND client_id = ?", userID, clientID)
	return affected(res, err, oidc.ErrNotFound)
}
