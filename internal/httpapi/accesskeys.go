package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/accesskeys"
	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

// accessKeyJSON is an access key as the management API shows it: never the key or its hash.
type accessKeyJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Scopes     []string   `json:"scopes"`
	UserID     *string    `json:"user_id"`
	ExpiresAt  *time.Time `json:"expires_at"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	CreatedBy  string     `json:"created_by"`
	Imported   bool       `json:"imported"`
	// Key is set only in the answer that creates the key: it is shown once.
	Key string `json:"key,omitempty"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func toAccessKeyJSON(k *accesskeys.Key) accessKeyJSON {
	scopes := k.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	return accessKeyJSON{ID: k.ID, Name: k.Name, Scopes: scopes, UserID: optString(k.UserID), ExpiresAt: optTime(k.ExpiresAt),
		CreatedAt: k.CreatedAt, UpdatedAt: k.UpdatedAt, LastUsedAt: optTime(k.LastUsedAt), CreatedBy: k.CreatedBy, Imported: k.Imported}
}

// accessKeySpec is the body of a create request and of one import entry.
type accessKeySpec struct {
	Name      string     `json:"name"`
	Scopes    []string   `json:"scopes"`
	ExpiresAt *time.Time `json:"expires_at"`
	UserID    string     `json:"user_id"`
}

func (s *Server) keySpec(r *http.Request, in accessKeySpec, createdBy string) (accesskeys.Spec, error) {
	sp := accesskeys.Spec{Name: in.Name, Scopes: in.Scopes, UserID: in.UserID, CreatedBy: createdBy}
	if in.ExpiresAt != nil {
		sp.ExpiresAt = in.ExpiresAt.UTC()
	}
	if in.UserID != "" {
		u, err := s.cfg.Accounts.User(r.Context(), in.UserID)
		if errors.Is(err, users.ErrNotFound) {
			return sp, &accesskeys.InputError{Msg: "user_id names no user"}
		}
		if err != nil {
			return sp, err
		}
		if u.Disabled {
			return sp, &accesskeys.InputError{Msg: "user_id names a disabled user"}
		}
	}
	return sp, nil
}

func (s *Server) adminCreateAccessKey(w http.ResponseWriter, r *http.Request) error {
	var in accessKeySpec
	if err := decodeJSON(w, r, &in, false); err != nil {
		return err
	}
	sp, err := s.keySpec(r, in, "admin")
	if err != nil {
		return err
	}
	k, key, err := s.cfg.AccessKeys.Create(r.Context(), sp)
	if err != nil {
		return err
	}
	if err := s.keyEvent(r, audit.AccessKeyCreated, k, "admin", ""); err != nil {
		return err
	}
	out := toAccessKeyJSON(k)
	out.Key = key
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) adminListAccessKeys(w http.ResponseWriter, r *http.Request) error {
	limit, err := pageLimit(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	list, err := s.cfg.AccessKeys.List(r.Context(), accesskeys.Filter{UserID: q.Get("user_id"), After: q.Get("after"), Limit: limit})
	if err != nil {
		return err
	}
	out := make([]accessKeyJSON, 0, len(list))
	for _, k := range list {
		out = append(out, toAccessKeyJSON(k))
	}
	var next *string
	if len(list) == limit {
		next = &list[len(list)-1].ID
	}
	writeJSON(w, http.StatusOK, map[string]any{"access_keys": out, "next": next})
	return nil
}

func (s *Server) adminGetAccessKey(w http.ResponseWriter, r *http.Request) error {
	k, err := s.cfg.AccessKeys.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toAccessKeyJSON(k))
	return nil
}

func (s *Server) adminUpdateAccessKey(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name      *string         `json:"name"`
		Scopes    *[]string       `json:"scopes"`
		ExpiresAt json.RawMessage `json:"expires_at"` // absent: unchanged; null: never expires
	}
	if err := decodeJSON(w, r, &in, false); err != nil {
		return err
	}
	u := accesskeys.Update{Name: in.Name, Scopes: in.Scopes}
	switch {
	case in.ExpiresAt == nil:
	case bytes.Equal(in.ExpiresAt, []byte("null")):
		u.ClearExpiry = true
	default:
		var t time.Time
		if err := json.Unmarshal(in.ExpiresAt, &t); err != nil {
			return errorf(http.StatusBadRequest, codeInvalidRequest, "expires_at must be an RFC 3339 time or null")
		}
		t = t.UTC()
		u.ExpiresAt = &t
	}
	k, err := s.cfg.AccessKeys.Update(r.Context(), r.PathValue("id"), u)
	if err != nil {
		return err
	}
	if err := s.keyEvent(r, audit.AccessKeyUpdated, k, "admin", ""); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toAccessKeyJSON(k))
	return nil
}

func (s *Server) adminDeleteAccessKey(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.deleteAccessKey(r, r.PathValue("id"), "admin", ""); err != nil {
		return err
	}
	writeJSON(w, http.StatusNoContent, nil)
	return nil
}

// deleteAccessKey revokes a key: the key and the revocation entry for every token minted
// from it go in one transaction, then the entry is announced to this instance's streams and
// the other instances.
func (s *Server) deleteAccessKey(r *http.Request, id, actor, sessionID string) (*accesskeys.Key, error) {
	until := s.cfg.Now().Add(s.cfg.Sessions.Config().RevocationRetention)
	k, err := s.cfg.AccessKeys.Delete(r.Context(), id, until)
	if err != nil {
		return nil, err
	}
	s.cfg.Sessions.Announce(r.Context())
	return k, s.keyEvent(r, audit.AccessKeyRevoked, k, actor, sessionID)
}

// keyEvent audits an action on an access key, naming it by id (never the key).
func (s *Server) keyEvent(r *http.Request, typ string, k *accesskeys.Key, actor, sessionID string) error {
	c := s.client(r)
	return s.cfg.Audit.Record(r.Context(), audit.Event{Type: typ, UserID: k.UserID, SessionID: sessionID, ClientID: k.ID, Actor: actor,
		IP: c.IP, UserAgent: c.UserAgent, Outcome: audit.Success})
}

// revokeOwnerKeys revokes every token minted from the access keys ids of userID (its owner,
// just disabled or deleted): the keys themselves stop authenticating by the owner check,
// the tokens already out through client_id entries on the revocation feed.
func (s *Server) revokeOwnerKeys(r *http.Request, userID string, ids []string, reason string) error {
	if s.cfg.AccessKeys == nil || len(ids) == 0 {
		return nil
	}
	if err := s.cfg.Sessions.RevokeClients(r.Context(), userID, ids); err != nil {
		return err
	}
	c := s.client(r)
	for _, id := range ids {
		if err := s.cfg.Audit.Record(r.Context(), audit.Event{Type: audit.AccessKeyRevoked, UserID: userID, ClientID: id, Actor: "admin",
			IP: c.IP, UserAgent: c.UserAgent, Outcome: audit.Success, Reason: reason}); err != nil {
			return err
		}
	}
	return nil
}

// ownedKeys lists the ids of userID's access keys (none without access keys).
func (s *Server) ownedKeys(r *http.Request, userID string) ([]string, error) {
	if s.cfg.AccessKeys == nil {
		return nil, nil
	}
	return s.cfg.AccessKeys.OwnedIDs(r.Context(), userID)
}

// maxImport bounds the keys of one import request (the body is capped at 64 KiB as well).
const maxImport = 500

func (s *Server) adminImportAccessKeys(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Keys []struct {
			Key       string `json:"key"`
			KeySHA256 string `json:"key_sha256"`
			accessKeySpec
		} `json:"keys"`
	}
	if err := decodeJSON(w, r, &in, false); err != nil {
		return err
	}
	if len(in.Keys) == 0 || len(in.Keys) > maxImport {
		return errorf(http.StatusBadRequest, codeInvalidRequest, "keys must hold 1 to %d entries", maxImport)
	}
	type result struct {
		Index  int    `json:"index"`
		Status string `json:"status"`
		ID     string `json:"id,omitempty"`
		Error  string `json:"error,omitempty"`
	}
	results := make([]result, 0, len(in.Keys))
	for i, e := range in.Keys {
		res := result{Index: i}
		sp, err := s.keySpec(r, e.accessKeySpec, "admin")
		var k *accesskeys.Key
		if err == nil {
			k, res.Status, err = s.cfg.AccessKeys.Import(r.Context(), accesskeys.Import{Key: e.Key, KeySHA256: e.KeySHA256, Spec: sp})
		}
		if err == nil && res.Status == accesskeys.StatusCreated {
			err = s.keyEvent(r, audit.AccessKeyImported, k, "admin", "")
		}
		var ie *accesskeys.InputError
		switch {
		case errors.As(err, &ie):
			res.Status, res.Error = accesskeys.StatusInvalid, ie.Msg
		case err != nil:
			return err // a store failure: the entries before it are in, and importing again is safe
		default:
			res.ID = k.ID
		}
		results = append(results, res)
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results})
	return nil
}
