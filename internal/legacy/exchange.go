package legacy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/users"
	"github.com/gatehouse-auth/gatehouse/jws"
)

// Subject token types of RFC 8693 §3 that an exchange accepts.
const (
	TokenTypeAccess = "urn:ietf:params:oauth:token-type:access_token"
	TokenTypeID     = "urn:ietf:params:oauth:token-type:id_token"
	TokenTypeJWT    = "urn:ietf:params:oauth:token-type:jwt"
)

// ErrRefused is wrapped by every *Refusal: the API answers it as invalid_grant.
var ErrRefused = errors.New("legacy token refused")

// Refusal is why a legacy token was not exchanged. Reason is a stable code (the audit
// event's reason); Description says which check failed, for the error_description. Neither
// contains anything taken from the token.
type Refusal struct {
	Reason      string
	Description string
}

func (r *Refusal) Error() string { return "legacy token refused (" + r.Reason + "): " + r.Description }

// Unwrap makes a Refusal match ErrRefused.
func (r *Refusal) Unwrap() error { return ErrRefused }

// Refusal reasons (API: audit event reasons and metric labels).
const (
	ReasonMalformed     = "malformed"
	ReasonUnknownIssuer = "unknown_issuer"
	ReasonWindowClosed  = "window_closed"
	ReasonUnreachable   = "issuer_unreachable"
	ReasonUnknownKey    = "unknown_key"
	ReasonBadSignature  = "bad_signature"
	ReasonExpired       = "expired"
	ReasonNotYetValid   = "not_yet_valid"
	ReasonAudience      = "wrong_audience"
	ReasonType          = "wrong_type"
	ReasonUserDisabled  = "user_disabled"
	ReasonNoMatch       = "no_match"
	ReasonReplayed      = "replayed"
)

// Reasons lists every refusal reason, for metrics.
var Reasons = []string{ReasonMalformed, ReasonUnknownIssuer, ReasonWindowClosed, ReasonUnreachable, ReasonUnknownKey,
	ReasonBadSignature, ReasonExpired, ReasonNotYetValid, ReasonAudience, ReasonType, ReasonUserDisabled, ReasonNoMatch, ReasonReplayed}

func refuse(reason, format string, a ...any) *Refusal {
	return &Refusal{Reason: reason, Description: fmt.Sprintf(format, a...)}
}

// UserStore is what an exchange needs of the users.
type UserStore interface {
	UserByEmail(ctx context.Context, email string) (*users.User, error)
	CreateUser(ctx context.Context, u *users.User) error
}

// Sessions mints the session of an exchange (*accounts.Service).
type Sessions interface {
	CheckExchange(ctx context.Context, c accounts.Client) error
	StartFederated(ctx context.Context, u *users.User, authTime time.Time, c accounts.Client) (*accounts.Result, error)
}

// Config tunes the service; zero fields take the defaults.
type Config struct {
	// HTTPClient fetches discovery documents and key sets (default: a 5 s timeout).
	HTTPClient *http.Client
	// Leeway is the clock skew allowed on exp, nbf and iat (default 30 s, at most 5 min).
	Leeway time.Duration
	// MinRefetch is how often an issuer's keys may be fetched outside their max-age: on an
	// unknown kid, or while the issuer is down (default 10 s).
	MinRefetch time.Duration
}

// Service administers legacy issuers and exchanges their tokens.
type Service struct {
	store    Store
	ids      Identities
	users    UserStore
	sessions Sessions
	audit    *audit.Log
	log      *slog.Logger
	now      func() time.Time
	leeway   time.Duration
	keys     *keyCache
}

// New returns a Service.
func New(st Store, ids Identities, us UserStore, sess Sessions, al *audit.Log, log *slog.Logger, cfg Config, now func() time.Time) (*Service, error) {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = 30 * time.Second
	}
	if cfg.MinRefetch <= 0 {
		cfg.MinRefetch = 10 * time.Second
	}
	if cfg.Leeway < 0 || cfg.Leeway > jws.MaxLeeway {
		return nil, fmt.Errorf("legacy: leeway must be between 0 and %v", jws.MaxLeeway)
	}
	return &Service{store: st, ids: ids, users: us, sessions: sess, audit: al, log: log, now: now, leeway: cfg.Leeway,
		keys: newKeyCache(cfg.HTTPClient, now, cfg.MinRefetch)}, nil
}

// Exchange verifies a legacy token and starts a Gatehouse session for its user
// (docs/token-exchange.md, RFC 8693): amr ["fed"], auth_time the legacy sign-in's. typ is the RFC 8693
// subject_token_type. Every refusal is a *Refusal (audited with its reason); a rate-limited
// client gets *accounts.RateLimitedError; anything else is a store failure.
func (s *Service) Exchange(ctx context.Context, token, typ string, c accounts.Client) (*accounts.Result, error) {
	if err := s.sessions.CheckExchange(ctx, c); err != nil {
		return nil, err
	}
	res, ev, err := s.exchange(ctx, token, typ, c)
	var r *Refusal
	switch {
	case errors.As(err, &r):
		ev.Type, ev.Outcome, ev.Reason = EventRefused, audit.Failure, r.Reason
		if r.Reason == ReasonReplayed {
			ev.Type = EventReplayed
		}
	case err != nil:
		return nil, err
	default:
		ev.Type, ev.Outcome, ev.SessionID = EventExchanged, audit.Success, res.Session.ID
	}
	ev.Actor, ev.IP, ev.UserAgent = "user", c.IP, c.UserAgent
	if aerr := s.audit.Record(ctx, ev); aerr != nil {
		return nil, aerr
	}
	return res, err
}

// legacyClaims are the claims an exchange reads besides the registered ones.
type legacyClaims struct {
	email         string
	emailVerified bool
	authTime      *jws.NumericDate
}

func (s *Service) exchange(ctx context.Context, token, typ string, c accounts.Client) (*accounts.Result, audit.Event, error) {
	var ev audit.Event
	switch typ {
	case TokenTypeAccess, TokenTypeID, TokenTypeJWT:
	default:
		return nil, ev, refuse(ReasonType, "subject_token_type must be urn:ietf:params:oauth:token-type:access_token, id_token or jwt")
	}
	if len(token) > jws.MaxTokenSize {
		return nil, ev, refuse(ReasonMalformed, "subject_token is longer than %d bytes", jws.MaxTokenSize)
	}
	t, err := jws.ParseForeign(token)
	if err != nil {
		return nil, ev, refuse(ReasonMalformed, "subject_token is not a signed JWT Gatehouse accepts: %s", jwsReason(err))
	}
	// The issuer named by the (not yet verified) token only chooses which keys and checks
	// apply; they then decide.
	is, err := s.store.LegacyIssuerByIssuer(ctx, t.Claims.Issuer)
	if errors.Is(err, ErrNotFound) || t.Claims.Issuer == "" {
		return nil, ev, refuse(ReasonUnknownIssuer, "the token's issuer is not a registered legacy issuer")
	}
	if err != nil {
		return nil, ev, err
	}
	now := s.now()
	if !is.AcceptUntil.IsZero() && !now.Before(is.AcceptUntil) {
		return nil, ev, refuse(ReasonWindowClosed, "the migration window of this legacy issuer closed at %s", is.AcceptUntil.UTC().Format(time.RFC3339))
	}
	key, err := s.keys.key(ctx, is, t.Header.Kid)
	switch {
	case errors.Is(err, errUnreachable):
		s.log.WarnContext(ctx, "legacy issuer keys unreachable", "issuer", is.Issuer, "err", err.Error())
		return nil, ev, refuse(ReasonUnreachable, "the legacy issuer's keys could not be fetched; try again later")
	case errors.Is(err, jws.ErrUnknownKey):
		return nil, ev, refuse(ReasonUnknownKey, "the token's signing key (kid) is not in the legacy issuer's key set")
	case err != nil:
		return nil, ev, err
	}
	if t, err = jws.VerifyForeign(token, jws.Keys{key}, is.Algorithms); err != nil {
		if errors.Is(err, jws.ErrBadSignature) || errors.Is(err, jws.ErrUnsupportedAlg) || errors.Is(err, jws.ErrInvalidKey) || errors.Is(err, jws.ErrUnknownKey) {
			return nil, ev, refuse(ReasonBadSignature, "the token's signature or algorithm is not valid for this legacy issuer")
		}
		return nil, ev, refuse(ReasonMalformed, "subject_token is not a signed JWT Gatehouse accepts: %s", jwsReason(err))
	}
	if err := jws.ValidateForeign(t, is.Issuer, is.Audiences, now, s.leeway); err != nil {
		switch {
		case errors.Is(err, jws.ErrExpired):
			return nil, ev, refuse(ReasonExpired, "the token has expired (or has no exp)")
		case errors.Is(err, jws.ErrNotYetValid):
			return nil, ev, refuse(ReasonNotYetValid, "the token is not valid yet (nbf or iat in the future)")
		case errors.Is(err, jws.ErrAudience):
			return nil, ev, refuse(ReasonAudience, "the token's aud names none of the legacy issuer's audiences")
		}
		return nil, ev, refuse(ReasonMalformed, "the token's claims are not valid: %s", jwsReason(err))
	}
	sub := t.Claims.Subject
	if sub == "" || len(sub) > 255 {
		return nil, ev, refuse(ReasonMalformed, "the token has no sub (or one longer than 255 bytes)")
	}
	raw := map[string]json.RawMessage{}
	if err := json.Unmarshal(t.Claims.Raw, &raw); err != nil {
		return nil, ev, refuse(ReasonMalformed, "the token's claims are not a JSON object")
	}
	kind, ok := tokenKind(t, raw)
	switch {
	case !ok:
		return nil, ev, refuse(ReasonType, "the token's typ header says it is neither an access token nor an ID token")
	case typ == TokenTypeAccess && kind != TypeAccessToken, typ == TokenTypeID && kind != TypeIDToken:
		return nil, ev, refuse(ReasonType, "the token is an %s, not what subject_token_type says", kind)
	case !is.accepts(kind):
		return nil, ev, refuse(ReasonType, "this legacy issuer's %s tokens are not exchanged (token_types)", kind)
	}
	lc, err := readClaims(raw, is.Claims)
	if err != nil {
		return nil, ev, refuse(ReasonMalformed, "%v", err)
	}

	u, how, err := s.match(ctx, is, sub, lc)
	if err != nil {
		return nil, ev, err
	}
	if u != nil {
		ev.UserID = u.ID
		if u.Disabled {
			return nil, ev, refuse(ReasonUserDisabled, "the user of this token is disabled")
		}
	}

	// One exchange per token, marked before anything is written: of two concurrent
	// exchanges of one token exactly one gets past this line.
	first, err := s.store.MarkLegacyToken(ctx, replayKey(is.Issuer, t.Claims.ID, token), t.Claims.Expiry.Time().Add(s.leeway), now)
	if err != nil {
		return nil, ev, err
	}
	if !first {
		return nil, ev, refuse(ReasonReplayed, "this legacy token was already exchanged")
	}

	if how == matchCreate {
		if u, err = s.createUser(ctx, lc, c); err != nil {
			return nil, ev, err
		}
		ev.UserID = u.ID
	}
	if how != MatchIdentity {
		if err := s.link(ctx, is.Issuer, sub, u); err != nil {
			return nil, ev, err
		}
	}
	authTime := now
	switch {
	case lc.authTime != nil:
		authTime = lc.authTime.Time()
	case t.Claims.IssuedAt != nil:
		authTime = t.Claims.IssuedAt.Time()
	}
	if authTime.After(now) { // within the leeway; a sign-in cannot be in the future
		authTime = now
	}
	res, err := s.sessions.StartFederated(ctx, u, authTime, c)
	if errors.Is(err, accounts.ErrInvalidCredentials) {
		return nil, ev, refuse(ReasonUserDisabled, "the user of this token is disabled or was deleted")
	}
	return res, ev, err
}

// matchCreate is match's answer when no user matched and one is to be created.
const matchCreate = "create"

// match finds the user of a legacy token by the issuer's match list. It returns the user and
// the method that found it (MatchIdentity, MatchEmail), or matchCreate when none matched and
// the issuer creates users, or a *Refusal.
func (s *Service) match(ctx context.Context, is *Issuer, sub string, lc legacyClaims) (*users.User, string, error) {
	for _, m := range is.Match {
		var u *users.User
		var err error
		switch m {
		case MatchIdentity:
			u, err = s.ids.UserByIdentity(ctx, is.Issuer, sub)
		case MatchEmail:
			if lc.email == "" || !lc.emailVerified {
				continue // an unverified email proves nothing about who owns the account
			}
			u, err = s.users.UserByEmail(ctx, lc.email)
		}
		if errors.Is(err, users.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		return u, m, nil
	}
	if !is.CreateUsers {
		return nil, "", refuse(ReasonNoMatch, "no user matches this token and the legacy issuer does not create users")
	}
	if lc.email == "" {
		return nil, "", refuse(ReasonNoMatch, "no user matches this token, and it has no email to create one with")
	}
	if !lc.emailVerified {
		// Creating a user with an address another account holds would fail; say so plainly.
		if _, err := s.users.UserByEmail(ctx, lc.email); err == nil {
			return nil, "", refuse(ReasonNoMatch, "an account with the token's email exists, but the token does not say the email is verified")
		} else if !errors.Is(err, users.ErrNotFound) {
			return nil, "", err
		}
	}
	return nil, matchCreate, nil
}

// createUser creates the password-less user of a legacy token (just-in-time migration).
func (s *Service) createUser(ctx context.Context, lc legacyClaims, c accounts.Client) (*users.User, error) {
	now := s.now()
	u := &users.User{ID: secret.NewID(), Email: lc.email, EmailVerified: lc.emailVerified, CreatedAt: now, UpdatedAt: now}
	err := s.users.CreateUser(ctx, u)
	if errors.Is(err, users.ErrEmailTaken) {
		return nil, refuse(ReasonNoMatch, "no user is linked to this token, and its email belongs to (or looks like) another account")
	}
	if err != nil {
		return nil, err
	}
	if err := s.audit.Record(ctx, audit.Event{Type: audit.UserSignup, UserID: u.ID, Actor: "user", IP: c.IP, UserAgent: c.UserAgent,
		Outcome: audit.Success, Reason: "legacy_token"}); err != nil {
		return nil, err
	}
	return u, nil
}

// link records issuer+sub → u so the next token of that subject matches by identity. When
// the identity was linked meanwhile to another user (a concurrent exchange of another token
// of the same subject), that user is the one.
func (s *Service) link(ctx context.Context, issuer, sub string, u *users.User) error {
	lerr := s.ids.LinkIdentity(ctx, users.Identity{Issuer: issuer, Subject: sub, UserID: u.ID, CreatedAt: s.now()})
	if errors.Is(lerr, users.ErrIdentityTaken) {
		lerr = nil // linked meanwhile to another user: the re-read below says who
	}
	cur, err := s.ids.UserByIdentity(ctx, issuer, sub)
	if err != nil {
		if lerr != nil {
			return lerr
		}
		return err
	}
	if cur.ID != u.ID {
		return refuse(ReasonNoMatch, "this token's identity is linked to another user")
	}
	return nil
}

// replayKey is what marks a token as exchanged: its issuer and jti, else a hash of the whole
// token (a token without jti is only the same token when it is byte for byte the same).
func replayKey(issuer, jti, token string) string {
	var h [32]byte
	if jti != "" {
		h = sha256.Sum256([]byte("jti\x00" + issuer + "\x00" + jti))
	} else {
		h = sha256.Sum256([]byte("token\x00" + token))
	}
	return hex.EncodeToString(h[:])
}

// tokenKind tells an access token from an ID token: Cognito's token_use claim, then the
// header typ (at+jwt is an RFC 9068 access token; only JWT or none otherwise), then the
// claims only access tokens carry (scope, scp, client_id). ok is false for a typ of another
// kind of token (logout+jwt, dpop+jwt, ...).
func tokenKind(t *jws.Token, raw map[string]json.RawMessage) (kind string, ok bool) {
	var use string
	if json.Unmarshal(raw["token_use"], &use) == nil {
		switch use {
		case "access":
			return TypeAccessToken, true
		case "id":
			return TypeIDToken, true
		}
	}
	typ := strings.ToLower(t.Header.Typ)
	typ = strings.TrimPrefix(typ, "application/")
	switch typ {
	case "at+jwt":
		return TypeAccessToken, true
	case "", "jwt":
	default:
		return "", false
	}
	for _, c := range []string{"scope", "scp", "client_id"} {
		if _, has := raw[c]; has {
			return TypeAccessToken, true
		}
	}
	return TypeIDToken, true
}

// readClaims reads the mapped email, email_verified and auth_time. email_verified may be a
// boolean or the string "true"/"false" (as Cognito sends it).
func readClaims(raw map[string]json.RawMessage, names ClaimNames) (legacyClaims, error) {
	var lc legacyClaims
	if v, ok := raw[names.Email]; ok && string(v) != "null" {
		var e string
		if err := json.Unmarshal(v, &e); err != nil {
			return lc, errors.New("the token's email claim is not a string")
		}
		if e != "" {
			norm, err := users.NormalizeEmail(e)
			if err != nil {
				return lc, errors.New("the token's email claim is not an address Gatehouse accepts")
			}
			lc.email = norm
		}
	}
	if v, ok := raw[names.EmailVerified]; ok {
		switch string(v) {
		case "true", `"true"`:
			lc.emailVerified = true
		case "false", `"false"`, "null":
		default:
			return lc, errors.New("the token's email_verified claim is not a boolean")
		}
	}
	if v, ok := raw["auth_time"]; ok {
		var d jws.NumericDate
		if err := json.Unmarshal(v, &d); err != nil {
			return lc, errors.New("the token's auth_time claim is not a NumericDate")
		}
		lc.authTime = &d
	}
	return lc, nil
}

// jwsReason turns a jws error into a short description without anything from the token.
func jwsReason(err error) string {
	switch {
	case errors.Is(err, jws.ErrTooLarge):
		return "too large"
	case errors.Is(err, jws.ErrUnsupportedAlg):
		return "its algorithm is not supported"
	case errors.Is(err, jws.ErrMalformed):
		return "malformed (three base64url parts, a header of alg, kid, typ, cty and x5c/x5t only, a JSON claim set)"
	}
	return "invalid"
}

// sweepBatch is how many replay marks one delete statement removes at most, so that no
// statement holds SQLite's one write lock for long.
const sweepBatch = 1000

// SweepMarks deletes the replay marks of exchanged tokens that have expired (each mark is kept
// until its token would have expired, leeway included; after that the token is refused as
// expired before its mark is looked at), a batch per statement until a batch comes back short
// or ctx ends, and returns how many it deleted. Run it periodically: the marks otherwise grow
// with every exchange for ever.
func (s *Service) SweepMarks(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := s.store.DeleteExpiredLegacyMarks(ctx, s.now(), sweepBatch)
		total += n
		if err != nil || n < sweepBatch {
			return total, err
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}
