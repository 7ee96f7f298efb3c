package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/accesskeys"
	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/password"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

// Error is an answer to a failed request: the status, the stable code (API: never rename
// one), the human description shown to the client, and the underlying error that is logged
// but never shown.
type Error struct {
	Status      int
	Code        string
	Description string
	RetryAfter  int // seconds; 0 means no Retry-After header
	Err         error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Description
}

func (e *Error) Unwrap() error { return e.Err }

func errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Description: fmt.Sprintf(format, args...)}
}

// Stable error codes of the first-party and management API.
const (
	codeInvalidRequest   = "invalid_request"
	codeUnsupportedMedia = "unsupported_media_type"
	codeTooLarge         = "request_too_large"
	codeNotFound         = "not_found"
	codeMethod           = "method_not_allowed"
	codeUnauthorized     = "unauthorized"
	codeInvalidCreds     = "invalid_credentials"
	codeRateLimited      = "rate_limited"
	codeUnavailable      = "temporarily_unavailable"
	codeServerError      = "server_error"
	codeCrossOrigin      = "cross_origin_request"
)

// toError maps any error a handler returns to the answer the client gets. It is the one
// place where domain errors become statuses.
func toError(err error) *Error {
	var e *Error
	var rl *accounts.RateLimitedError
	if ae := accountError(err); ae != nil && !errors.As(err, new(*Error)) {
		return ae
	}
	switch {
	case errors.As(err, &e):
		return e
	case legacyError(err) != nil:
		return legacyError(err)
	case rolesError(err) != nil:
		return rolesError(err)
	case errors.As(err, &rl):
		secs := max(1, int((rl.RetryAfter+999_999_999)/1_000_000_000))
		return &Error{Status: http.StatusTooManyRequests, Code: codeRateLimited, Description: "too many attempts; try again later", RetryAfter: secs, Err: err}
	case mfaError(err) != nil:
		return mfaError(err)
	case errors.As(err, new(*accesskeys.InputError)):
		return &Error{Status: http.StatusBadRequest, Code: codeInvalidRequest, Description: err.Error(), Err: err}
	case errors.Is(err, accesskeys.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: "access_key_not_found", Description: "no such access key", Err: err}
	case errors.Is(err, accounts.ErrInvalidCredentials):
		return &Error{Status: http.StatusUnauthorized, Code: codeInvalidCreds, Description: "invalid email or password", Err: err}
	case errors.Is(err, sessions.ErrInvalid):
		return &Error{Status: http.StatusUnauthorized, Code: codeUnauthorized, Description: "no valid session", Err: err}
	case errors.Is(err, users.ErrInvalidEmail):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_email", Description: "email is not a valid address", Err: err}
	case errors.Is(err, users.ErrEmailTaken):
		return &Error{Status: http.StatusConflict, Code: "email_taken", Description: "an account with this email already exists", Err: err}
	case errors.Is(err, users.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: "user_not_found", Description: "no such user", Err: err}
	case errors.Is(err, sessions.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: "session_not_found", Description: "no such session", Err: err}
	case errors.Is(err, password.ErrTooShort):
		return &Error{Status: http.StatusBadRequest, Code: "password_too_short", Description: "password must have at least 8 characters", Err: err}
	case errors.Is(err, password.ErrTooLong):
		return &Error{Status: http.StatusBadRequest, Code: "password_too_long", Description: "password must have at most 256 characters", Err: err}
	case errors.Is(err, password.ErrCommon):
		return &Error{Status: http.StatusBadRequest, Code: "password_too_common", Description: "password is too common; choose another", Err: err}
	case errors.Is(err, password.ErrInvalid):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_password", Description: "password must be valid UTF-8 without NUL characters", Err: err}
	case errors.Is(err, accounts.ErrBadScope):
		return &Error{Status: http.StatusBadRequest, Code: codeInvalidRequest, Description: err.Error(), Err: err}
	case errors.Is(err, password.ErrBusy):
		return &Error{Status: http.StatusServiceUnavailable, Code: codeUnavailable, Description: "too many sign-ins in progress; try again shortly", RetryAfter: 1, Err: err}
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, context.DeadlineExceeded), errors.Is(err, ratelimit.ErrFull):
		return &Error{Status: http.StatusServiceUnavailable, Code: codeUnavailable, Description: "the service is temporarily unavailable", RetryAfter: 1, Err: err}
	case errors.Is(err, context.Canceled):
		return &Error{Status: 499, Code: "client_closed_request", Description: "request cancelled", Err: err}
	default:
		return &Error{Status: http.StatusInternalServerError, Code: codeServerError, Description: "internal error", Err: err}
	}
}

// writeError answers r with err and logs one line for it.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := toError(err)
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	if e.Status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
	}
	writeJSON(w, e.Status, errorBody{Error: e.Code, Description: e.Description})
	level := slog.LevelInfo
	if e.Status >= 500 {
		level = slog.LevelError
	}
	attrs := []any{"request_id", requestID(r.Context()), "method", r.Method, "path", r.URL.Path, "status", e.Status, "code", e.Code}
	// Shedding is the server working as designed under a flood: count every case, log a
	// sample (one line a second per reason, saying how many were left out), never a line each.
	if reason := shedReason(e); reason != "" {
		s.cfg.Metrics.shed.WithLabelValues(reason).Inc()
		suppressed, ok := s.shedLog.allow(reason, time.Now())
		if !ok {
			return
		}
		level = slog.LevelWarn
		attrs = append(attrs, "similar_lines_suppressed", suppressed)
	}
	if e.Err != nil {
		attrs = append(attrs, "err", e.Err.Error())
	}
	s.log.Log(r.Context(), level, "request failed", attrs...)
}

// shedReason names why e turned a request away under load, or "" for other errors.
func shedReason(e *Error) string {
	switch {
	case errors.Is(e.Err, password.ErrBusy):
		return "hash_queue"
	case e.Status == http.StatusTooManyRequests:
		return "rate_limited"
	}
	return ""
}

// sampledLog lets one log line a second through for each key and counts the others.
type sampledLog struct {
	mu   sync.Mutex
	keys map[string]*sample
}

type sample struct {
	last       time.Time
	suppressed int
}

// allow reports whether a line for key may be written at now, and how many lines for key were
// suppressed since the last one written.
func (l *sampledLog) allow(key string, now time.Time) (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.keys == nil {
		l.keys = make(map[string]*sample)
	}
	sm := l.keys[key]
	if sm == nil {
		sm = &sample{}
		l.keys[key] = sm
	}
	if !sm.last.IsZero() && now.Sub(sm.last) < time.Second {
		sm.suppressed++
		return 0, false
	}
	n := sm.suppressed
	sm.last, sm.suppressed = now, 0
	return n, true
}

type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}
