package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/gatehouse-auth/gatehouse/internal/users"
)

var _ users.Store = (*DB)(nil)

const userColumns = "id, email, email_verified, password_hash, disabled, created_at, updated_at, credential_epoch, name, locale, picture, metadata"

func scanUser(row interface{ Scan(...any) error }) (*users.User, error) {
	var u users.User
	var created, updated int64
	if err := row.Scan(&u.ID, &u.Email, &u.EmailVerified, &u.PasswordHash, &u.Disabled, &created, &updated, &u.CredentialEpoch, &u.Name, &u.Locale, &u.Picture, &u.Metadata); err != nil {
		return nil, err
	}
	u.CreatedAt, u.UpdatedAt = fromDB(created), fromDB(updated)
	return &u, nil
}

// CreateUser implements users.Store.
func (db *DB) CreateUser(ctx context.Context, u *users.User) error {
	_, err := db.exec(ctx, "INSERT INTO users ("+userColumns+", email_skeleton) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		u.ID, u.Email, u.EmailVerified, u.PasswordHash, u.Disabled, toDB(u.CreatedAt), toDB(u.UpdatedAt), u.CredentialEpoch,
		u.Name, u.Locale, u.Picture, u.Metadata, users.EmailSkeleton(u.Email))
	if isUnique(err) {
		return db.emailConflict(ctx, err, u.Email)
	}
	return unavailable(err)
}

func (db *DB) userWhere(ctx context.Context, where string, arg any) (*users.User, error) {
	u, err := scanUser(db.queryRow(ctx, false, "SELECT "+userColumns+" FROM users WHERE "+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, users.ErrNotFound
	}
	return u, unavailable(err)
}

// emailConflict tells a look-alike address (the unique skeleton index) from a taken one. The
// order in which SQLite checks the two indexes is unspecified, so an exact duplicate is
// recognised by looking the address up.
func (db *DB) emailConflict(ctx context.Context, err error, email string) error {
	if !strings.Contains(err.Error(), "email_skeleton") {
		return users.ErrEmailTaken
	}
	var one int
	switch err := db.write.QueryRowContext(ctx, "SELECT 1 FROM users WHERE email = ?", email).Scan(&one); {
	case err == nil:
		return users.ErrEmailTaken
	case errors.Is(err, sql.ErrNoRows):
		return users.ErrEmailConfusable
	default:
		return unavailable(err)
	}
}

// fillEmailSkeletons gives every user row without an email skeleton its skeleton (see
// users.Store): rows written before the column existed. A row whose skeleton another row
// already has (a look-alike pair created before) keeps NULL. Run after migrating.
func (db *DB) fillEmailSkeletons(ctx context.Context) error {
	type row struct{ id, email string }
	after := ""
	for {
		rows, err := db.write.QueryContext(ctx,
			"SELECT id, email FROM users WHERE email_skeleton IS NULL AND id > ? ORDER BY id LIMIT 500", after)
		if err != nil {
			return unavailable(err)
		}
		var batch []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.email); err != nil {
				rows.Close()
				return unavailable(err)
			}
			batch = append(batch, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return unavailable(err)
		}
		for _, r := range batch {
			_, err := db.write.ExecContext(ctx, "UPDATE users SET email_skeleton = ? WHERE id = ? AND email_skeleton IS NULL",
				users.EmailSkeleton(r.email), r.id)
			if err != nil && !isUnique(err) {
				return unavailable(err)
			}
			after = r.id
		}
		if len(batch) < 500 {
			return nil
		}
	}
}

// UserByID implements users.Store.
func (db *DB) UserByID(ctx context.Context, id string) (*users.User, error) {
	return db.userWhere(ctx, "id = ?", id)
}

// UserByEmail implements users.Store.
func (db *DB) UserByEmail(ctx context.Context, email string) (*users.User, error) {
	return db.userWhere(ctx, "email = ?", email)
}

// UpdateUser implements users.Store.
func (db *DB) UpdateUser(ctx context.Context, u *users.User) error {
	res, err := db.exec(ctx,
		"UPDATE users SET email = ?, email_verified = ?, password_hash = ?, disabled = ?, updated_at = ?, credential_epoch = ?, email_skeleton = ?, "+
			"name = ?, locale = ?, picture = ?, metadata = ? WHERE id = ? AND credential_epoch <= ?",
		u.Email, u.EmailVerified, u.PasswordHash, u.Disabled, toDB(u.UpdatedAt), u.CredentialEpoch, users.EmailSkeleton(u.Email),
		u.Name, u.Locale, u.Picture, u.Metadata, u.ID, u.CredentialEpoch)
	if isUnique(err) {
		return db.emailConflict(ctx, err, u.Email)
	}
	if err := affected(res, err, users.ErrNotFound); !errors.Is(err, users.ErrNotFound) {
		return err
	}
	if _, err := db.UserByID(ctx, u.ID); err != nil {
		return err
	}
	return users.ErrStale
}

// DeleteUser implements users.Store. Sessions go with the user (ON DELETE CASCADE); callers
// end them first (sessions.Manager.RevokeUser) so that their revocations are logged.
func (db *DB) DeleteUser(ctx context.Context, id string) error {
	res, err := db.exec(ctx, "DELETE FROM users WHERE id = ?", id)
	return affected(res, err, users.ErrNotFound)
}

// ListUsers implements users.Store.
func (db *DB) ListUsers(ctx context.Context, f users.ListFilter) ([]*users.User, error) {
	var where []string
	var args []any
	if f.Email != "" {
		where, args = append(where, "email = ?"), append(args, f.Email)
	}
	if f.EmailPrefix != "" {
		// Range scan instead of LIKE so that % and _ in the prefix are literal.
		where, args = append(where, "email >= ? AND email < ?"), append(args, f.EmailPrefix, f.EmailPrefix+"\U0010FFFF")
	}
	if f.After != "" {
		where, args = append(where, "id > ?"), append(args, f.After)
	}
	q := "SELECT " + userColumns + " FROM users"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id LIMIT ?"
	args = append(args, f.Limit)
	rows, err := db.query(ctx, false, q, args...)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	var out []*users.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, unavailable(err)
		}
		out = append(out, u)
	}
	return out, unavailable(rows.Err())
}
