package store

import "testing"

func TestOpName(t *testing.T) {
	for _, tc := range []struct{ sql, want string }{
		{"SELECT id, user_id FROM sessions WHERE id = ?", "select_sessions"},
		{"  INSERT INTO revocations (session_id) VALUES ($1)", "insert_revocations"},
		{"UPDATE sessions SET last_seen_at = max(last_seen_at, ?) WHERE id = ?", "update_sessions"},
		{"DELETE FROM account_tokens WHERE user_id = ?", "delete_account_tokens"},
		{"WITH d AS (DELETE FROM sessions WHERE id = $1 RETURNING id) INSERT INTO revocations SELECT id FROM d", "with_sessions"},
		{"select count(*) from users", "select_users"},
		{"SELECT 1", "select"},
		{"VACUUM", "other"},
		{"", "other"},
	} {
		if got := OpName(tc.sql); got != tc.want {
			t.Errorf("OpName(%q) = %q, want %q", tc.sql, got, tc.want)
		}
		if got := OpName(tc.sql); got != tc.want { // from the cache
			t.Errorf("cached OpName(%q) = %q, want %q", tc.sql, got, tc.want)
		}
	}
}
