package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/keys"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/users"
	"github.com/gatehouse-auth/gatehouse/jws"
)

var (
	_ users.Store    = (*DB)(nil)
	_ sessions.Store = (*DB)(nil)
	_ audit.Store    = (*DB)(nil)
	_ keys.Store     = (*DB)(nil)
	_ store.Settings = (*DB)(nil)
)

// ---- users

const userColumns = "id, email, email_verified, password_hash, disabled, created_at, updated_at, credential_epoch, name, locale, picture, metadata"

func scanUser(row pgx.Row) (*users.User, error) {
	var u users.User
	if err := row.Scan(&u.ID, &u.Email, &u.EmailVerified, &u.PasswordHash, &u.Disabled, &u.CreatedAt, &u.UpdatedAt, &u.CredentialEpoch, &u.Name, &u.Locale, &u.Picture, &u.Metadata); err != nil {
		return nil, err
	}
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return &u, nil
}

// CreateUser implements users.Store.
func (db *DB) CreateUser(ctx context.Context, u *users.User) error {
	_, err := db.pool.Exec(ctx, "INSERT INTO users ("+userColumns+", email_skeleton) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
		u.ID, u.Email, u.EmailVerified, u.PasswordHash, u.Disabled, u.CreatedAt, u.UpdatedAt, u.CredentialEpoch,
		u.Name, u.Locale, u.Picture, u.Metadata, users.EmailSkeleton(u.Email))
	if isUnique(err) {
		return db.emailConflict(ctx, err, u.Email)
	}
	return unavailable(err)
}

func (db *DB) userWhere(ctx context.Context, where string, arg any) (*users.User, error) {
	u, err := scanUser(db.pool.QueryRow(ctx, "SELECT "+userColumns+" FROM users WHERE "+where, arg))
	if noRows(err) {
		return nil, users.ErrNotFound
	}
	return u, unavailable(err)
}

// emailConflict tells a look-alike address (the unique skeleton index) from a taken one. The
// order in which PostgreSQL checks the two indexes is not part of its contract, so an exact
// duplicate is recognised by looking the address up.
func (db *DB) emailConflict(ctx context.Context, err error, email string) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.ConstraintName != "users_email_skeleton_key" {
		return users.ErrEmailTaken
	}
	var one int
	switch err := db.pool.QueryRow(ctx, "SELECT 1 FROM users WHERE email = $1", email).Scan(&one); {
	case err == nil:
		return users.ErrEmailTaken
	case noRows(err):
		return users.ErrEmailConfusable
	default:
		return unavailable(err)
	}
}

// fillEmailSkeletons gives every user row without an email skeleton its skeleton (see
// users.Store): rows written before the column existed. A row whose skeleton another row
// already has (a look-alike pair created before) keeps NULL. Migrate runs it on the
// connection that holds the migration lock (the pool may be exhausted by instances waiting for
// that lock).
func fillEmailSkeletons(ctx context.Context, conn *pgxpool.Conn) error {
	type row struct{ id, email string }
	after := ""
	for {
		rows, err := conn.Query(ctx,
			"SELECT id, email FROM users WHERE email_skeleton IS NULL AND id > $1 ORDER BY id LIMIT 500", after)
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
			_, err := conn.Exec(ctx, "UPDATE users SET email_skeleton = $1 WHERE id = $2 AND email_skeleton IS NULL",
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
	return db.userWhere(ctx, "id = $1", id)
}

// UserByEmail implements users.Store.
func (db *DB) UserByEmail(ctx context.Context, email string) (*users.User, error) {
	return db.userWhere(ctx, "email = $1", email)
}

// UpdateUser implements users.Store.
func (db *DB) UpdateUser(ctx context.Context, u *users.User) error {
	tag, err := db.pool.Exec(ctx, "UPDATE users SET email = $1, email_verified = $2, password_hash = $3, disabled = $4, updated_at = $5, "+
		"credential_epoch = $6, email_skeleton = $7, name = $9, locale = $10, picture = $11, metadata = $12 WHERE id = $8 AND credential_epoch <= $6",
		u.Email, u.EmailVerified, u.PasswordHash, u.Disabled, u.UpdatedAt, u.CredentialEpoch, users.EmailSkeleton(u.Email), u.ID,
		u.Name, u.Locale, u.Picture, u.Metadata)
	if isUnique(err) {
		return db.emailConflict(ctx, err, u.Email)
	}
	if err := affected(tag, err, users.ErrNotFound); !errors.Is(err, users.ErrNotFound) {
		return err
	}
	if _, err := db.UserByID(ctx, u.ID); err != nil {
		return err
	}
	return users.ErrStale
}

// DeleteUser implements users.Store.
func (db *DB) DeleteUser(ctx context.Context, id string) error {
	tag, err := db.pool.Exec(ctx, "DELETE FROM users WHERE id = $1", id)
	return affected(tag, err, users.ErrNotFound)
}

// ListUsers implements users.Store.
func (db *DB) ListUsers(ctx context.Context, f users.ListFilter) ([]*users.User, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if f.Email != "" {
		add("email = ?", f.Email)
	}
	if f.EmailPrefix != "" {
		add("starts_with(email, ?)", f.EmailPrefix)
	}
	if f.After != "" {
		add("id > ?", f.After)
	}
	q := "SELECT " + userColumns + " FROM users"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, f.Limit)
	q += " ORDER BY id LIMIT $" + strconv.Itoa(len(args))
	rows, err := db.pool.Query(ctx, q, args...)
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

// ---- sessions

const sessionColumns = "id, user_id, secret_hash, created_at, last_seen_at, expires_at, auth_time, amr, ip, user_agent, client_id, refresh_gen, refresh_rotated_at, refresh_salt, purpose, requested_scope"

func scanSession(row pgx.Row) (*sessions.Session, error) {
	var s sessions.Session
	var rotated *time.Time
	if err := row.Scan(&s.ID, &s.UserID, &s.SecretHash, &s.CreatedAt, &s.LastSeenAt, &s.ExpiresAt, &s.AuthTime, &s.AMR,
		&s.IP, &s.UserAgent, &s.ClientID, &s.Refresh.Gen, &rotated, &s.Refresh.Salt, &s.Purpose, &s.RequestedScope); err != nil {
		return nil, err
	}
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt, s.AuthTime = s.CreatedAt.UTC(), s.LastSeenAt.UTC(), s.ExpiresAt.UTC(), s.AuthTime.UTC()
	s.Refresh.RotatedAt = fromNull(rotated)
	if len(s.AMR) == 0 {
		s.AMR = nil
	}
	return &s, nil
}

// CreateSession implements sessions.Store.
func (db *DB) CreateSession(ctx context.Context, s *sessions.Session) error {
	amr := s.AMR
	if amr == nil {
		amr = []string{}
	}
	salt := s.Refresh.Salt
	if salt == nil {
		salt = []byte{}
	}
	_, err := db.pool.Exec(ctx, "INSERT INTO sessions ("+sessionColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
		s.ID, s.UserID, s.SecretHash, s.CreatedAt, s.LastSeenAt, s.ExpiresAt, s.AuthTime, amr, s.IP, s.UserAgent, s.ClientID,
		s.Refresh.Gen, nullTime(s.Refresh.RotatedAt), salt, s.Purpose, s.RequestedScope)
	return unavailable(err)
}

// SessionByID implements sessions.Store.
func (db *DB) SessionByID(ctx context.Context, id string) (*sessions.Session, error) {
	s, err := scanSession(db.pool.QueryRow(ctx, "SELECT "+sessionColumns+" FROM sessions WHERE id = $1", id))
	if noRows(err) {
		return nil, sessions.ErrNotFound
	}
	return s, unavailable(err)
}

// TouchSession implements sessions.Store.
func (db *DB) TouchSession(ctx context.Context, id string, at time.Time) error {
	tag, err := db.pool.Exec(ctx, "UPDATE sessions SET last_seen_at = greatest(last_seen_at, $1) WHERE id = $2", at, id)
	return affected(tag, err, sessions.ErrNotFound)
}

// deleteSessions deletes the matching sessions and logs a revocation for each, in one
// statement (so atomically).
func (db *DB) deleteSessions(ctx context.Context, where string, until time.Time, args ...any) ([]string, error) {
	n := len(args)
	rows, err := db.pool.Query(ctx, `WITH d AS (DELETE FROM sessions WHERE `+where+` RETURNING id, user_id)
		INSERT INTO revocations (session_id, user_id, until) SELECT id, user_id, $`+strconv.Itoa(n+1)+` FROM d ORDER BY id RETURNING session_id`,
		append(args, until)...)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, unavailable(err)
		}
		ids = append(ids, id)
	}
	return ids, unavailable(rows.Err())
}

// DeleteSession implements sessions.Store.
func (db *DB) DeleteSession(ctx context.Context, id string, until time.Time) error {
	ids, err := db.deleteSessions(ctx, "id = $1", until, id)
	if err == nil && len(ids) == 0 {
		return sessions.ErrNotFound
	}
	return err
}

// DeleteUserSessions implements sessions.Store.
func (db *DB) DeleteUserSessions(ctx context.Context, userID, except string, until time.Time) ([]string, error) {
	return db.deleteSessions(ctx, "user_id = $1 AND id <> $2", until, userID, except)
}

// ListUserSessions implements sessions.Store.
func (db *DB) ListUserSessions(ctx context.Context, userID string) ([]*sessions.Session, error) {
	rows, err := db.pool.Query(ctx, "SELECT "+sessionColumns+" FROM sessions WHERE user_id = $1 ORDER BY created_at DESC, id", userID)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	var out []*sessions.Session
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, unavailable(err)
		}
		out = append(out, s)
	}
	return out, unavailable(rows.Err())
}

// AdvanceRefresh implements sessions.Store. The conditional UPDATE is the compare-and-swap:
// concurrent callers with the same `from` queue on the row lock and only the first finds
// refresh_gen still equal to `from`.
func (db *DB) AdvanceRefresh(ctx context.Context, id string, from int64, at time.Time) (sessions.RefreshState, bool, error) {
	var st sessions.RefreshState
	var rotated *time.Time
	err := db.pool.QueryRow(ctx, `UPDATE sessions SET refresh_gen = refresh_gen + 1, refresh_rotated_at = $1, last_seen_at = greatest(last_seen_at, $1)
		WHERE id = $2 AND refresh_gen = $3 RETURNING refresh_gen, refresh_rotated_at, refresh_salt`, at, id, from).Scan(&st.Gen, &rotated, &st.Salt)
	if err == nil {
		st.RotatedAt = fromNull(rotated)
		return st, true, nil
	}
	if !noRows(err) {
		return st, false, unavailable(err)
	}
	err = db.pool.QueryRow(ctx, "SELECT refresh_gen, refresh_rotated_at, refresh_salt FROM sessions WHERE id = $1", id).Scan(&st.Gen, &rotated, &st.Salt)
	if noRows(err) {
		return st, false, sessions.ErrNotFound
	}
	st.RotatedAt = fromNull(rotated)
	return st, false, unavailable(err)
}

// DeleteExpiredSessions implements sessions.Store.
func (db *DB) DeleteExpiredSessions(ctx context.Context, now, idleCutoff time.Time) (int, error) {
	tag, err := db.pool.Exec(ctx, "DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2", now, idleCutoff)
	return int(tag.RowsAffected()), unavailable(err)
}

// CountActiveSessions implements sessions.Store.
func (db *DB) CountActiveSessions(ctx context.Context, now, idleCutoff time.Time) (int, error) {
	var n int
	err := db.pool.QueryRow(ctx, "SELECT count(*) FROM sessions WHERE expires_at > $1 AND last_seen_at > $2", now, idleCutoff).Scan(&n)
	return n, unavailable(err)
}

// RevokeTokenID implements sessions.Store. The unique index on token_id makes a second
// revocation of the same token a no-op; the NOT EXISTS skips a token whose session's entry
// already outlives it.
func (db *DB) RevokeTokenID(ctx context.Context, r sessions.Revocation, sid string) (bool, error) {
	tag, err := db.pool.Exec(ctx, `INSERT INTO revocations (token_id, user_id, until)
		SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM revocations WHERE $4 <> '' AND session_id = $4 AND until >= $3)
		ON CONFLICT DO NOTHING`, r.TokenID, r.UserID, r.Until, sid)
	if err != nil {
		return false, unavailable(err)
	}
	return tag.RowsAffected() == 1, nil
}

// TokenRevoked implements sessions.Store.
func (db *DB) TokenRevoked(ctx context.Context, jti string, now time.Time) (bool, error) {
	var ok bool
	err := db.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM revocations WHERE token_id = $1 AND until >= $2)", jti, now).Scan(&ok)
	return ok, unavailable(err)
}

// RevokeClients implements sessions.Store.
func (db *DB) RevokeClients(ctx context.Context, rs []sessions.Revocation) error {
	ids, befores, users, untils := make([]string, len(rs)), make([]*time.Time, len(rs)), make([]string, len(rs)), make([]time.Time, len(rs))
	for i, r := range rs {
		ids[i], users[i], untils[i] = r.ClientID, r.UserID, r.Until
		if !r.IssuedBefore.IsZero() {
			b := r.IssuedBefore
			befores[i] = &b
		}
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO revocations (client_id, issued_before, user_id, until)
		SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::timestamptz[])`, ids, befores, users, untils)
	return unavailable(err)
}

// ClientRevoked implements sessions.Store.
func (db *DB) ClientRevoked(ctx context.Context, clientID string, issuedAt, now time.Time) (bool, error) {
	var ok bool
	err := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM revocations WHERE client_id = $1 AND until >= $2
		AND (issued_before IS NULL OR issued_before > $3))`, clientID, now, issuedAt).Scan(&ok)
	return ok, unavailable(err)
}

// RevocationsAfter implements sessions.Store.
func (db *DB) RevocationsAfter(ctx context.Context, cursor int64, now time.Time, limit int) ([]sessions.Revocation, error) {
	rows, err := db.pool.Query(ctx, "SELECT id, session_id, token_id, client_id, issued_before, user_id, until FROM revocations WHERE id > $1 AND until >= $2 ORDER BY id LIMIT $3",
		cursor, now, limit)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	var out []sessions.Revocation
	for rows.Next() {
		var r sessions.Revocation
		var before *time.Time
		if err := rows.Scan(&r.Cursor, &r.SessionID, &r.TokenID, &r.ClientID, &before, &r.UserID, &r.Until); err != nil {
			return nil, unavailable(err)
		}
		r.Until = r.Until.UTC()
		if before != nil {
			r.IssuedBefore = before.UTC()
		}
		out = append(out, r)
	}
	return out, unavailable(rows.Err())
}

// LastRevocation implements sessions.Store.
func (db *DB) LastRevocation(ctx context.Context) (int64, error) {
	var n int64
	err := db.pool.QueryRow(ctx, "SELECT coalesce(max(id), 0) FROM revocations").Scan(&n)
	return n, unavailable(err)
}

// DeleteExpiredRevocations implements sessions.Store.
func (db *DB) DeleteExpiredRevocations(ctx context.Context, now time.Time) (int, error) {
	tag, err := db.pool.Exec(ctx, "DELETE FROM revocations WHERE until < $1", now)
	return int(tag.RowsAffected()), unavailable(err)
}

// ---- events

// AppendEvent implements audit.Store.
func (db *DB) AppendEvent(ctx context.Context, e *audit.Event) error {
	err := db.pool.QueryRow(ctx, `INSERT INTO events (type, time, user_id, session_id, actor, ip, user_agent, outcome, reason, client_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
		e.Type, e.Time, e.UserID, e.SessionID, e.Actor, e.IP, e.UserAgent, e.Outcome, e.Reason, e.ClientID).Scan(&e.ID)
	return unavailable(err)
}

// ListEvents implements audit.Store.
func (db *DB) ListEvents(ctx context.Context, f audit.Filter) ([]*audit.Event, error) {
	where := []string{"id > $1"}
	args := []any{f.After}
	if f.Type != "" {
		args = append(args, f.Type)
		where = append(where, "type = $"+strconv.Itoa(len(args)))
	}
	if f.UserID != "" {
		args = append(args, f.UserID)
		where = append(where, "user_id = $"+strconv.Itoa(len(args)))
	}
	args = append(args, f.Limit)
	rows, err := db.pool.Query(ctx, `SELECT id, type, time, user_id, session_id, actor, ip, user_agent, outcome, reason, client_id
		FROM events WHERE `+strings.Join(where, " AND ")+" ORDER BY id LIMIT $"+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	var out []*audit.Event
	for rows.Next() {
		var e audit.Event
		if err := rows.Scan(&e.ID, &e.Type, &e.Time, &e.UserID, &e.SessionID, &e.Actor, &e.IP, &e.UserAgent, &e.Outcome, &e.Reason, &e.ClientID); err != nil {
			return nil, unavailable(err)
		}
		e.Time = e.Time.UTC()
		out = append(out, &e)
	}
	return out, unavailable(rows.Err())
}

// ---- settings

// Setting implements store.Settings.
func (db *DB) Setting(ctx context.Context, name string) ([]byte, error) {
	var v []byte
	err := db.pool.QueryRow(ctx, "SELECT value FROM settings WHERE name = $1", name).Scan(&v)
	if noRows(err) {
		return nil, store.ErrNotFound
	}
	return v, unavailable(err)
}

// PutSettingIfAbsent implements store.Settings.
func (db *DB) PutSettingIfAbsent(ctx context.Context, name string, value []byte) ([]byte, error) {
	if _, err := db.pool.Exec(ctx, "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING", name, value); err != nil {
		return nil, unavailable(err)
	}
	return db.Setting(ctx, name)
}

// ---- signing keys

// CreateSigningKey implements keys.Store.
func (db *DB) CreateSigningKey(ctx context.Context, k *keys.SigningKey) error {
	_, err := db.pool.Exec(ctx, "INSERT INTO signing_keys (id, algorithm, private_key, created_at, active_at, retire_at) VALUES ($1, $2, $3, $4, $5, $6)",
		k.ID, string(k.Algorithm), k.PrivateKey, k.CreatedAt, k.ActiveAt, nullTime(k.RetireAt))
	return unavailable(err)
}

// SigningKeys implements keys.Store.
func (db *DB) SigningKeys(ctx context.Context) ([]*keys.SigningKey, error) {
	rows, err := db.pool.Query(ctx, "SELECT id, algorithm, private_key, created_at, active_at, retire_at FROM signing_keys ORDER BY active_at, id")
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	var out []*keys.SigningKey
	for rows.Next() {
		var k keys.SigningKey
		var alg string
		var retire *time.Time
		if err := rows.Scan(&k.ID, &alg, &k.PrivateKey, &k.CreatedAt, &k.ActiveAt, &retire); err != nil {
			return nil, unavailable(err)
		}
		k.Algorithm = jws.Algorithm(alg)
		k.CreatedAt, k.ActiveAt, k.RetireAt = k.CreatedAt.UTC(), k.ActiveAt.UTC(), fromNull(retire)
		out = append(out, &k)
	}
	return out, unavailable(rows.Err())
}

// RetireSigningKeys implements keys.Store.
func (db *DB) RetireSigningKeys(ctx context.Context, keep string, activeBefore, at time.Time) error {
	_, err := db.pool.Exec(ctx, "UPDATE signing_keys SET retire_at = $1 WHERE id <> $2 AND active_at < $3 AND (retire_at IS NULL OR retire_at > $1)",
		at, keep, activeBefore)
	return unavailable(err)
}
