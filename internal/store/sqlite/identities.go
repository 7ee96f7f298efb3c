package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/legacy"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

var _ legacy.Identities = (*DB)(nil)

// UserByIdentity implements legacy.Identities.
func (db *DB) UserByIdentity(ctx context.Context, issuer, subject string) (*users.User, error) {
	u, err := scanUser(db.queryRow(ctx, false, "SELECT "+userColumns+" FROM users WHERE id = (SELECT user_id FROM user_identities WHERE issuer = ? AND subject = ?)", issuer, subject))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, users.ErrNotFound
	}
	return u, unavailable(err)
}

// LinkIdentity implements legacy.Identities: an identity linked already stays as it is.
func (db *DB) LinkIdentity(ctx context.Context, issuer, subject, userID string) error {
	_, err := db.exec(ctx, "INSERT INTO user_identities (issuer, subject, user_id, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (issuer, subject) DO NOTHING",
		issuer, subject, userID, toDB(time.Now()))
	return unavailable(err)
}
