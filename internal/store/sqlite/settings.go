package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

var _ store.Settings = (*DB)(nil)

// Setting implements store.Settings.
func (db *DB) Setting(ctx context.Context, name string) ([]byte, error) {
	var v []byte
	err := db.queryRow(ctx, false, "SELECT value FROM settings WHERE name = ?", name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	return v, unavailable(err)
}

// PutSettingIfAbsent implements store.Settings.
func (db *DB) PutSettingIfAbsent(ctx context.Context, name string, value []byte) ([]byte, error) {
	if _, err := db.exec(ctx, "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING", name, value); err != nil {
		return nil, unavailable(err)
	}
	var v []byte
	err := db.queryRow(ctx, true, "SELECT value FROM settings WHERE name = ?", name).Scan(&v)
	return v, unavailable(err)
}
