package accounts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/onetime"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

// Cross-domain sign-in (docs/cross-domain.md): a signed-in browser on one host of the
// deployment asks for a code bound to the handoff endpoint of another host, and that host
// redeems it for a new session of the same user. The code is a onetime code: 256 random
// bits, stored only as its SHA-256, consumed atomically (so of concurrent redemptions exactly
// one wins, on every backend), usable for HandoffTTL.

// HandoffTTL is how long a handoff code can be redeemed.
const HandoffTTL = 10 * time.Second

// handoffGrace is how much longer than HandoffTTL the store keeps a code (see StartHandoff).
const handoffGrace = time.Minute

// HandoffPath is the path every handoff target must have.
const HandoffPath = "/v1/handoff/complete"

// Errors of the handoff.
var (
	// ErrHandoffTarget is a target that is not one of the configured handoff targets.
	ErrHandoffTarget = errors.New("the target is not a configured handoff target")
	// ErrHandoffCode is every code that cannot be redeemed here: unknown, used, expired,
	// issued for another host, or for a user who can no longer sign in (the API's
	// invalid_grant; the audit event says which).
	ErrHandoffCode = errors.New("the handoff code is invalid, expired, used, or for another host")
	// ErrHandoffOff answers both steps when no handoff targets are configured.
	ErrHandoffOff = errors.New("cross-domain sign-in is not configured")
)

// ValidHandoffTarget checks one entry of handoff_targets: an absolute https URL (http only
// for localhost, *.localhost and loopback addresses, for development), whose path is exactly
// HandoffPath, with no user info, query or fragment.
func ValidHandoffTarget(target string) error {
	u, err := url.Parse(target)
	if err != nil {
		return fmt.Errorf("handoff target %q: %v", target, err)
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http", u.Host == "", u.Opaque != "":
		return fmt.Errorf("handoff target %q: want an absolute https URL", target)
	case u.Scheme == "http" && !loopbackHost(u.Hostname()):
		return fmt.Errorf("handoff target %q: http is only allowed for localhost and loopback addresses", target)
	case u.User != nil:
		return fmt.Errorf("handoff target %q: no user information allowed", target)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(target, "#"):
		return fmt.Errorf("handoff target %q: no query or fragment allowed", target)
	case u.Path != HandoffPath || u.RawPath != "":
		return fmt.Errorf("handoff target %q: the path must be exactly %s", target, HandoffPath)
	case u.String() != target:
		return fmt.Errorf("handoff target %q: not in canonical form (want %q)", target, u.String())
	}
	return nil
}

func loopbackHost(h string) bool {
	h = strings.ToLower(h)
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.IsLoopback()
}

// handoffState is what a handoff code carries.
type handoffState struct {
	UserID    string    `json:"user_id"`
	SessionID string    `json:"session_id"`
	Epoch     int64     `json:"epoch"`
	AMR       []string  `json:"amr"`
	ACR       string    `json:"acr"`
	AuthTime  time.Time `json:"auth_time"`
	Target    string    `json:"target"`
	// Expires is checked against the service's clock as well as the store's expiry (Redis
	// expires keys by its own clock).
	Expires time.Time `json:"expires"`
}

type handoffConfig struct {
	targets []string
	codes   *onetime.Codes
}

// WithHandoff enables cross-domain sign-in to targets (each valid for ValidHandoffTarget),
// with codes kept in store.
func (s *Service) WithHandoff(targets []string, store onetime.Store) error {
	var errs []error
	for _, t := range targets {
		if err := ValidHandoffTarget(t); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if len(targets) == 0 {
		s.handoff = nil
		return nil
	}
	s.handoff = &handoffConfig{targets: append([]string(nil), targets...), codes: onetime.New(store, s.now)}
	return nil
}

// HandoffTargetFor returns the configured target served at host (the Host of a request to
// HandoffPath), or "" when none is. This is how the receiving side knows its own URL,
// scheme included, behind a proxy that terminates TLS: from the configuration, never from
// the request's scheme or forwarding headers.
func (s *Service) HandoffTargetFor(host string) string {
	if s.handoff == nil {
		return ""
	}
	for _, t := range s.handoff.targets {
		u, err := url.Parse(t)
		if err != nil {
			continue
		}
		if strings.EqualFold(u.Host, host) {
			return t
		}
		// A default port may or may not be in the Host header.
		if h, p, err := net.SplitHostPort(host); err == nil && u.Port() == "" && strings.EqualFold(u.Host, h) &&
			((u.Scheme == "https" && p == "443") || (u.Scheme == "http" && p == "80")) {
			return t
		}
	}
	return ""
}

// StartHandoff issues a code that signs the session's user in at target, one of the
// configured targets compared exactly. Only a full session of an enabled user may hand off.
func (s *Service) StartHandoff(ctx context.Context, sess *sessions.Session, target string, c Client) (secret.Redacted, error) {
	if s.handoff == nil {
		return "", ErrHandoffOff
	}
	if err := RequireFull(sess); err != nil {
		return "", err
	}
	known := false
	for _, t := range s.handoff.targets {
		known = known || t == target
	}
	if !known {
		return "", ErrHandoffTarget
	}
	u, err := s.users.UserByID(ctx, sess.UserID)
	if errors.Is(err, users.ErrNotFound) || (err == nil && u.Disabled) {
		return "", sessions.ErrInvalid
	}
	if err != nil {
		return "", err
	}
	st := handoffState{UserID: u.ID, SessionID: sess.ID, Epoch: u.CredentialEpoch, AMR: sess.AMR, ACR: sess.ACR(), AuthTime: sess.AuthTime,
		Target: target, Expires: s.now().Add(HandoffTTL)}
	v, err := json.Marshal(st)
	if err != nil {
		return "", err
	}
	// The store keeps the code a little longer than it is valid, so that a late use is
	// recognised (and audited) as late rather than as unknown; Expires is the rule.
	code, err := s.handoff.codes.Issue(ctx, v, HandoffTTL+handoffGrace)
	if err != nil {
		return "", err
	}
	return code, s.audit.Record(ctx, audit.Event{Type: audit.HandoffStarted, UserID: u.ID, SessionID: sess.ID, Actor: "user",
		IP: c.IP, UserAgent: c.UserAgent, Outcome: audit.Success, Reason: target})
}

// CompleteHandoff redeems code at target (the URL the request arrived at; see
// HandoffTargetFor) and starts a new session for its user, in c's delivery, keeping the
// original session's amr and auth_time. Every refusal is ErrHandoffCode (audited as
// handoff.refused with the reason); attempts are charged to the client's per-IP sign-in
// bucket first.
func (s *Service) CompleteHandoff(ctx context.Context, code, target string, c Client) (*Result, error) {
	if s.handoff == nil {
		return nil, ErrHandoffOff
	}
	d, err := s.limiter.CheckIP(ctx, c.RateKey)
	if err != nil {
		return nil, err
	}
	if !d.Allowed {
		if s.refusals.First("handoff\x00"+c.RateKey, s.now()) {
			if err := s.handoffRefused(ctx, handoffState{}, "rate_limited", c); err != nil {
				return nil, err
			}
		}
		return nil, &RateLimitedError{RetryAfter: d.RetryAfter, Limit: d.Limit}
	}
	v, err := s.handoff.codes.Redeem(ctx, code)
	if errors.Is(err, onetime.ErrNotFound) {
		return nil, s.handoffRefused(ctx, handoffState{}, "unknown_or_used_code", c)
	}
	if err != nil {
		return nil, err
	}
	var st handoffState
	if err := json.Unmarshal(v, &st); err != nil {
		return nil, fmt.Errorf("handoff code state: %w", err)
	}
	switch {
	case !s.now().Before(st.Expires):
		return nil, s.handoffRefused(ctx, st, "expired", c)
	case target == "" || st.Target != target:
		return nil, s.handoffRefused(ctx, st, "wrong_target", c)
	}
	u, err := s.users.UserByID(ctx, st.UserID)
	switch {
	case errors.Is(err, users.ErrNotFound):
		return nil, s.handoffRefused(ctx, st, "unknown_user", c)
	case err != nil:
		return nil, err
	case u.Disabled:
		return nil, s.handoffRefused(ctx, st, "user_disabled", c)
	case u.CredentialEpoch != st.Epoch:
		return nil, s.handoffRefused(ctx, st, "credentials_changed", c)
	}
	// The session that asked must still be alive: signing out on the first host within the
	// code's life also stops the handoff.
	if _, err := s.sessions.Get(ctx, st.SessionID); errors.Is(err, sessions.ErrInvalid) || errors.Is(err, sessions.ErrNotFound) {
		return nil, s.handoffRefused(ctx, st, "session_ended", c)
	} else if err != nil {
		return nil, err
	}
	res, err := s.startSessionAt(ctx, u, st.AMR, st.AuthTime, c)
	if errors.Is(err, ErrInvalidCredentials) {
		return nil, s.handoffRefused(ctx, st, "user_changed", c)
	}
	if err != nil {
		return nil, err
	}
	res.RefreshCookie = c.RefreshCookie
	return res, s.audit.Record(ctx, audit.Event{Type: audit.HandoffCompleted, UserID: u.ID, SessionID: res.Session.ID, Actor: "user",
		IP: c.IP, UserAgent: c.UserAgent, Outcome: audit.Success, Reason: target})
}

// handoffRefused audits a refused redemption and returns ErrHandoffCode.
func (s *Service) handoffRefused(ctx context.Context, st handoffState, reason string, c Client) error {
	if err := s.audit.Record(ctx, audit.Event{Type: audit.HandoffRefused, UserID: st.UserID, SessionID: st.SessionID, Actor: "user",
		IP: c.IP, UserAgent: c.UserAgent, Outcome: audit.Failure, Reason: reason}); err != nil {
		return err
	}
	if reason == "rate_limited" {
		return nil
	}
	return fmt.Errorf("%w (%s)", ErrHandoffCode, reason)
}
