// Package accounts carries out the operations on accounts that span several domains: sign-up
// and sign-in (rate limits, password checks, a new session, the audit event), logout, and the
// administrator's create/update/disable/delete with the session revocations they imply. The
// HTTP layer decodes and encodes; the rules live here.
package accounts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/password"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

// ErrInvalidCredentials is the one answer for an unknown account, a wrong password and a
// disabled account, so that no response tells whether an account exists.
var ErrInvalidCredentials = errors.New("invalid email or password")

// RateLimitedError is returned when a sign-in path is throttled.
type RateLimitedError struct {
	RetryAfter time.Duration
	Limit      string
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("rate limited (%s), retry after %s", e.Limit, e.RetryAfter)
}

// Client describes where a request comes from.
type Client struct {
	Delivery  Delivery
	IP        string // for audit and session metadata
	RateKey   string // the IP as a rate-limit bucket key (IPv6 aggregated)
	UserAgent string
	// Session is the session token the client presented with the request (its cookie), if
	// any; untrusted. A sign-in to the account that session belongs to is likely the
	// owner's: it gets the password hasher's priority lane and skips the per-account
	// lockout bucket, as a sign-in from a network the account used recently does.
	Session string
	// RefreshCookie (token delivery) asks for the refresh token in a cookie; a second step
	// answers the way the first was asked.
	RefreshCookie bool
	// Device is the device cookie the client presented, if any (untrusted; see mfa.go).
	Device string
	// Scope (token delivery) is the space-separated scope the sign-in asks for; the
	// session keeps it (sessions.Session.RequestedScope, docs/roles.md).
	Scope string

	purpose string // sessions.Session.Purpose of the session to start
}

// Result is a successful sign-in.
type Result struct {
	User    *users.User
	Session *sessions.Session
	Token   sessions.Token
	// Refresh is set for token delivery: the session's first refresh token.
	Refresh sessions.RefreshToken
	// RefreshOutcome says how a refresh grant was answered (Refresh only).
	RefreshOutcome sessions.RefreshOutcome
	// RefreshCookie repeats Client.RefreshCookie of the sign-in (kept across the MFA step).
	RefreshCookie bool
	// Device is the device cookie to set (MFA enabled), signed for this user.
	Device string
}

// Delivery is how a sign-in hands out its session (docs/architecture.md).
type Delivery int

// Deliveries.
const (
	DeliverCookie Delivery = iota // the session token, in a cookie
	DeliverTokens                 // access, refresh and ID tokens
)

// Hasher is the password hashing the service needs (*password.Hasher in production).
type Hasher interface {
	Hash(ctx context.Context, pw string) (string, error)
	// Admit waits for a hashing slot (see password.Admission); the ticket's Verify and
	// VerifyDummy (which costs what Verify costs, for accounts that do not exist) use it.
	Admit(ctx context.Context, a password.Admission) (*password.Ticket, error)
}

// Service is the account operations.
type Service struct {
	users    users.Store
	sessions *sessions.Manager
	hasher   Hasher
	limiter  *ratelimit.Limiter
	audit    *audit.Log
	legacy   LegacyPasswords // nil: no lazy password migration
	log      *slog.Logger
	now      func() time.Time
	policy   *password.Policy // nil: password.Check alone
	mfa      *mfaState        // nil: password-only sign-in (see WithMFA)

	userCache sync.Map // id -> cachedUser

	// refusals picks which rate-limited attempts are worth an audit event: the first per
	// limit and key each minute. The others are only counted (ratelimit.Limiter.Refused).
	refusals *ratelimit.Sampler

	email *emailState // nil: the email flows are off (see WithEmail)

	handoff *handoffConfig // nil: no cross-domain sign-in (see WithHandoff)
}

// WithPasswordPolicy makes new passwords pass p (an operator's breached-password file) on top
// of password.Check.
func (s *Service) WithPasswordPolicy(p *password.Policy) { s.policy = p }

// userCacheTTL bounds how stale the user shown by GET /v1/session may be after a change made
// by another process. Changes through this Service evict at once; disabling a user anywhere
// also ends its sessions, which the session layer enforces at once.
const userCacheTTL = 5 * time.Second

type cachedUser struct {
	u  users.User
	at time.Time
}

// New returns a Service.
func New(us users.Store, sm *sessions.Manager, h Hasher, l *ratelimit.Limiter, a *audit.Log, log *slog.Logger, now func() time.Time) *Service {
	return &Service{users: us, sessions: sm, hasher: h, limiter: l, audit: a, log: log, now: now,
		refusals: ratelimit.NewSampler(time.Minute, 10000)}
}

// Users returns the user store, for reads.
func (s *Service) Users() users.Store { return s.users }

// User returns a user by id, from a short-lived cache when possible (the hot path of
// GET /v1/session).
func (s *Service) User(ctx context.Context, id string) (*users.User, error) {
	now := s.now()
	if v, ok := s.userCache.Load(id); ok {
		if c := v.(cachedUser); now.Sub(c.at) < userCacheTTL && !now.Before(c.at) {
			u := c.u
			return &u, nil
		}
	}
	u, err := s.users.UserByID(ctx, id)
	if err != nil {
		return nil, err
	}
	s.userCache.Store(id, cachedUser{u: *u, at: now})
	return u, nil
}

// Signup creates an account with a password and signs it in.
func (s *Service) Signup(ctx context.Context, email, pw string, c Client) (*Result, error) {
	email, err := users.NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	if err := s.policy.Check(pw, email); err != nil {
		return nil, err
	}
	d, err := s.limiter.CheckSignup(ctx, c.RateKey)
	if err != nil {
		return nil, err
	}
	if !d.Allowed {
		return nil, &RateLimitedError{RetryAfter: d.RetryAfter, Limit: d.Limit}
	}
	t, err := s.hasher.Admit(ctx, password.Admission{Group: ratelimit.NetworkKey(c.RateKey)})
	if err != nil {
		return nil, err
	}
	hash, err := t.Hash(pw)
	if err != nil {
		return nil, err
	}
	now := s.now()
	u := &users.User{ID: secret.NewID(), Email: email, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	if err := s.users.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	if err := s.audit.Record(ctx, audit.Event{Type: audit.UserSignup, UserID: u.ID, Actor: "user", IP: c.IP, UserAgent: c.UserAgent, Outcome: audit.Success}); err != nil {
		return nil, err
	}
	s.afterSignup(ctx, u)
	if s.email != nil && s.email.RequireVerified {
		// The account exists and its verification mail is queued; it signs in once verified.
		return nil, ErrEmailNotVerified
	}
	return s.afterPassword(ctx, u, c)
}

// Login checks an email and password and starts a session. Every failure that could tell
// whether the account exists is ErrInvalidCredentials, and costs one password hash.
//
// The order matters (see ratelimit.Policy): the per-IP check comes first and costs no hash;
// then the user is read and a hashing slot awaited, in the priority lane when the sign-in
// looks like the owner's; only with the slot in hand is the attempt charged to the
// account's lockout buckets, right before the hash. An attempt turned away before its
// password was checked (503: hasher saturated, store down) is therefore never charged, while
// concurrent guesses cannot outrun the charge.
func (s *Service) Login(ctx context.Context, email, pw string, c Client) (*Result, error) {
	email, err := users.NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	d, err := s.limiter.CheckLogin(ctx, c.RateKey, email)
	if err != nil {
		return nil, err
	}
	if !d.Allowed {
		return nil, s.refused(ctx, d, email, c)
	}
	u, err := s.users.UserByEmail(ctx, email)
	if errors.Is(err, users.ErrNotFound) {
		u, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	known := d.Known || (u != nil && s.ownSession(ctx, c.Session, u.ID))
	t, err := s.hasher.Admit(ctx, password.Admission{Priority: known, Group: ratelimit.NetworkKey(c.RateKey)})
	if err != nil {
		return nil, err
	}
	defer t.Release()
	charge, err := s.limiter.ChargeLogin(ctx, c.RateKey, email, known)
	if err != nil {
		return nil, err
	}
	if !charge.Allowed {
		t.Release() // before the sampled audit write
		return nil, s.refused(ctx, charge, email, c)
	}
	var ok, rehash, malformed bool
	if u == nil || u.PasswordHash == "" {
		err = t.VerifyDummy(pw)
	} else {
		ok, rehash, err = t.Verify(pw, u.PasswordHash)
	}
	if errors.Is(err, password.ErrMalformedHash) {
		// A stored hash that does not parse (a bad import or a corrupt row) is a failed
		// sign-in, answered like a wrong password (the ticket spent a full dummy hash on it);
		// the operator learns from the log and the audit reason.
		s.log.ErrorContext(ctx, "stored password hash is malformed; sign-in refused", "user", u.ID, "scheme", password.Scheme(u.PasswordHash), "err", err)
		ok, rehash, malformed, err = false, false, true, nil
	}
	if err != nil {
		return nil, err
	}
	if !ok && s.legacy != nil && (u == nil || (u.PasswordHash == "" && !u.Disabled)) {
		var lerr error
		if u, ok, lerr = s.lazyMigrate(ctx, u, email, pw, c); lerr != nil {
			return nil, lerr
		}
	}
	switch {
	case u == nil:
		return nil, s.loginFailed(ctx, "", email, "unknown_user", charge, c)
	case malformed:
		return nil, s.loginFailed(ctx, u.ID, email, "malformed_password_hash", charge, c)
	case !ok:
		return nil, s.loginFailed(ctx, u.ID, email, "bad_password", charge, c)
	case u.Disabled:
		return nil, s.loginFailed(ctx, u.ID, email, "user_disabled", charge, c)
	}
	if rehash {
		s.rehash(ctx, u, pw, c)
	}
	if err := s.limiter.LoginSucceeded(ctx, c.RateKey, email); err != nil {
		return nil, err
	}
	if err := s.checkVerified(ctx, u, c); err != nil {
		return nil, err
	}
	return s.afterPassword(ctx, u, c)
}

// ownSession reports whether tok is a live session of userID. It is a hint for admission,
// so a store failure just means "no".
func (s *Service) ownSession(ctx context.Context, tok, userID string) bool {
	if tok == "" {
		return false
	}
	sess, err := s.sessions.Validate(ctx, tok)
	return err == nil && sess.UserID == userID
}

// refused answers an attempt a limit refused. Refusals cost the sender nothing, so they are
// counted (by the Limiter) and audited only when sampled: the first per limit and key each
// minute. The event that matters, the start of a lockout, is written by loginFailed.
func (s *Service) refused(ctx context.Context, d ratelimit.Decision, email string, c Client) error {
	key := d.Limit + "\x00" + c.RateKey
	if d.Limit == ratelimit.LimitAccount {
		key = d.Limit + "\x00" + email // one account, many IPs
	} else if d.Limit == ratelimit.LimitAccountIP {
		key += "\x00" + email
	}
	if s.refusals.First(key, s.now()) {
		ev := audit.Event{Type: audit.LoginFailed, Actor: "user", IP: c.IP, UserAgent: c.UserAgent, Outcome: audit.Failure, Reason: "rate_limited_" + d.Limit}
		if u, err := s.users.UserByEmail(ctx, email); err == nil {
			ev.UserID = u.ID
		}
		if err := s.audit.Record(ctx, ev); err != nil {
			return err
		}
	}
	return &RateLimitedError{RetryAfter: d.RetryAfter, Limit: d.Limit}
}

// loginFailed records a verified failure; when its charge emptied an account bucket, that
// is the start of a lockout and gets its one audit.UserLocked event.
func (s *Service) loginFailed(ctx context.Context, userID, email, reason string, charge ratelimit.Decision, c Client) error {
	if err := s.limiter.LoginFailed(ctx, c.RateKey, email); err != nil {
		return err
	}
	s.noteFailure(ctx, userID)
	if err := s.audit.Record(ctx, audit.Event{Type: audit.LoginFailed, UserID: userID, Actor: "user", IP: c.IP, UserAgent: c.UserAgent, Outcome: audit.Failure, Reason: reason}); err != nil {
		return err
	}
	if charge.LockoutStarts {
		if err := s.audit.Record(ctx, audit.Event{Type: audit.UserLocked, UserID: userID, Actor: "user", IP: c.IP, UserAgent: c.UserAgent,
			Outcome: audit.Failure, Reason: "too_many_failures_" + charge.Limit}); err != nil {
			return err
		}
	}
	return ErrInvalidCredentials
}

// rehash upgrades a stored hash made with weaker parameters (or an imported scheme) and
// audits it as user.password_rehashed, naming the old scheme. A failure only costs the
// upgrade, not the sign-in: the next sign-in tries again.
func (s *Service) rehash(ctx context.Context, u *users.User, pw string, c Client) {
	h, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		s.log.WarnContext(ctx, "password rehash skipped", "user", u.ID, "err", err)
		return
	}
	nu := *u
	nu.PasswordHash, nu.UpdatedAt = h, s.now()
	s.userCache.Delete(u.ID)
	if err := s.users.UpdateUser(ctx, &nu); err != nil {
		s.log.WarnContext(ctx, "password rehash not stored", "user", u.ID, "err", err)
		return
	}
	old := password.Scheme(u.PasswordHash)
	*u = nu
	if err := s.audit.Record(ctx, audit.Event{Type: audit.PasswordRehashed, UserID: u.ID, Actor: "user", IP: c.IP, UserAgent: c.UserAgent,
		Outcome: audit.Success, Reason: old}); err != nil {
		s.log.WarnContext(ctx, "password rehash not audited", "user", u.ID, "err", err)
	}
}

// startSession mints a session for u, the user as read before its credentials were checked,
// then re-reads the user: if it was deleted, disabled or had its credentials changed
// (CredentialEpoch moved) meanwhile, the new session is ended before anyone sees it.
//
// Why "insert, then re-read" is enough on every backend (rather than locking the user row
// for the insert): the administrator's side writes the user first (new epoch, disabled, or
// the epoch bump that precedes a delete) and only then deletes the user's sessions, each a
// committed statement before the next starts. If the re-read still sees the old epoch, it
// started before the user write committed, so the session insert, committed before the
// re-read, is visible to the later session delete, which ends it with a revocation entry.
// Otherwise the re-read sees the change and this function ends the session itself. Either
// way no session checked against an old epoch outlives the change, under SQLite's single
// writer and under PostgreSQL's READ COMMITTED alike, with no lock held across the hash or
// the insert and no extra round trip for the common case.
func (s *Service) startSession(ctx context.Context, u *users.User, amr []string, c Client) (*Result, error) {
	return s.startSessionAt(ctx, u, amr, time.Time{}, c)
}

// startSessionAt is startSession with the session's auth_time (zero: now).
func (s *Service) startSessionAt(ctx context.Context, u *users.User, amr []string, authTime time.Time, c Client) (*Result, error) {
	meta := sessions.Meta{AMR: amr, AuthTime: authTime, IP: c.IP, UserAgent: c.UserAgent, ClientID: "gatehouse", Purpose: c.purpose}
	if c.Delivery == DeliverTokens {
		meta.Scope = c.Scope
	}
	var (
		sess *sessions.Session
		tok  sessions.Token
		rt   sessions.RefreshToken
		err  error
	)
	if c.Delivery == DeliverTokens {
		sess, tok, rt, err = s.sessions.CreateWithRefresh(ctx, u.ID, meta)
	} else {
		sess, tok, err = s.sessions.Create(ctx, u.ID, meta)
	}
	if err != nil {
		// A user deleted since the password check makes the insert fail (the session's user
		// is gone): that is a failed sign-in, not an outage.
		if cur, rerr := s.users.UserByID(ctx, u.ID); errors.Is(rerr, users.ErrNotFound) ||
			(rerr == nil && (cur.Disabled || cur.CredentialEpoch != u.CredentialEpoch)) {
			return nil, ErrInvalidCredentials
		}
		return nil, err
	}
	cur, err := s.users.UserByID(ctx, u.ID)
	if err != nil || cur.Disabled || cur.CredentialEpoch != u.CredentialEpoch {
		if rerr := s.sessions.Revoke(ctx, sess.ID); rerr != nil && !errors.Is(rerr, sessions.ErrNotFound) {
			return nil, rerr
		}
		if err != nil && !errors.Is(err, users.ErrNotFound) {
			return nil, err
		}
		return nil, ErrInvalidCredentials
	}
	if err := s.audit.Record(ctx, audit.Event{Type: audit.LoginSucceeded, UserID: u.ID, SessionID: sess.ID, Actor: "user", IP: c.IP, UserAgent: c.UserAgent, Outcome: audit.Success}); err != nil {
		return nil, err
	}
	return &Result{User: cur, Session: sess, Token: tok, Refresh: rt}, nil
}

// Refresh redeems a refresh token (docs/architecture.md "Refresh rotation"). Reuse revokes the
// session and is audited as refresh_token.reused; a disabled or deleted user's session is
// ended. Every failure wraps sessions.ErrInvalid (the API's invalid_grant) unless the store
// failed.
func (s *Service) Refresh(ctx context.Context, rt string, c Client) (*Result, error) {
	sess, next, outcome, err := s.sessions.Refresh(ctx, rt)
	if errors.Is(err, sessions.ErrRefreshReused) {
		if aerr := s.audit.Record(ctx, audit.Event{Type: audit.RefreshReused, UserID: sess.UserID, SessionID: sess.ID, Actor: "user",
			IP: c.IP, UserAgent: c.UserAgent, Outcome: audit.Failure, Reason: "session_revoked"}); aerr != nil {
			return nil, aerr
		}
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	u, err := s.User(ctx, sess.UserID)
	if errors.Is(err, users.ErrNotFound) || (err == nil && u.Disabled) {
		if rerr := s.sessions.Revoke(ctx, sess.ID); rerr != nil && !errors.Is(rerr, sessions.ErrNotFound) {
			return nil, rerr
		}
		return nil, fmt.Errorf("%w: user disabled", sessions.ErrInvalid)
	}
	if err != nil {
		return nil, err
	}
	return &Result{User: u, Session: sess, Refresh: next, RefreshOutcome: outcome}, nil
}

// Logout scopes (POST /v1/logout).
const (
	ScopeLocal  = "local"  // this session
	ScopeOthers = "others" // every other session of the user
	ScopeGlobal = "global" // every session of the user, this one included
)

// ErrBadScope is returned by Logout for an unknown scope.
var ErrBadScope = errors.New(`scope must be "local", "others" or "global"`)

// Logout ends sessions of the caller according to scope and returns how many it ended.
func (s *Service) Logout(ctx context.Context, sess *sessions.Session, scope string, c Client) (int, error) {
	var n int
	switch scope {
	case "", ScopeLocal:
		scope = ScopeLocal
		if err := s.sessions.Revoke(ctx, sess.ID); err != nil && !errors.Is(err, sessions.ErrNotFound) {
			return 0, err
		}
		n = 1
	case ScopeOthers, ScopeGlobal:
		except := sess.ID
		if scope == ScopeGlobal {
			except = ""
		}
		ids, err := s.sessions.RevokeUser(ctx, sess.UserID, except)
		if err != nil {
			return 0, err
		}
		n = len(ids)
	default:
		return 0, ErrBadScope
	}
	err := s.audit.Record(ctx, audit.Event{Type: audit.Logout, UserID: sess.UserID, SessionID: sess.ID, Actor: "user", IP: c.IP, UserAgent: c.UserAgent, Outcome: audit.Success, Reason: scope})
	return n, err
}

// RevokeOwnSession ends one of the caller's sessions. A session of another user is reported
// as not found.
func (s *Service) RevokeOwnSession(ctx context.Context, userID, sessionID string, c Client) error {
	target, err := s.sessions.Get(ctx, sessionID)
	if errors.Is(err, sessions.ErrInvalid) || (err == nil && target.UserID != userID) {
		return sessions.ErrNotFound
	}
	if err != nil {
		return err
	}
	if err := s.sessions.Revoke(ctx, sessionID); err != nil {
		return err
	}
	return s.audit.Record(ctx, audit.Event{Type: audit.SessionRevoked, UserID: userID, SessionID: sessionID, Actor: "user", IP: c.IP, UserAgent: c.UserAgent, Outcome: audit.Success})
}
