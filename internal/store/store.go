// Package store holds what every persistence backend (internal/store/sqlite, postgres, redis)
// shares: the error a backend returns when it cannot answer, so that callers fail closed.
package store

import (
	"context"
	"errors"
)

// ErrUnavailable wraps every backend failure that is not a domain outcome (not found,
// conflict): a closed database, a timeout, a broken connection. The HTTP layer answers it with
// 503 temporarily_unavailable and never with a success.
var ErrUnavailable = errors.New("store unavailable")

// ErrNotFound is returned by Settings for a name that has no value.
var ErrNotFound = errors.New("not found")

// Settings keeps small named values that every instance must agree on, such as the hash of
// the management key.
type Settings interface {
	Setting(ctx context.Context, name string) ([]byte, error)
	// PutSettingIfAbsent stores value under name unless a value is already there, and returns
	// the value that is stored afterwards (so concurrent first starts agree).
	PutSettingIfAbsent(ctx context.Context, name string, value []byte) ([]byte, error)
}
