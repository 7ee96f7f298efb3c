package postgres

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/gatehouse-auth/gatehouse/internal/roles"
)

var _ roles.Store = (*DB)(nil)

func scanRole(row pgx.Row) (*roles.Role, error) {
	var r roles.Role
	var scopes string
	if err := row.Scan(&r.Name, &scopes, &r.CreatedAt, &r.UpdatedAt); err != nil {
		return nil, err
	}
	r.Scopes = strings.Fields(scopes)
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return &r, nil
}

// CreateRole implements roles.Store.
func (db *DB) CreateRole(ctx context.Context, r *roles.Role) error {
	_, err := db.pool.Exec(ctx, "INSERT INTO roles (name, scopes, created_at, updated_at) VALUES ($1, $2, $3, $4)",
		r.Name, strings.Join(r.Scopes, " "), r.CreatedAt, r.UpdatedAt)
	if isUnique(err) {
		return roles.ErrConflict
	}
	return unavailable(err)
}

// RoleByName implements roles.Store.
func (db *DB) RoleByName(ctx context.Context, name string) (*roles.Role, error) {
	r, err := scanRole(db.pool.QueryRow(ctx, "SELECT name, scopes, created_at, updated_at FROM roles WHERE name = $1", name))
	if noRows(err) {
		return nil, roles.ErrNotFound
	}
	return r, unavailable(err)
}

// ListRoles implements roles.Store.
func (db *DB) ListRoles(ctx context.Context) ([]*roles.Role, error) {
	rows, err := db.pool.Query(ctx, "SELECT name, scopes, created_at, updated_at FROM roles ORDER BY name")
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
	tag, err := db.pool.Exec(ctx, "UPDATE roles SET scopes = $1, updated_at = $2 WHERE name = $3", strings.Join(r.Scopes, " "), r.UpdatedAt, r.Name)
	return affected(tag, err, roles.ErrNotFound)
}

// DeleteRole implements roles.Store; the assignments go by ON DELETE CASCADE.
func (db *DB) DeleteRole(ctx context.Context, name string) error {
	tag, err := db.pool.Exec(ctx, "DELETE FROM roles WHERE name = $1", name)
	return affected(tag, err, roles.ErrNotFound)
}

// SetUserRoles implements roles.Store.
func (db *DB) SetUserRoles(ctx context.Context, userID string, names []string) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		// Lock the user row: concurrent replacements of one user's roles then serialise.
		var one int
		if err := tx.QueryRow(ctx, "SELECT 1 FROM users WHERE id = $1 FOR UPDATE", userID).Scan(&one); noRows(err) {
			return roles.ErrUnknownUser
		} else if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM user_roles WHERE user_id = $1", userID); err != nil {
			return err
		}
		if len(names) == 0 {
			return nil
		}
		_, err := tx.Exec(ctx, "INSERT INTO user_roles (user_id, role) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING", userID, names)
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23503" {
			return roles.ErrNotFound
		}
		return err
	})
	if errors.Is(err, roles.ErrNotFound) || errors.Is(err, roles.ErrUnknownUser) {
		return err
	}
	return unavailable(err)
}

// UserRoles implements roles.Store.
func (db *DB) UserRoles(ctx context.Context, userID string) ([]string, error) {
	rows, err := db.pool.Query(ctx, "SELECT role FROM user_roles WHERE user_id = $1 ORDER BY role", userID)
	if err != nil {
		return nil, unavailable(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return out, unavailable(err)
}

// UserRoleScopes implements roles.Store.
func (db *DB) UserRoleScopes(ctx context.Context, userID string) ([]string, error) {
	rows, err := db.pool.Query(ctx, "SELECT r.scopes FROM user_roles ur JOIN roles r ON r.name = ur.role WHERE ur.user_id = $1", userID)
	if err != nil {
		return nil, unavailable(err)
	}
	lists, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, unavailable(err)
	}
	var out []string
	for _, s := range lists {
		out = append(out, strings.Fields(s)...)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
