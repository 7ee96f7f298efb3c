package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/sessions"
)

var _ sessions.Store = (*DB)(nil)

const sessionColumns = "id, user_id, secret_hash, created_at, last_seen_at, expires_at, auth_time, amr, ip, user_agent, client_id, refresh_gen, refresh_rotated_at, refresh_salt, purpose, requested_scope"

func scanSession(row interface{ Scan(...any) error }) (*sessions.Session, error) {
	var s sessions.Session
	var created, seen, expires, auth, rotated int64
	var amr string
	if err := row.Scan(&s.ID, &s.UserID, &s.SecretHash, &created, &seen, &expires, &auth, &amr, &s.IP, &s.UserAgent, &s.ClientID,
		&s.Refresh.Gen, &rotated, &s.Refresh.Salt, &s.Purpose, &s.RequestedScope); err != nil {
		return nil, err
	}
	s.Refresh.RotatedAt = fromDB(rotated)
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt, s.AuthTime = fromDB(created), fromDB(seen), fromDB(expires), fromDB(auth)
	if amr != "" {
		s.AMR = strings.Split(amr, ",")
	}
	return &s, nil
}

// CreateSession implements sessions.Store.
func (db *DB) CreateSession(ctx context.Context, s *sessions.Session) error {
	salt := s.Refresh.Salt
	if salt == nil {
		salt = []byte{}
	}
	_, err := db.exec(ctx, "INSERT INTO sessions ("+sessionColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		s.ID, s.UserID, s.SecretHash, toDB(s.CreatedAt), toDB(s.LastSeenAt), toDB(s.ExpiresAt), toDB(s.AuthTime),
		strings.Join(s.AMR, ","), s.IP, s.UserAgent, s.ClientID, s.Refresh.Gen, toDB(s.Refresh.RotatedAt), salt, s.Purpose, s.RequestedScope)
	return unavailable(err)
}

// SessionByID implements sessions.Store.
func (db *DB) SessionByID(ctx context.Context, id string) (*sessions.Session, error) {
	s, err := scanSession(db.queryRow(ctx, false, "SELECT "+sessionColumns+" FROM sessions WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, sessions.ErrNotFound
	}
	return s, unavailable(err)
}

// TouchSession implements sessions.Store.
func (db *DB) TouchSession(ctx context.Context, id string, at time.Time) error {
	res, err := db.exec(ctx, "UPDATE sessions SET last_seen_at = max(last_seen_at, ?) WHERE id = ?", toDB(at), id)
	return affected(res, err, sessions.ErrNotFound)
}

// DeleteSession implements sessions.Store.
func (db *DB) DeleteSession(ctx context.Context, id string, until time.Time) error {
	ids, err := db.deleteSessions(ctx, "id = ?", []any{id}, until)
	if err == nil && len(ids) == 0 {
		return sessions.ErrNotFound
	}
	return err
}

// DeleteUserSessions implements sessions.Store.
func (db *DB) DeleteUserSessions(ctx context.Context, userID, except string, until time.Time) ([]string, error) {
	return db.deleteSessions(ctx, "user_id = ? AND id != ?", []any{userID, except}, until)
}

// deleteSessions deletes the matching sessions and logs a revocation for each, atomically.
func (db *DB) deleteSessions(ctx context.Context, where string, args []any, until time.Time) ([]string, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, unavailable(err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, "DELETE FROM sessions WHERE "+where+" RETURNING id, user_id", args...)
	if err != nil {
		return nil, unavailable(err)
	}
	var ids, users []string
	for rows.Next() {
		var id, user string
		if err := rows.Scan(&id, &user); err != nil {
			rows.Close()
			return nil, unavailable(err)
		}
		ids, users = append(ids, id), append(users, user)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, unavailable(err)
	}
	now := toDB(time.Now())
	for i := range ids {
		if _, err := tx.ExecContext(ctx, "INSERT INTO revocations (session_id, user_id, until, created_at) VALUES (?, ?, ?, ?)",
			ids[i], users[i], toDB(until), now); err != nil {
			return nil, unavailable(err)
		}
	}
	return ids, unavailable(tx.Commit())
}

// RevokeTokenID implements sessions.Store. The unique index on token_id makes a second
// revocation of the same token a no-op; the NOT EXISTS skips a token whose session's entry
// already outlives it.
func (db *DB) RevokeTokenID(ctx context.Context, r sessions.Revocation, sid string) (bool, error) {
	res, err := db.exec(ctx, `INSERT INTO revocations (token_id, user_id, until, created_at)
		SELECT ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM revocations WHERE ? <> '' AND session_id = ? AND until >= ?)
		ON CONFLICT DO NOTHING`, r.TokenID, r.UserID, toDB(r.Until), toDB(time.Now()), sid, sid, toDB(r.Until))
	if err != nil {
		return false, unavailable(err)
	}
	n, err := res.RowsAffected()
	return n == 1, unavailable(err)
}

// RevokeClients implements sessions.Store.
func (db *DB) RevokeClients(ctx context.Context, rs []sessions.Revocation) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return unavailable(err)
	}
	defer tx.Rollback()
	if err := insertClientRevocations(ctx, tx, rs); err != nil {
		return err
	}
	return unavailable(tx.Commit())
}

func insertClientRevocations(ctx context.Context, tx *sql.Tx, rs []sessions.Revocation) error {
	now := toDB(time.Now())
	for _, r := range rs {
		if _, err := tx.ExecContext(ctx, "INSERT INTO revocations (client_id, issued_before, user_id, until, created_at) VALUES (?, ?, ?, ?, ?)",
			r.ClientID, toDB(r.IssuedBefore), r.UserID, toDB(r.Until), now); err != nil {
			return unavailable(err)
		}
	}
	return nil
}

// ClientRevoked implements sessions.Store.
func (db *DB) ClientRevoked(ctx context.Context, clientID string, issuedAt, now time.Time) (bool, error) {
	var n int
	err := db.queryRow(ctx, false, "SELECT count(*) FROM revocations WHERE client_id = ? AND until >= ? AND (issued_before = 0 OR issued_before > ?)",
		clientID, toDB(now), toDB(issuedAt)).Scan(&n)
	return n > 0, unavailable(err)
}

// RevocationsAfter implements sessions.Store.
func (db *DB) RevocationsAfter(ctx context.Context, cursor int64, now time.Time, limit int) ([]sessions.Revocation, error) {
	rows, err := db.query(ctx, false, "SELECT id, session_id, token_id, client_id, issued_before, user_id, until FROM revocations WHERE id > ? AND until >= ? ORDER BY id LIMIT ?",
		cursor, toDB(now), limit)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	var out []sessions.Revocation
	for rows.Next() {
		var r sessions.Revocation
		var until, before int64
		if err := rows.Scan(&r.Cursor, &r.SessionID, &r.TokenID, &r.ClientID, &before, &r.UserID, &until); err != nil {
			return nil, unavailable(err)
		}
		r.Until, r.IssuedBefore = fromDB(until), fromDB(before)
		out = append(out, r)
	}
	return out, unavailable(rows.Err())
}

// LastRevocation implements sessions.Store.
func (db *DB) LastRevocation(ctx context.Context) (int64, error) {
	var n int64
	err := db.queryRow(ctx, false, "SELECT coalesce(max(id), 0) FROM revocations").Scan(&n)
	return n, unavailable(err)
}

// DeleteExpiredRevocations implements sessions.Store.
func (db *DB) DeleteExpiredRevocations(ctx context.Context, now time.Time) (int, error) {
	res, err := db.exec(ctx, "DELETE FROM revocations WHERE until < ?", toDB(now))
	if err != nil {
		return 0, unavailable(err)
	}
	n, err := res.RowsAffected()
	return int(n), unavailable(err)
}

// ListUserSessions implements sessions.Store.
func (db *DB) ListUserSessions(ctx context.Context, userID string) ([]*sessions.Session, error) {
	rows, err := db.query(ctx, false, "SELECT "+sessionColumns+" FROM sessions WHERE user_id = ? ORDER BY created_at DESC, id", userID)
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

// DeleteExpiredSessions implements sessions.Store.
func (db *DB) DeleteExpiredSessions(ctx context.Context, now, idleCutoff time.Time) (int, error) {
	res, err := db.exec(ctx, "DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at <= ?", toDB(now), toDB(idleCutoff))
	if err != nil {
		return 0, unavailable(err)
	}
	n, err := res.RowsAffected()
	return int(n), unavailable(err)
}

// CountActiveSessions implements sessions.Store.
func (db *DB) CountActiveSessions(ctx context.Context, now, idleCutoff time.Time) (int, error) {
	var n int
	err := db.queryRow(ctx, false, "SELECT count(*) FROM sessions WHERE expires_at > ? AND last_seen_at > ?", toDB(now), toDB(idleCutoff)).Scan(&n)
	return n, unavailable(err)
}

// AdvanceRefresh implements sessions.Store. The UPDATE is the compare-and-swap: SQLite has one
// writer, so exactly one of any number of concurrent callers with the same `from` wins.
func (db *DB) AdvanceRefresh(ctx context.Context, id string, from int64, at time.Time) (sessions.RefreshState, bool, error) {
	var st sessions.RefreshState
	var rotated int64
	err := db.queryRow(ctx, true,
		`UPDATE sessions SET refresh_gen = refresh_gen + 1, refresh_rotated_at = ?, last_seen_at = max(last_seen_at, ?)
		 WHERE id = ? AND refresh_gen = ? RETURNING refresh_gen, refresh_rotated_at, refresh_salt`,
		toDB(at), toDB(at), id, from).Scan(&st.Gen, &rotated, &st.Salt)
	if err == nil {
		st.RotatedAt = fromDB(rotated)
		return st, true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return st, false, unavailable(err)
	}
	err = db.queryRow(ctx, true, "SELECT refresh_gen, refresh_rotated_at, refresh_salt FROM sessions WHERE id = ?", id).
		Scan(&st.Gen, &rotated, &st.Salt)
	if errors.Is(err, sql.ErrNoRows) {
		return st, false, sessions.ErrNotFound
	}
	st.RotatedAt = fromDB(rotated)
	return st, false, unavailable(err)
}

// TokenRevoked implements sessions.Store.
func (db *DB) TokenRevoked(ctx context.Context, jti string, now time.Time) (bool, error) {
	var n int
	err := db.queryRow(ctx, false, "SELECT count(*) FROM revocations WHERE token_id = ? AND until >= ?", jti, toDB(now)).Scan(&n)
	return n > 0, unavailable(err)
}
