package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

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
	// New users land all over the indexes of users (random ids, emails, skeletons): with
	// SQLite's default 2 MiB page cache, an import of a few hundred thousand users spent most
	// of its time re-reading pages through system calls. The one write connection keeps a
	// larger cache, filled only as pages are used (docs/performance.md).
	// A multi-row INSERT inside a transaction keeps a statement journal (to undo just that
	// statement); by default it spills to a temporary file past 64 KiB, which the profile of
	// an import showed as a fifth of its time in write system calls. temp_store MEMORY keeps
	// it (at most one statement's pages) in memory; the database and its WAL are unchanged.
	for _, p := range []string{"PRAGMA cache_size = -16384", "PRAGMA temp_store = MEMORY"} {
		if _, err := db.write.ExecContext(ctx, p); err != nil {
			return unavailable(err)
		}
	}
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
		{&st.insert, "INSERT INTO users (" + importColumns + ") VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?) ON CONFLICT DO NOTHING"},
		{&st.byEmail, "SELECT id, email_verified, password_hash, disabled FROM users WHERE email = ?"},
		{&st.owner, "SELECT user_id FROM user_identities WHERE issuer = ? AND subject = ?"},
		{&st.link, "INSERT INTO user_identities (issuer, subject, user_id, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"},
		{&st.update, "UPDATE users SET email_verified = ?, password_hash = ?, disabled = ?, updated_at = ?, credential_epoch = credential_epoch + ?, " +
			"name = iif(?, ?, name), metadata = iif(?, ?, metadata) WHERE id = ?"},
		// A new user's factor, or an existing user's unless they confirmed one of their own
		// (a pending enrolment is replaced).
		{&st.totp, "INSERT INTO mfa_totp (user_id, id, seed, created_at, confirmed_at) VALUES (?, ?, ?, ?, ?) " +
			"ON CONFLICT(user_id) DO UPDATE SET id = excluded.id, seed = excluded.seed, created_at = excluded.created_at, confirmed_at = excluded.confirmed_at " +
			"WHERE mfa_totp.confirmed_at IS NULL"},
		{&st.del, "DELETE FROM users WHERE id = ?"},
	} {
		if *q.dst, err = tx.PrepareContext(ctx, q.sql); err != nil {
			return unavailable(err)
		}
	}
	for len(rows) > 0 {
		chunk := rows[:min(len(rows), importChunk)]
		rows = rows[len(chunk):]
		rest, err := st.bulk(ctx, tx, chunk)
		if err != nil {
			return unavailable(err)
		}
		for _, r := range rest {
			if err := st.one(ctx, r, upsert); err != nil {
				return unavailable(err)
			}
		}
	}
	if dryRun {
		return nil // rolled back
	}
	return unavailable(tx.Commit())
}

type importStmts struct {
	insert, byEmail, owner, link, update, del, totp *sql.Stmt
	// bulkUsers and bulkLinks are the multi-row INSERTs of a full chunk (importChunk users,
	// importChunk identities), prepared once per batch: parsing a statement of a hundred
	// rows costs as much as running it.
	bulkUsers, bulkLinks *sql.Stmt
}

// query runs the multi-row statement q with args, through *prep (prepared on first use)
// when the statement has full rows, else prepared for this one use.
func (st *importStmts) query(ctx context.Context, tx *sql.Tx, prep **sql.Stmt, full bool, q string, args []any) (*sql.Rows, error) {
	if !full {
		return tx.QueryContext(ctx, q, args...)
	}
	if *prep == nil {
		s, err := tx.PrepareContext(ctx, q)
		if err != nil {
			return nil, err
		}
		*prep = s
	}
	return (*prep).QueryContext(ctx, args...)
}

// importChunk is how many users one multi-row INSERT writes: one statement instead of a
// hundred is most of the import's speed on SQLite (10 parameters a row, far below SQLite's
// limit of 32,766). Larger chunks were no faster on 20,000 users and far slower on 400,000
// (a statement journal of five hundred scattered index pages: 84 s of CPU instead of 31 s,
// docs/performance.md).
const importChunk = 100

// bulk inserts the new users of chunk, and their identities, with one statement each, and
// returns the rows it did not settle, in order, for one: those whose email (or look-alike)
// exists, and those whose identities another user holds (their user row is removed again).
// Outcomes are those of writing the rows one by one in order, with one exception: in upsert
// mode, when an existing user's row and a later new user's row of the same chunk claim the
// same identity, the new user keeps it (one by one, the existing user would).
func (st *importStmts) bulk(ctx context.Context, tx *sql.Tx, chunk []*userimport.Row) ([]*userimport.Row, error) {
	var q strings.Builder
	args := make([]any, 0, 8*len(chunk))
	q.WriteString("INSERT INTO users (" + importColumns + ") VALUES ")
	for i, r := range chunk {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)")
		u := &r.User
		args = append(args, u.ID, u.Email, u.EmailVerified, u.PasswordHash, u.Disabled, toDB(u.CreatedAt), toDB(u.UpdatedAt), users.EmailSkeleton(u.Email), u.Name, u.Metadata)
	}
	q.WriteString(" ON CONFLICT DO NOTHING RETURNING id")
	rs, err := st.query(ctx, tx, &st.bulkUsers, len(chunk) == importChunk, q.String(), args)
	if err != nil {
		return nil, err
	}
	inserted := make(map[string]bool, len(chunk))
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
	// The identities of the inserted users, in one statement; RETURNING names those written.
	q.Reset()
	args = args[:0]
	q.WriteString("INSERT INTO user_identities (issuer, subject, user_id, created_at) VALUES ")
	n := 0
	for _, r := range chunk {
		if !inserted[r.User.ID] {
			continue
		}
		for _, id := range r.Identities {
			if n > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?)")
			args = append(args, id.Issuer, id.Subject, r.User.ID, toDB(r.User.CreatedAt))
			n++
		}
	}
	linked := map[string]int{}
	if n > 0 {
		q.WriteString(" ON CONFLICT DO NOTHING RETURNING user_id")
		rs, err := st.query(ctx, tx, &st.bulkLinks, n == importChunk, q.String(), args)
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
			// the user; one decides it again, after the rows before it.
			if _, err := st.del.ExecContext(ctx, r.User.ID); err != nil {
				return nil, err
			}
			rest = append(rest, r)
		default:
			if _, err := st.setTOTP(ctx, r, r.User.ID); err != nil {
				return nil, err
			}
			r.Status, r.ID = userimport.Created, r.User.ID
		}
	}
	return rest, nil
}

func (st *importStmts) close() {
	for _, s := range []*sql.Stmt{st.insert, st.byEmail, st.owner, st.link, st.update, st.del, st.totp, st.bulkUsers, st.bulkLinks} {
		if s != nil {
			s.Close()
		}
	}
}

// one writes one row inside the batch's transaction.
func (st *importStmts) one(ctx context.Context, r *userimport.Row, upsert bool) error {
	u := &r.User
	res, err := st.insert.ExecContext(ctx, u.ID, u.Email, u.EmailVerified, u.PasswordHash, u.Disabled, toDB(u.CreatedAt), toDB(u.UpdatedAt), users.EmailSkeleton(u.Email), u.Name, u.Metadata)
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
		if _, err := st.setTOTP(ctx, r, u.ID); err != nil {
			return err
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
	if _, err := st.update.ExecContext(ctx, verified, hash, off, toDB(u.UpdatedAt), bump, r.SetName, u.Name, r.SetMetadata, u.Metadata, old.id); err != nil {
		return err
	}
	set, err := st.setTOTP(ctx, r, old.id)
	if err != nil {
		return err
	}
	r.TOTPKept = r.TOTP != nil && !set
	for _, id := range r.Identities {
		if _, err := st.link.ExecContext(ctx, id.Issuer, id.Subject, old.id, toDB(u.UpdatedAt)); err != nil {
			return err
		}
	}
	r.Status = userimport.Updated
	return nil
}

// setTOTP writes r's TOTP factor, if any, for the user userID, and reports whether it was
// written (not when the user has a confirmed factor).
func (st *importStmts) setTOTP(ctx context.Context, r *userimport.Row, userID string) (bool, error) {
	f := r.TOTP
	if f == nil {
		return false, nil
	}
	res, err := st.totp.ExecContext(ctx, userID, f.ID, f.Seed, toDB(f.CreatedAt), toDB(f.ConfirmedAt))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// importColumns are the user columns an import writes; the other profile columns keep their
// defaults.
const importColumns = "id, email, email_verified, password_hash, disabled, created_at, updated_at, credential_epoch, email_skeleton, name, metadata"
