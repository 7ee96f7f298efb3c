package postgres

import (
	"context"
	"time"

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
// error would abort the whole PostgreSQL transaction, not just the statement. New users and
// their identities go in with one statement each per chunk (arrays unnested server-side: one
// round trip instead of one per row); the rows that statement did not settle go one by one.
func (db *DB) ImportUsers(ctx context.Context, rows []*userimport.Row, upsert, dryRun bool) error {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return unavailable(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	for len(rows) > 0 {
		chunk := rows[:min(len(rows), importChunk)]
		rows = rows[len(chunk):]
		rest, err := importBulk(ctx, tx, chunk)
		if err != nil {
			return unavailable(err)
		}
		for _, r := range rest {
			if err := importOne(ctx, tx, r, upsert); err != nil {
				return unavailable(err)
			}
		}
	}
	if dryRun {
		return nil // rolled back
	}
	return unavailable(tx.Commit(ctx))
}

// importChunk is how many users one bulk statement writes.
const importChunk = 1000

// importBulk inserts the new users of chunk and their identities with one statement each and
// returns the rows it did not settle, in order, for importOne: those whose email (or
// look-alike) exists and those whose identities another user holds (their user row is removed
// again). Outcomes are those of writing the rows one by one, as on SQLite (see there).
func importBulk(ctx context.Context, tx pgx.Tx, chunk []*userimport.Row) ([]*userimport.Row, error) {
	n := len(chunk)
	var (
		ids, emails, hashes, skeletons, names, metadata = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		verified, disabled                              = make([]bool, n), make([]bool, n)
		created, updated                                = make([]time.Time, n), make([]time.Time, n)
	)
	for i, r := range chunk {
		u := &r.User
		ids[i], emails[i], hashes[i], skeletons[i], names[i], metadata[i] = u.ID, u.Email, u.PasswordHash, users.EmailSkeleton(u.Email), u.Name, u.Metadata
		verified[i], disabled[i], created[i], updated[i] = u.EmailVerified, u.Disabled, u.CreatedAt, u.UpdatedAt
	}
	rs, err := tx.Query(ctx, "INSERT INTO users ("+importColumns+") "+
		"SELECT id, email, v, h, d, c, u, 0, sk, n, m FROM unnest($1::text[], $2::text[], $3::bool[], $4::text[], $5::bool[], $6::timestamptz[], $7::timestamptz[], $8::text[], $9::text[], $10::text[]) "+
		"AS t(id, email, v, h, d, c, u, sk, n, m) ON CONFLICT DO NOTHING RETURNING id",
		ids, emails, verified, hashes, disabled, created, updated, skeletons, names, metadata)
	if err != nil {
		return nil, err
	}
	inserted := make(map[string]bool, n)
	for rs.Next() {
		var id string
		if err := rs.Scan(&id); err != nil {
			rs.Close()
			return nil, err
		}
		inserted[id] = true
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return nil, err
	}
	var iss, sub, owner []string
	var at []time.Time
	for _, r := range chunk {
		if !inserted[r.User.ID] {
			continue
		}
		for _, id := range r.Identities {
			iss, sub, owner, at = append(iss, id.Issuer), append(sub, id.Subject), append(owner, r.User.ID), append(at, r.User.CreatedAt)
		}
	}
	linked := map[string]int{}
	if len(iss) > 0 {
		rs, err := tx.Query(ctx, "INSERT INTO user_identities (issuer, subject, user_id, created_at) "+
			"SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) ON CONFLICT DO NOTHING RETURNING user_id",
			iss, sub, owner, at)
		if err != nil {
			return nil, err
		}
		for rs.Next() {
			var id string
			if err := rs.Scan(&id); err != nil {
				rs.Close()
				return nil, err
			}
			linked[id]++
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return nil, err
		}
	}
	var rest []*userimport.Row
	for _, r := range chunk {
		switch {
		case !inserted[r.User.ID]:
			rest = append(rest, r)
		case linked[r.User.ID] != len(r.Identities):
			// An identity belongs to another user (or to an earlier row of this chunk): undo
			// the user; importOne decides it again, after the rows before it.
			if _, err := tx.Exec(ctx, "DELETE FROM users WHERE id = $1", r.User.ID); err != nil {
				return nil, err
			}
			rest = append(rest, r)
		default:
			if _, err := setTOTP(ctx, tx, r, r.User.ID); err != nil {
				return nil, err
			}
			r.Status, r.ID = userimport.Created, r.User.ID
		}
	}
	return rest, nil
}

// setTOTP writes r's TOTP factor, if any, for the user userID unless the user has a
// confirmed one (a pending enrolment is replaced), and reports whether it was written.
func setTOTP(ctx context.Context, tx pgx.Tx, r *userimport.Row, userID string) (bool, error) {
	f := r.TOTP
	if f == nil {
		return false, nil
	}
	tag, err := tx.Exec(ctx, `INSERT INTO mfa_totp (user_id, id, seed, created_at, confirmed_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (user_id) DO UPDATE SET id = excluded.id, seed = excluded.seed, created_at = excluded.created_at, confirmed_at = excluded.confirmed_at
		WHERE mfa_totp.confirmed_at IS NULL`, userID, f.ID, f.Seed, f.CreatedAt, f.ConfirmedAt)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

func importOne(ctx context.Context, tx pgx.Tx, r *userimport.Row, upsert bool) error {
	u := &r.User
	tag, err := tx.Exec(ctx, "INSERT INTO users ("+importColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9, $10) ON CONFLICT DO NOTHING",
		u.ID, u.Email, u.EmailVerified, u.PasswordHash, u.Disabled, u.CreatedAt, u.UpdatedAt, users.EmailSkeleton(u.Email), u.Name, u.Metadata)
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
		if _, err := setTOTP(ctx, tx, r, u.ID); err != nil {
			return err
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
	if _, err := tx.Exec(ctx, "UPDATE users SET email_verified = $1, password_hash = $2, disabled = $3, updated_at = $4, credential_epoch = credential_epoch + $5, "+
		"name = CASE WHEN $6 THEN $7 ELSE name END, metadata = CASE WHEN $8 THEN $9 ELSE metadata END WHERE id = $10",
		verified, hash, off, u.UpdatedAt, bump, r.SetName, u.Name, r.SetMetadata, u.Metadata, oldID); err != nil {
		return err
	}
	set, err := setTOTP(ctx, tx, r, oldID)
	if err != nil {
		return err
	}
	r.TOTPKept = r.TOTP != nil && !set
	for _, id := range r.Identities {
		if _, err := tx.Exec(ctx, "INSERT INTO user_identities (issuer, subject, user_id, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
			id.Issuer, id.Subject, oldID, u.UpdatedAt); err != nil {
			return err
		}
	}
	r.Status = userimport.Updated
	return nil
}

// importColumns are the user columns an import writes; the other profile columns keep their
// defaults.
const importColumns = "id, email, email_verified, password_hash, disabled, created_at, updated_at, credential_epoch, email_skeleton, name, metadata"
