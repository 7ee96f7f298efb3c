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

const sessionColumns = "id, user_id, secret_hash, created_at, last_seen_at, expires_at, auth_time, amr, ip, user_agent, client_id, refresh_gen, refresh_rotated_at, refresh_salt"

func scanSession(row interface{ Scan(...any) error }) (*sessions.Session, error) {
	var s sessions.Session
	var created, seen, expires, auth, rotated int64
	var amr string
	if err := row.Scan(&s.ID, &s.UserID, &s.SecretHash, &created, &seen, &expires, &auth, &amr, &s.IP, &s.UserAgent, &s.ClientID,
		&s.Refresh.Gen, &rotated, &s.Refresh.Salt); err != nil {
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
	_, err := db.write.ExecContext(ctx, "INSERT INTO sessions ("+sessionColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		s.ID, s.UserID, s.SecretHash, toDB(s.CreatedAt), toDB(s.LastSeenAt), toDB(s.ExpiresAt), toDB(s.AuthTime),
		strings.Join(s.AMR, ","), s.IP, s.UserAgent, s.ClientID, s.Refresh.Gen, toDB(s.Refresh.RotatedAt), salt)
	return unavailable(err)
}

// SessionByID implements sessions.Store.
func (db *DB) SessionByID(ctx context.Context, id string) (*sessions.Session, error) {
	s, err := scanSession(db.read.QueryRowContext(ctx, "SELECT "+sessionColumns+" FROM sessions WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, sessions.ErrNotFound
	}
	return s, unavailable(err)
}

// TouchSession implements sessions.Store.
func (db *DB) TouchSession(ctx context.Context, id string, at time.Time) error {
	res, err := db.write.ExecContext(ctx, "UPDATE sessions SET last_seen_at = max(last_seen_at, ?) WHERE id = ?", toDB(at), id)
	return affected(res, err, sessions.ErrNotFound)
}

// DeleteSession implements sessions.Store.
func (db *DB) DeleteSession(ctx context.Context, id string) error {
	res, err := db.write.ExecContext(ctx, "DELETE FROM sessions WHERE id = ?", id)
	return affected(res, err, sessions.ErrNotFound)
}

// DeleteUserSessions implements sessions.Store.
func (db *DB) DeleteUserSessions(ctx context.Context, userID, except string) ([]string, error) {
	rows, err := db.write.QueryContext(ctx, "DELETE FROM sessions WHERE user_id = ? AND id != ? RETURNING id", userID, except)
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

// ListUserSessions implements sessions.Store.
func (db *DB) ListUserSessions(ctx context.Context, userID string) ([]*sessions.Session, error) {
	rows, err := db.read.QueryContext(ctx, "SELECT "+sessionColumns+" FROM sessions WHERE user_id = ? ORDER BY created_at DESC, id", userID)
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
	res, err := db.write.ExecContext(ctx, "DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at <= ?", toDB(now), toDB(idleCutoff))
	if err != nil {
		return 0, unavailable(err)
	}
	n, err := res.RowsAffected()
	return int(n), unavailable(err)
}

// CountActiveSessions implements sessions.Store.
func (db *DB) CountActiveSessions(ctx context.Context, now, idleCutoff time.Time) (int, error) {
	var n int
	err := db.read.QueryRowContext(ctx, "SELECT count(*) FROM sessions WHERE expires_at > ? AND last_seen_at > ?", toDB(now), toDB(idleCutoff)).Scan(&n)
	return n, unavailable(err)
}

// AdvanceRefresh implements sessions.Store. The UPDATE is the compare-and-swap: SQLite has one
// writer, so exactly one of any number of concurrent callers with the same `from` wins.
func (db *DB) AdvanceRefresh(ctx context.Context, id string, from int64, at time.Time) (sessions.RefreshState, bool, error) {
	var st sessions.RefreshState
	var rotated int64
	err := db.write.QueryRowContext(ctx,
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
	err = db.write.QueryRowContext(ctx, "SELECT refresh_gen, refresh_rotated_at, refresh_salt FROM sessions WHERE id = ?", id).
		Scan(&st.Gen, &rotated, &st.Salt)
	if errors.Is(err, sql.ErrNoRows) {
		return st, false, sessions.ErrNotFound
	}
	st.RotatedAt = fromDB(rotated)
	return st, false, unavailable(err)
}
