package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

// admin guards a management handler: the caller must present the management key as a
// bearer token. Sessions and user tokens never pass.
func (s *Server) admin(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		tok, ok := bearer(r)
		if !ok || len(s.cfg.AdminKeyHash) == 0 || !secret.Equal(secret.Hash(tok), s.cfg.AdminKeyHash) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse-admin"`)
			return errorf(http.StatusUnauthorized, codeUnauthorized, "management key required")
		}
		return h(w, r)
	}
}

// pathUser returns the {id} path value, or ErrNotFound if it cannot be a user id.
func pathUser(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if !secret.ValidID(id) {
		return "", users.ErrNotFound
	}
	return id, nil
}

// pageLimit reads ?limit= (default 50, at most 200).
func pageLimit(r *http.Request) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return 50, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 200 {
		return 0, errorf(http.StatusBadRequest, codeInvalidRequest, "limit must be a number from 1 to 200")
	}
	return n, nil
}

func (s *Server) adminCreateUser(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email         string `json:"email"`
		Password      string `json:"password"`
		EmailVerified bool   `json:"email_verified"`
	}
	if err := decodeJSON(w, r, &in, false); err != nil {
		return err
	}
	if err := required("email", in.Email); err != nil {
		return err
	}
	u, err := s.cfg.Accounts.CreateUser(r.Context(), accounts.NewUser{Email: in.Email, Password: in.Password, EmailVerified: in.EmailVerified}, s.client(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toAdminUserJSON(u))
	return nil
}

func (s *Server) adminListUsers(w http.ResponseWriter, r *http.Request) error {
	limit, err := pageLimit(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := users.ListFilter{After: q.Get("after"), Limit: limit, EmailPrefix: q.Get("email_prefix")}
	if e := q.Get("email"); e != "" {
		if f.Email, err = users.NormalizeEmail(e); err != nil {
			return err
		}
	}
	list, err := s.cfg.Accounts.Users().ListUsers(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]adminUserJSON, 0, len(list))
	for _, u := range list {
		out = append(out, toAdminUserJSON(u))
	}
	var next *string
	if len(list) == limit {
		next = &list[len(list)-1].ID
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": out, "next": next})
	return nil
}

func (s *Server) adminGetUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUser(r)
	if err != nil {
		return err
	}
	u, err := s.cfg.Accounts.Users().UserByID(r.Context(), id)
	if err != nil {
		return err
	}
	rs, err := s.userRoles(r, u.ID)
	if err != nil {
		return err
	}
	if s.cfg.Accounts.TOTP() != nil {
		factors, err := s.adminUserFactors(r, u.ID)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, struct {
			adminUserJSON
			MFA   adminUserMFA `json:"mfa"`
			Roles *[]string    `json:"roles,omitempty"`
		}{toAdminUserJSON(u), factors, rs})
		return nil
	}
	writeJSON(w, http.StatusOK, struct {
		adminUserJSON
		Roles *[]string `json:"roles,omitempty"`
	}{toAdminUserJSON(u), rs})
	return nil
}

func (s *Server) adminUpdateUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUser(r)
	if err != nil {
		return err
	}
	var in struct {
		Email         *string         `json:"email"`
		Password      *string         `json:"password"`
		EmailVerified *bool           `json:"email_verified"`
		Disabled      *bool           `json:"disabled"`
		Metadata      json.RawMessage `json:"metadata"`
	}
	if err := decodeJSON(w, r, &in, false); err != nil {
		return err
	}
	metadata, err := adminMetadata(in.Metadata)
	if err != nil {
		return err
	}
	u, err := s.cfg.Accounts.UpdateUser(r.Context(), id, accounts.UserPatch{Email: in.Email, Password: in.Password, EmailVerified: in.EmailVerified, Disabled: in.Disabled, Metadata: metadata}, s.client(r))
	if err != nil {
		return err
	}
	if in.Disabled != nil && *in.Disabled {
		if err := s.ownerDisabled(r, id); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, toAdminUserJSON(u))
	return nil
}

func (s *Server) adminSetDisabled(disabled bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathUser(r)
		if err != nil {
			return err
		}
		u, err := s.cfg.Accounts.UpdateUser(r.Context(), id, accounts.UserPatch{Disabled: &disabled}, s.client(r))
		if err != nil {
			return err
		}
		if disabled {
			if err := s.ownerDisabled(r, id); err != nil {
				return err
			}
		}
		writeJSON(w, http.StatusOK, toAdminUserJSON(u))
		return nil
	}
}

// ownerDisabled ends the access tokens minted from the keys of a user just disabled.
func (s *Server) ownerDisabled(r *http.Request, id string) error {
	ids, err := s.ownedKeys(r, id)
	if err != nil {
		return err
	}
	return s.revokeOwnerKeys(r, id, ids, "owner_disabled")
}

func (s *Server) adminDeleteUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUser(r)
	if err != nil {
		return err
	}
	// The user's keys go with the user (ON DELETE CASCADE): list them first, so that the
	// tokens minted from them can be revoked after.
	keyIDs, err := s.ownedKeys(r, id)
	if err != nil {
		return err
	}
	if err := s.cfg.Accounts.DeleteUser(r.Context(), id, s.client(r)); err != nil {
		return err
	}
	if err := s.revokeOwnerKeys(r, id, keyIDs, "owner_deleted"); err != nil {
		return err
	}
	writeJSON(w, http.StatusNoContent, nil)
	return nil
}

func (s *Server) adminLogoutUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUser(r)
	if err != nil {
		return err
	}
	n, err := s.cfg.Accounts.LogoutUser(r.Context(), id, s.client(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int{"revoked": n})
	return nil
}

func (s *Server) adminUserSessions(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUser(r)
	if err != nil {
		return err
	}
	if _, err := s.cfg.Accounts.Users().UserByID(r.Context(), id); err != nil {
		return err
	}
	list, err := s.cfg.Sessions.List(r.Context(), id)
	if err != nil {
		return err
	}
	out := make([]sessionJSON, 0, len(list))
	for _, ss := range list {
		out = append(out, s.toSessionJSON(ss, ""))
	}
	writeJSON(w, http.StatusOK, map[string]any{"sessions": out})
	return nil
}

type eventJSON struct {
	ID        int64  `json:"id"`
	Type      string `json:"type"`
	Time      string `json:"time"`
	UserID    string `json:"user_id,omitempty"`
	SessionID string `json:"session_id,omitempty"`
	Actor     string `json:"actor,omitempty"`
	IP        string `json:"ip,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`
	Outcome   string `json:"outcome,omitempty"`
	Reason    string `json:"reason,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
}

func (s *Server) adminEvents(w http.ResponseWriter, r *http.Request) error {
	limit, err := pageLimit(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := audit.Filter{Type: q.Get("type"), UserID: q.Get("user"), Limit: limit}
	if a := q.Get("after"); a != "" {
		if f.After, err = strconv.ParseInt(a, 10, 64); err != nil || f.After < 0 {
			return errorf(http.StatusBadRequest, codeInvalidRequest, "after must be an event id")
		}
	}
	list, err := s.cfg.Audit.List(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]eventJSON, 0, len(list))
	for _, e := range list {
		out = append(out, eventJSON{ID: e.ID, Type: e.Type, Time: e.Time.UTC().Format("2006-01-02T15:04:05.000000Z07:00"),
			UserID: e.UserID, SessionID: e.SessionID, Actor: e.Actor, IP: e.IP, UserAgent: e.UserAgent, Outcome: e.Outcome, Reason: e.Reason, ClientID: e.ClientID})
	}
	var next *string
	if len(list) == limit {
		c := strconv.FormatInt(list[len(list)-1].ID, 10)
		next = &c
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": out, "next": next})
	return nil
}
