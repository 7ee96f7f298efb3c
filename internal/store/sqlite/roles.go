package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"

	"github.com/gatehouse-auth/gatehouse/internal/roles"
)

var _ roles.Store = (*DB)(nil)

func scanRole(row interface{ Scan(...any) error }) (*roles.Role, error) {
	var r roles.Role
	var scopes string
	var created, updated int64
	if err := row.Scan(&r.Name, &scopes, &created, &updated); err != nil {
		return nil, err
	}
	r.Scopes = strings.Fields(scopes)
	r.CreatedAt, r.UpdatedAt = fromDB(created), fromDB(updated)
	return &r, nil
}

// CreateRole implements roles.Store.
func (db *DB) CreateRole(ctx context.Context, r *roles.Role) error {
	_, err := db.exec(ctx, "INSERT INTO roles (name, scopes, created_at, updated_at) VALUES (?, ?, ?, ?)",
		r.Name, strings.Join(r.Scopes, " "), toDB(r.CreatedAt), toDB(r.UpdatedAt))
	if isUnique(err) {
		return roles.ErrConflict
	}
	return unavailable(err)
}

// RoleByName implements roles.Store.
func (db *DB) RoleByName(ctx context.Context, name string) (*roles.Role, error) {
	r, err := scanRole(db.queryRow(ctx, false, "SELECT name, scopes, created_at, updated_at FROM roles WHERE name = ?", name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, roles.ErrNotFound
	}
	return r, unavailable(err)
}

// ListRoles implements roles.Store.
func (db *DB) ListRoles(ctx context.Context) ([]*roles.Role, error) {
	rows, err := db.query(ctx, false, "SELECT name, scopes, created_at, updated_at FROM roles ORDER BY name")
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	var out []*roles.Role
	for rows.Next() {
		r, err := scanRole(rows)
		if err != nil {
			return nil, unavailable(err)
		}
		out = append(out, r)
	}
	return out, unavailable(rows.Err())
}

// UpdateRole implements roles.Store.
func (db *DB) UpdateRole(ctx context.Context, r *roles.Role) error {
	res, err := db.exec(ctx, "UPDATE roles SET scopes = ?, updated_at = ? WHERE name = ?", strings.Join(r.Scopes, " "), toDB(r.UpdatedAt), r.Name)
	return affected(res, err, roles.ErrNotFound)
}

// DeleteRole implements roles.Store; the assignments go by ON DELETE CASCADE.
func (db *DB) DeleteRole(ctx context.Context, name string) error {
	res, err := db.exec(ctx, "DELETE FROM roles WHERE name = ?", name)
	return affected(res, err, roles.ErrNotFound)
}

// SetUserRoles implements roles.Store.
func (db *DB) SetUserRoles(ctx context.Context, userID string, names []string) error {
	defer db.wrote(ctx)
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return unavailable(err)
	}
	defer tx.Rollback()
	var one int
	if err := tx.QueryRowContext(ctx, "SELECT 1 FROM users WHERE id = ?", userID).Scan(&one); errors.Is(err, sql.ErrNoRows) {
		return roles.ErrUnknownUser
	} else if err != nil {
		return unavailable(err)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM user_roles WHERE user_id = ?", userID); err != nil {
		return unavailable(err)
	}
	for _, n := range names {
		if _, err := tx.ExecContext(ctx, "INSERT INTO user_roles (user_id, role) VALUES (?, ?) ON CONFLICT DO NOTHING", userID, n); err != nil {
			if isForeignKey(err) {
				return roles.ErrNotFound
			}
			return unavailable(err)
		}
	}
	return unavailable(tx.Commit())
}

// UserRoles implements roles.Store.
func (db *DB) UserRoles(ctx context.Context, userID string) ([]string, error) {
	rows, err := db.query(ctx, false, "SELECT role FROM user_roles WHERE user_id = ? ORDER BY role", userID)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, unavailable(err)
		}
		out = append(out, n)
	}
	return out, unavailable(rows.Err())
}

// UserRoleScopes implements roles.Store.
func (db *DB) UserRoleScopes(ctx context.Context, userID string) ([]string, error) {
	rows, err := db.query(ctx, false, "SELECT r.scopes FROM user_roles ur JOIN roles r ON r.name = ur.role WHERE ur.user_id = ?", userID)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, unavailable(err)
		}
		out = append(out, strings.Fields(s)...)
	}
	slices.Sort(out)
	return slices.Compact(out), unavailable(rows.Err())
}
