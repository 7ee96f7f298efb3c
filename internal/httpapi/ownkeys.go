package httpapi

import (
	"net/http"
	"slices"

	"github.com/gatehouse-auth/gatehouse/internal/accesskeys"
	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
)

// Error codes of a user's own access keys (API: never rename one).
const (
	codeKeysNotAllowed  = "access_keys_not_allowed" // user_access_key_scopes is empty
	codeScopeNotAllowed = "scope_not_allowed"       // a scope outside user_access_key_scopes
)

// createOwnAccessKey is POST /v1/access-keys: a key owned by the caller (signed in with a
// session; a token minted from an access key has none, so keys never make keys), with
// scopes from the deployment's allow-list (config user_access_key_scopes; empty means users
// make none).
func (s *Server) createOwnAccessKey(w http.ResponseWriter, r *http.Request) error {
	sess, err := s.caller(r)
	if err != nil {
		return err
	}
	var spec accessKeySpec
	if err := decodeJSON(w, r, &spec, false); err != nil {
		return err
	}
	if len(s.cfg.UserAccessKeyScopes) == 0 {
		return errorf(http.StatusForbidden, codeKeysNotAllowed, "this deployment does not let users create access keys")
	}
	if spec.UserID != "" && spec.UserID != sess.UserID {
		return errorf(http.StatusForbidden, codeKeysNotAllowed, "users create access keys only for themselves")
	}
	for _, sc := range spec.Scopes {
		if !slices.Contains(s.cfg.UserAccessKeyScopes, sc) {
			return errorf(http.StatusForbidden, codeScopeNotAllowed, "scope %q is not one users may give their keys", cleanHeader(sc, 64))
		}
	}
	spec.UserID = sess.UserID
	sp, err := s.keySpec(r, spec, sess.UserID)
	if err != nil {
		return err
	}
	k, key, err := s.cfg.AccessKeys.Create(r.Context(), sp)
	if err != nil {
		return err
	}
	if err := s.keyEvent(r, audit.AccessKeyCreated, k, "user", sess.ID); err != nil {
		return err
	}
	out := toAccessKeyJSON(k)
	out.Key = key
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// listOwnAccessKeys is GET /v1/access-keys: the caller's keys, paged like the admin list.
func (s *Server) listOwnAccessKeys(w http.ResponseWriter, r *http.Request) error {
	sess, err := s.caller(r)
	if err != nil {
		return err
	}
	limit, err := pageLimit(r)
	if err != nil {
		return err
	}
	list, err := s.cfg.AccessKeys.List(r.Context(), accesskeys.Filter{UserID: sess.UserID, After: r.URL.Query().Get("after"), Limit: limit})
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

// ownKey returns the caller's key {id}; another user's key is ErrNotFound (not 403: its
// existence is not the caller's business).
func (s *Server) ownKey(r *http.Request, sess *sessions.Session) (*accesskeys.Key, error) {
	k, err := s.cfg.AccessKeys.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	if k.UserID != sess.UserID {
		return nil, accesskeys.ErrNotFound
	}
	return k, nil
}

// getOwnAccessKey is GET /v1/access-keys/{id}.
func (s *Server) getOwnAccessKey(w http.ResponseWriter, r *http.Request) error {
	sess, err := s.caller(r)
	if err != nil {
		return err
	}
	k, err := s.ownKey(r, sess)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toAccessKeyJSON(k))
	return nil
}

// deleteOwnAccessKey is DELETE /v1/access-keys/{id}: revokes the key and its tokens.
func (s *Server) deleteOwnAccessKey(w http.ResponseWriter, r *http.Request) error {
	sess, err := s.caller(r)
	if err != nil {
		return err
	}
	k, err := s.ownKey(r, sess)
	if err != nil {
		return err
	}
	if _, err := s.deleteAccessKey(r, k.ID, "user", sess.ID); err != nil {
		return err
	}
	writeJSON(w, http.StatusNoContent, nil)
	return nil
}
