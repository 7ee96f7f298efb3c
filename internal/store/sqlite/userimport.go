package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/gatehouse-auth/gatehouse/internal/userimport"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

var (
	_ users.IdentityStore = (*DB)(nil)
	_ userimport.Store    = (*DB)(nil)
)

// LinkIdentity implements users.IdentityStore.
func (db *DB) LinkIdentity(ctx context.Context, id users.Identity) error {
	res, err := db.exec(ctx, "INSERT INTO user_identities (issuer, subject, user_id, created_at) "+
		"SELECT ?, ?, id, ? FROM users WHERE id = ? ON CONFLICT DO NOTHING",
		id.Issuer, id.Subject, toDB(id.CreatedAt), id.UserID)
	if err != nil {
		return unavailable(err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return unavailable(err)
	}
	var owner string
	switch err := db.write.QueryRowContext(ctx, "SELECT user_id FROM user_identities WHERE issuer = ? AND subject = ?", id.Issuer, id.Subject).Scan(&owner); {
	case errors.Is(err, sql.ErrNoRows):
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
	u, err := scanUser(db.queryRow(ctx, false, "SELECT "+userColumns+" FROM users "+
		"WHERE id = (SELECT user_id FROM user_identities WHERE issuer = ? AND subject = ?)", issuer, subject))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, users.ErrNotFound
	}
	return u, unavailable(err)
}

// ImportUsers implements userimport.Store in one write transaction; see there.
func (db *DB) ImportUsers(ctx context.Context, rows []*userimport.Row, upsert, dryRun bool) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return unavailable(err)
	}
	defer tx.Rollback()
	st := &importStmts{}
	defer st.close()
	for _, q := range []struct {
		dst **sql.Stmt
		sql string
	}{
		{&st.insert, "INSERT INTO users (" + userColumns + ", email_skeleton) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?) ON CONFLICT DO NOTHING"},
		{&st.byEmail, "SELECT id, email_verified, password_hash, disabled FROM users WHERE email = ?"},
		{&st.owner, "SELECT user_id FROM user_identities WHERE issuer = ? AND subject = ?"},
		{&st.link, "INSERT INTO user_identities (issuer, subject, user_id, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"},
		{&st.update, "UPDATE users SET email_verified = ?, password_hash = ?, disabled = ?, updated_at = ?, credential_epoch = credential_epoch + ? WHERE id = ?"},
		{&st.del, "DELETE FROM users WHERE id = ?"},
	} {
		if *q.dst, err = tx.PrepareContext(ctx, q.sql); err != nil {
			return unavailable(err)
		}
	}
	for _, r := range rows {
		if err := st.one(ctx, r, upsert); err != nil {
			return unavailable(err)
		}
	}
	if dryRun {
		return nil // rolled back
	}
	return unavailable(tx.Commit())
}

type importStmts struct{ insert, byEmail, owner, link, update, del *sql.Stmt }

func (st *importStmts) close() {
	for _, s := range []*sql.Stmt{st.insert, st.byEmail, st.owner, st.link, st.update, st.del} {
		if s != nil {
			s.Close()
		}
	}
}

// one writes one row inside the batch's transaction.
func (st *importStmts) one(ctx context.Context, r *userimport.Row, upsert bool) error {
	u := &r.User
	res, err := st.insert.ExecContext(ctx, u.ID, u.Email, u.EmailVerified, u.PasswordHash, u.Disabled, toDB(u.CreatedAt), toDB(u.UpdatedAt), users.EmailSkeleton(u.Email))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 1 {
		for _, id := range r.Identities {
			res, err := st.link.ExecContext(ctx, id.Issuer, id.Subject, u.ID, toDB(u.CreatedAt))
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				// Taken by another user: undo this row (its identities go with it).
				if _, err := st.del.ExecContext(ctx, u.ID); err != nil {
					return err
				}
				r.Status, r.Err = userimport.Invalid, users.ErrIdentityTaken
				return nil
			}
		}
		r.Status, r.ID = userimport.Created, u.ID
		return nil
	}
	var old struct {
		id            string
		verified, off bool
		hash          string
	}
	switch err := st.byEmail.QueryRowContext(ctx, u.Email).Scan(&old.id, &old.verified, &old.hash, &old.off); {
	case errors.Is(err, sql.ErrNoRows):
		r.Status, r.Err = userimport.Invalid, users.ErrEmailConfusable
		return nil
	case err != nil:
		return err
	}
	r.ID = old.id
	if !upsert {
		r.Status = userimport.Exists
		return nil
	}
	for _, id := range r.Identities {
		var owner string
		switch err := st.owner.QueryRowContext(ctx, id.Issuer, id.Subject).Scan(&owner); {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case owner != old.id:
			r.Status, r.Err = userimport.Invalid, users.ErrIdentityTaken
			return nil
		}
	}
	verified, hash, off := old.verified, old.hash, old.off
	if r.SetVerified {
		verified = u.EmailVerified
	}
	if r.SetPassword {
		hash = u.PasswordHash
	}
	if r.SetDisabled {
		off = u.Disabled
	}
	r.CredentialsChanged = hash != old.hash || (off && !old.off)
	bump := 0
	if r.CredentialsChanged {
		bump = 1
	}
	if _, err := st.update.ExecContext(ctx, verified, hash, off, toDB(u.UpdatedAt), bump, old.id); err != nil {
		return err
	}
	for _, id := range r.Identities {
		if _, err := st.link.ExecContext(ctx, id.Issuer, id.Subject, old.id, toDB(u.UpdatedAt)); err != nil {
			return err
		}
	}
	r.Status = userimport.Updated
	return nil
}
