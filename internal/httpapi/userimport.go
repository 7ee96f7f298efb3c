package httpapi

import (
	"github.com/gatehouse-auth/gatehouse/internal/password"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

// adminUserJSON is the user object of the management API: the public one plus the scheme of
// the stored password hash (DESIGN.md §2), so that an operator can watch imported users move
// to argon2id.
type adminUserJSON struct {
	userJSON
	PasswordScheme string `json:"password_scheme"`
}

func toAdminUserJSON(u *users.User) adminUserJSON {
	scheme := password.Scheme(u.PasswordHash)
	if scheme == "" {
		scheme = "none"
	}
	return adminUserJSON{userJSON: toUserJSON(u), PasswordScheme: scheme}
}
