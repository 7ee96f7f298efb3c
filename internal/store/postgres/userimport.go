package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-auth/gatehouse/internal/userimport"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

var (
	_ users.IdentityStore = (*DB)(nil)
	_ userimport.Store    = (*DB)(nil)
)

// LinkIdentity implements users.IdentityStore.
func (db *DB) LinkIdentity(ctx context.Context, id users.Identity) error {
	tag, err := db.pool.Exec(ctx, "INSERT INTO user_identities (issuer, subject, user_id, created_at) "+
		"SELECT $1, $2, id, $3 FROM users WHERE id = $4 ON CONFLICT DO NOTHING",
		id.Issuer, id.Subject, id.CreatedAt, id.UserID)
	if err != nil {
		return unavailable(err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var owner string
	switch err := db.pool.QueryRow(ctx, "SELECT user_id FROM user_identities WHERE issuer = $1 AND subject = $2", id.Issuer, id.Subject).Scan(&owner); {
	case noRows(err):
		return users.ErrNotFound // the insert selected no user
	case err != nil:
		return unavailable(err)
	case owner != id.UserID:
		return users.ErrIdentityTaken
	}
	return nil
}

// UserByIdentity implements users.IdentityStore.
func (db *DB) UserByIdentity(ctx context.Context, issuer, subject string) (*users.User, error) {
	u, err := scanUser(db.pool.QueryRow(ctx, "SELECT "+userColumns+" FROM users "+
		"WHERE id = (SELECT user_id FROM user_identities WHERE issuer = $1 AND subject = $2)", issuer, subject))
	if noRows(err) {
		return nil, users.ErrNotFound
	}
	return u, unavailable(err)
}

// ImportUsers implements userimport.Store in one transaction; see there. Every statement
// avoids raising a constraint error (ON CONFLICT DO NOTHING, then a look-up), because an
// error would abort the whole PostgreSQL transaction, not just the statement.
func (db *DB) ImportUsers(ctx context.Context, rows []*userimport.Row, upsert, dryRun bool) error {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return unavailable(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	for _, r := range rows {
		if err := importOne(ctx, tx, r, upsert); err != nil {
			return unavailable(err)
		}
	}
	if dryRun {
		return nil // rolled back
	}
	return unavailable(tx.Commit(ctx))
}

func importOne(ctx context.Context, tx pgx.Tx, r *userimport.Row, upsert bool) error {
	u := &r.User
	tag, err := tx.Exec(ctx, "INSERT INTO users ("+importColumns+", email_skeleton) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8) ON CONFLICT DO NOTHING",
		u.ID, u.Email, u.EmailVerified, u.PasswordHash, u.Disabled, u.CreatedAt, u.UpdatedAt, users.EmailSkeleton(u.Email))
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 1 {
		for _, id := range r.Identities {
			tag, err := tx.Exec(ctx, "INSERT INTO user_identities (issuer, subject, user_id, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
				id.Issuer, id.Subject, u.ID, u.CreatedAt)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				// Taken by another user: undo this row (its identities go with it).
				if _, err := tx.Exec(ctx, "DELETE FROM users WHERE id = $1", u.ID); err != nil {
					return err
				}
				r.Status, r.Err = userimport.Invalid, users.ErrIdentityTaken
				return nil
			}
		}
		r.Status, r.ID = userimport.Created, u.ID
		return nil
	}
	var oldID, oldHash string
	var oldVerified, oldOff bool
	switch err := tx.QueryRow(ctx, "SELECT id, email_verified, password_hash, disabled FROM users WHERE email = $1", u.Email).
		Scan(&oldID, &oldVerified, &oldHash, &oldOff); {
	case noRows(err):
		r.Status, r.Err = userimport.Invalid, users.ErrEmailConfusable
		return nil
	case err != nil:
		return err
	}
	r.ID = oldID
	if !upsert {
		r.Status = userimport.Exists
		return nil
	}
	for _, id := range r.Identities {
		var owner string
		switch err := tx.QueryRow(ctx, "SELECT user_id FROM user_identities WHERE issuer = $1 AND subject = $2", id.Issuer, id.Subject).Scan(&owner); {
		case noRows(err):
		case err != nil:
			return err
		case owner != oldID:
			r.Status, r.Err = userimport.Invalid, users.ErrIdentityTaken
			return nil
		}
	}
	verified, hash, off := oldVerified, oldHash, oldOff
	if r.SetVerified {
		verified = u.EmailVerified
	}
	if r.SetPassword {
		hash = u.PasswordHash
	}
	if r.SetDisabled {
		off = u.Disabled
	}
	r.CredentialsChanged = hash != oldHash || (off && !oldOff)
	bump := 0
	if r.CredentialsChanged {
		bump = 1
	}
	if _, err := tx.Exec(ctx, "UPDATE users SET email_verified = $1, password_hash = $2, disabled = $3, updated_at = $4, credential_epoch = credential_epoch + $5 WHERE id = $6",
		verified, hash, off, u.UpdatedAt, bump, oldID); err != nil {
		return err
	}
	for _, id := range r.Identities {
		if _, err := tx.Exec(ctx, "INSERT INTO user_identities (issuer, subject, user_id, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
			id.Issuer, id.Subject, oldID, u.UpdatedAt); err != nil {
			return err
		}
	}
	r.Status = userimport.Updated
	return nil
}

// importColumns are the user columns an import writes; the profile columns keep their
// defaults.
const importColumns = "id, email, email_verified, password_hash, disabled, created_at, updated_at, credential_epoch"
