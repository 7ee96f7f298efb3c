package httpapi

import (
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/roles"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
)

// Error codes of roles (docs/errors.md).
const (
	codeRoleNotFound = "role_not_found"
	codeRoleExists   = "role_exists"
)

func rolesError(err error) *Error {
	switch {
	case errors.As(err, new(*roles.InputError)):
		return &Error{Status: http.StatusBadRequest, Code: codeInvalidRequest, Description: err.Error(), Err: err}
	case errors.Is(err, roles.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: codeRoleNotFound, Description: "no such role", Err: err}
	case errors.Is(err, roles.ErrConflict):
		return &Error{Status: http.StatusConflict, Code: codeRoleExists, Description: "a role with this name exists", Err: err}
	case errors.Is(err, roles.ErrUnknownUser):
		return &Error{Status: http.StatusNotFound, Code: "user_not_found", Description: "no such user", Err: err}
	}
	return nil
}

func (s *Server) routeRoles() {
	if s.cfg.Roles == nil {
		return
	}
	s.handle("POST /v1/admin/roles", s.admin(s.adminCreateRole))
	s.handle("GET /v1/admin/roles", s.admin(s.adminListRoles))
	s.handle("GET /v1/admin/roles/{name}", s.admin(s.adminGetRole))
	s.handle("PATCH /v1/admin/roles/{name}", s.admin(s.adminUpdateRole))
	s.handle("DELETE /v1/admin/roles/{name}", s.admin(s.adminDeleteRole))
	s.handle("PUT /v1/admin/users/{id}/roles", s.admin(s.adminSetUserRoles))
}

type roleJSON struct {
	Name      string    `json:"name"`
	Scopes    []string  `json:"scopes"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func toRoleJSON(r *roles.Role) roleJSON {
	sc := r.Scopes
	if sc == nil {
		sc = []string{}
	}
	return roleJSON{Name: r.Name, Scopes: sc, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func (s *Server) adminCreateRole(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name   string   `json:"name"`
		Scopes []string `json:"scopes"`
	}
	if err := decodeJSON(w, r, &in, false); err != nil {
		return err
	}
	role, err := s.cfg.Roles.Create(r.Context(), in.Name, in.Scopes)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toRoleJSON(role))
	return nil
}

func (s *Server) adminListRoles(w http.ResponseWriter, r *http.Request) error {
	list, err := s.cfg.Roles.List(r.Context())
	if err != nil {
		return err
	}
	out := make([]roleJSON, 0, len(list))
	for _, role := range list {
		out = append(out, toRoleJSON(role))
	}
	writeJSON(w, http.StatusOK, struct {
		Roles []roleJSON `json:"roles"`
	}{out})
	return nil
}

func (s *Server) adminGetRole(w http.ResponseWriter, r *http.Request) error {
	role, err := s.cfg.Roles.Role(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toRoleJSON(role))
	return nil
}

func (s *Server) adminUpdateRole(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Scopes *[]string `json:"scopes"`
	}
	if err := decodeJSON(w, r, &in, false); err != nil {
		return err
	}
	if in.Scopes == nil {
		return errorf(http.StatusBadRequest, codeInvalidRequest, "scopes is required")
	}
	role, err := s.cfg.Roles.Update(r.Context(), r.PathValue("name"), *in.Scopes)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toRoleJSON(role))
	return nil
}

func (s *Server) adminDeleteRole(w http.ResponseWriter, r *http.Request) error {
	if err := s.cfg.Roles.Delete(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	writeJSON(w, http.StatusNoContent, nil)
	return nil
}

func (s *Server) adminSetUserRoles(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUser(r)
	if err != nil {
		return err
	}
	var in struct {
		Roles *[]string `json:"roles"`
	}
	if err := decodeJSON(w, r, &in, false); err != nil {
		return err
	}
	if in.Roles == nil {
		return errorf(http.StatusBadRequest, codeInvalidRequest, "roles is required")
	}
	names, err := s.cfg.Roles.SetUserRoles(r.Context(), id, *in.Roles)
	if err != nil {
		return err
	}
	if names == nil {
		names = []string{}
	}
	writeJSON(w, http.StatusOK, struct {
		UserID string   `json:"user_id"`
		Roles  []string `json:"roles"`
	}{id, names})
	return nil
}

// userRoles returns the roles shown with an admin user object (nil when roles are off).
func (s *Server) userRoles(r *http.Request, userID string) (*[]string, error) {
	if s.cfg.Roles == nil {
		return nil, nil
	}
	names, err := s.cfg.Roles.UserRoles(r.Context(), userID)
	if names == nil {
		names = []string{}
	}
	return &names, err
}

// accessScope is the scope claim of an access token for sess: "openid", plus the scopes the
// sign-in asked for that the user's roles grant now (docs/roles.md). A session that asked for
// nothing costs no store read.
func (s *Server) accessScope(r *http.Request, sess *sessions.Session) (string, error) {
	if sess.RequestedScope == "" || s.cfg.Roles == nil {
		return "openid", nil
	}
	granted, err := s.cfg.Roles.Grant(r.Context(), sess.UserID, sess.RequestedScope)
	if err != nil || granted == "" {
		return "openid", err
	}
	return "openid " + granted, nil
}

// checkAskedScope validates the scope a sign-in asks for (token delivery only).
func checkAskedScope(scope, delivery string) error {
	if scope == "" {
		return nil
	}
	if delivery != "token" {
		return errorf(http.StatusBadRequest, codeInvalidRequest, `scope needs "delivery": "token"`)
	}
	_, err := roles.ParseAsked(scope)
	return err
}
