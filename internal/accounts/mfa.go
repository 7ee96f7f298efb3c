package accounts

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/mfa"
	"github.com/gatehouse-auth/gatehouse/internal/passkeys"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

// MFA policies (config "mfa"; docs/security.md "Second factors").
const (
	// MFAOptional asks every user who enrolled a factor for it at every sign-in.
	MFAOptional = "optional"
	// MFARequired also makes users without a factor enrol before they get a full session.
	MFARequired = "required"
	// MFAAdaptive asks enrolled users only when a sign-in looks risky (see RiskSignals).
	MFAAdaptive = "adaptive"
)

// ValidMFAPolicy reports whether p names a policy ("" means MFAOptional).
func ValidMFAPolicy(p string) bool {
	switch p {
	case "", MFAOptional, MFARequired, MFAAdaptive:
		return true
	}
	return false
}

// RecentAuth is how recent a session's auth_time must be for a sensitive operation (removing
// a factor, new recovery codes): older answers ErrStepUpRequired.
const RecentAuth = 10 * time.Minute

// Errors of the second-factor steps.
var (
	// ErrMFAToken is every mfa_token that cannot be used (mfa.ErrChallenge).
	ErrMFAToken = mfa.ErrChallenge
	// ErrStepUpRequired refuses a sensitive operation on a session whose auth_time is older
	// than RecentAuth.
	ErrStepUpRequired = errors.New("a recent sign-in is required: step up first")
	// ErrEnrolmentOnly refuses a session limited to enrolment anywhere but enrolment.
	ErrEnrolmentOnly = errors.New("this session may only enrol a second factor")
	// ErrNoProof is a second-factor request that carries no proof, or more than one.
	ErrNoProof = errors.New("send exactly one of code, recovery_code or credential")
)

// MFARequiredError answers a correct password of a user who must present a second factor:
// the HTTP layer answers 403 mfa_required with the token and methods.
type MFARequiredError struct {
	Token   secret.Redacted
	Methods []string
}

func (e *MFARequiredError) Error() string { return "a second factor is required" }

// EnrolmentRequiredError answers a correct password of a user without a factor under the
// "required" policy: Result holds a session limited to enrolment (cookie or session token,
// never access or refresh tokens).
type EnrolmentRequiredError struct{ Result *Result }

func (e *EnrolmentRequiredError) Error() string { return "a second factor must be enrolled first" }

// Proof is a second factor as the client presents it; exactly one field is set.
type Proof struct {
	Code         string // TOTP
	RecoveryCode string
	Credential   []byte // a WebAuthn assertion (JSON), for a passkey factor

	// Set by the service, never from the request: what a passkey ceremony was bound to
	// (passkey_mfa.go), and who presents the proof.
	binding string
	client  Client
}

func (p Proof) count() int {
	n := 0
	for _, set := range []bool{p.Code != "", p.RecoveryCode != "", len(p.Credential) > 0} {
		if set {
			n++
		}
	}
	return n
}

// Verified is a proof a Factor accepted.
type Verified struct {
	// AMR are the RFC 8176 methods the proof adds ("otp", "hwk", ...); "mfa" is added by the
	// caller.
	AMR []string
	// Method is the name the client used ("totp", "recovery_code", "passkey").
	Method string
	// RecoveryLeft is how many recovery codes remain after a recovery code was used; -1
	// otherwise.
	RecoveryLeft int
}

// Factor is a kind of second factor that sign-in and step-up can ask for. TOTP and recovery
// codes are built in (WithMFA); passkeys add theirs with AddFactor. A Factor charges
// mfa.Attempts itself for every proof it checks (the per-user limit across every path).
type Factor interface {
	// Methods returns the method names userID can use now (e.g. "totp"), and whether one of
	// them is a factor in its own right (recovery codes alone are not: they back others up).
	Methods(ctx context.Context, userID string) (methods []string, enrolled bool, err error)
	// Verify checks p for userID. handled is false when p is not for this factor. Wrong
	// proofs wrap mfa.ErrInvalidCode; a spent per-user limit is a *mfa.LimitedError.
	Verify(ctx context.Context, userID string, p Proof) (v Verified, handled bool, err error)
}

// MFAConfig is what second factors need.
type MFAConfig struct {
	Policy     string // MFAOptional when empty
	TOTP       *mfa.Service
	Challenges *mfa.Challenges
	// Signals keeps the adaptive policy's markers (networks an account signed in from,
	// recent failures); the rate-limit store, shared by every instance with Redis.
	Signals mfa.LimitStore
	// DeviceKey signs device cookies (32 bytes, not stored in the database).
	DeviceKey []byte
}

type mfaState struct {
	policy     string
	totp       *mfa.Service
	challenges *mfa.Challenges
	factors    []Factor
	passkeys   *passkeys.Service // nil: passkeys are not a second factor (WithPasskeyFactor)
	signals    mfa.LimitStore
	deviceKey  []byte
}

// WithMFA enables second factors. Without it, sign-in is password only and the MFA
// operations answer mfa.ErrNotEnrolled.
func (s *Service) WithMFA(cfg MFAConfig) error {
	var errs []error
	if !ValidMFAPolicy(cfg.Policy) {
		errs = append(errs, fmt.Errorf("mfa: policy %q: want optional, required or adaptive", cfg.Policy))
	}
	if cfg.TOTP == nil || cfg.Challenges == nil {
		errs = append(errs, errors.New("mfa: the TOTP service and the challenges are required"))
	}
	if len(cfg.DeviceKey) < 32 {
		errs = append(errs, errors.New("mfa: the device-cookie key must be at least 32 bytes"))
	}
	if cfg.Policy == MFAAdaptive && cfg.Signals == nil {
		errs = append(errs, errors.New("mfa: the adaptive policy needs a store for its signals"))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if cfg.Policy == "" {
		cfg.Policy = MFAOptional
	}
	s.mfa = &mfaState{policy: cfg.Policy, totp: cfg.TOTP, challenges: cfg.Challenges, signals: cfg.Signals, deviceKey: cfg.DeviceKey,
		factors: []Factor{totpFactor{cfg.TOTP}}}
	return nil
}

// AddFactor adds a second factor (passkeys) after the built-in ones. Call it before serving.
func (s *Service) AddFactor(f Factor) {
	if s.mfa != nil {
		s.mfa.factors = append(s.mfa.factors, f)
	}
}

// MFAPolicy returns the policy in force ("" when MFA is not enabled).
func (s *Service) MFAPolicy() string {
	if s.mfa == nil {
		return ""
	}
	return s.mfa.policy
}

// TOTP returns the TOTP service (nil when MFA is not enabled).
func (s *Service) TOTP() *mfa.Service {
	if s.mfa == nil {
		return nil
	}
	return s.mfa.totp
}

// totpFactor is the built-in factor: an authenticator app and the recovery codes.
type totpFactor struct{ svc *mfa.Service }

func (f totpFactor) Methods(ctx context.Context, userID string) ([]string, bool, error) {
	st, err := f.svc.Status(ctx, userID)
	if err != nil {
		return nil, false, err
	}
	var m []string
	if st.TOTP {
		m = append(m, "totp")
	}
	if st.RecoveryCodes > 0 {
		m = append(m, "recovery_code")
	}
	return m, st.TOTP, nil
}

func (f totpFactor) Verify(ctx context.Context, userID string, p Proof) (Verified, bool, error) {
	switch {
	case p.Code != "":
		return Verified{AMR: []string{"otp"}, Method: "totp", RecoveryLeft: -1}, true, f.svc.Verify(ctx, userID, p.Code)
	case p.RecoveryCode != "":
		left, err := f.svc.UseRecoveryCode(ctx, userID, p.RecoveryCode)
		return Verified{Method: "recovery_code", RecoveryLeft: left}, true, err
	}
	return Verified{}, false, nil
}

// methods returns the second-factor methods of userID and whether the user enrolled a factor.
func (s *Service) methods(ctx context.Context, userID string) ([]string, bool, error) {
	var all []string
	enrolled := false
	for _, f := range s.mfa.factors {
		m, e, err := f.Methods(ctx, userID)
		if err != nil {
			return nil, false, err
		}
		all, enrolled = append(all, m...), enrolled || e
	}
	return all, enrolled, nil
}

// verify checks p with the factor it is for; at most one proof is looked at.
func (s *Service) verify(ctx context.Context, userID string, p Proof) (Verified, error) {
	if p.count() != 1 {
		return Verified{}, ErrNoProof
	}
	for _, f := range s.mfa.factors {
		v, handled, err := f.Verify(ctx, userID, p)
		if handled {
			return v, err
		}
	}
	// A proof of a kind no factor here takes (a passkey before passkeys are wired) is
	// simply wrong: the same answer as a wrong code.
	return Verified{}, mfa.ErrNotEnrolled
}

// pending is the first step's state kept with an mfa_token (mfa.Challenge.Data).
type pending struct {
	Epoch         int64    `json:"epoch"`
	RefreshCookie bool     `json:"refresh_cookie,omitempty"`
	Risk          []string `json:"risk,omitempty"`
}

func deliveryName(d Delivery) string {
	if d == DeliverTokens {
		return "token"
	}
	return "cookie"
}

func (c Client) binding() mfa.Binding {
	a, _ := netip.ParseAddr(c.IP)
	return mfa.Binding{Delivery: deliveryName(c.Delivery), IPClass: mfa.IPClass(a), UserAgent: c.UserAgent}
}

// afterPassword decides, once the password of u is right, between a session, an mfa_token
// (MFARequiredError) and a session limited to enrolment (EnrolmentRequiredError).
func (s *Service) afterPassword(ctx context.Context, u *users.User, c Client) (*Result, error) {
	if s.mfa == nil {
		return s.startSession(ctx, u, []string{"pwd"}, c)
	}
	methods, enrolled, err := s.methods(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	switch {
	case !enrolled && s.mfa.policy == MFARequired:
		return s.enrolmentSession(ctx, u, c)
	case !enrolled:
		return s.fullSession(ctx, u, []string{"pwd"}, c)
	}
	var risk []string
	if s.mfa.policy == MFAAdaptive {
		if risk, err = s.riskSignals(ctx, u.ID, c); err != nil {
			return nil, err
		}
		outcome := "mfa_required"
		if len(risk) == 0 {
			outcome = "no_mfa"
		}
		if err := s.audit.Record(ctx, audit.Event{Type: audit.LoginRisk, UserID: u.ID, Actor: "user", IP: c.IP, UserAgent: c.UserAgent,
			Outcome: outcome, Reason: riskReason(risk)}); err != nil {
			return nil, err
		}
		if len(risk) == 0 {
			return s.fullSession(ctx, u, []string{"pwd"}, c)
		}
	}
	data, _ := json.Marshal(pending{Epoch: u.CredentialEpoch, RefreshCookie: c.RefreshCookie, Risk: risk})
	tok, err := s.mfa.challenges.Issue(ctx, u.ID, c.binding(), data)
	if err != nil {
		return nil, err
	}
	return nil, &MFARequiredError{Token: tok, Methods: methods}
}

func riskReason(signals []string) string {
	if len(signals) == 0 {
		return "none"
	}
	return strings.Join(signals, ",")
}

// LoginMFA finishes a sign-in with the mfa_token of the first step and a second factor: the
// answer is what the first step would have given without MFA, in the same delivery. c must
// come from the same network and user agent, and ask for the same delivery.
//
// Order: the token is checked (not consumed), the factor verified (charging the per-user
// limit), then the token consumed; only if that consume wins, and the user is still enabled
// with the credentials of the first step, is a session minted.
func (s *Service) LoginMFA(ctx context.Context, token string, p Proof, c Client) (*Result, error) {
	if s.mfa == nil {
		return nil, ErrMFAToken
	}
	if p.count() != 1 {
		return nil, ErrNoProof
	}
	ch, err := s.mfa.challenges.Challenge(ctx, token, c.binding())
	if err != nil {
		return nil, err
	}
	var st pending
	if err := json.Unmarshal(ch.Data, &st); err != nil {
		return nil, fmt.Errorf("mfa_token state: %w", err)
	}
	c.RefreshCookie = st.RefreshCookie
	p.binding, p.client = mfaPasskeyBinding(token), c
	v, err := s.verify(ctx, ch.UserID, p)
	if err != nil {
		if isWrongFactor(err) {
			if _, ferr := s.mfa.challenges.Fail(ctx, ch); ferr != nil && !errors.Is(ferr, mfa.ErrChallenge) {
				return nil, ferr
			}
		}
		return nil, s.factorFailed(ctx, ch.UserID, "", err, c)
	}
	if err := s.mfa.challenges.Consume(ctx, ch); err != nil {
		return nil, err
	}
	u, err := s.users.UserByID(ctx, ch.UserID)
	if errors.Is(err, users.ErrNotFound) || (err == nil && (u.Disabled || u.CredentialEpoch != st.Epoch)) {
		return nil, ErrInvalidCredentials
	}
	if err != nil {
		return nil, err
	}
	if err := s.factorUsed(ctx, u.ID, "", v, c); err != nil {
		return nil, err
	}
	return s.fullSession(ctx, u, amrWith([]string{"pwd"}, v), c)
}

// amrWith adds the methods of v and "mfa" to amr, without duplicates.
func amrWith(amr []string, v Verified) []string {
	out := slices.Clone(amr)
	for _, m := range append(slices.Clone(v.AMR), "mfa") {
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// isWrongFactor reports whether err is the user's wrong answer (as opposed to a limit, a
// malformed request or an outage).
func isWrongFactor(err error) bool {
	return errors.Is(err, mfa.ErrInvalidCode) || errors.Is(err, mfa.ErrNotEnrolled) || errors.Is(err, mfa.ErrMalformedCode)
}

// factorFailed audits a refused second factor and returns the error the client gets: wrong,
// replayed, malformed codes and factors the user does not have are all mfa.ErrInvalidCode
// (one answer, so that it never tells which factors exist); a spent limit is a
// RateLimitedError.
func (s *Service) factorFailed(ctx context.Context, userID, sessionID string, err error, c Client) error {
	var lim *mfa.LimitedError
	reason := ""
	switch {
	case errors.As(err, &lim):
		reason = "rate_limited"
	case errors.Is(err, mfa.ErrReplayedCode):
		reason = "replayed_code"
	case errors.Is(err, mfa.ErrMalformedCode):
		reason = "malformed_code"
	case errors.Is(err, mfa.ErrNotEnrolled):
		reason = "not_enrolled"
	case errors.Is(err, mfa.ErrInvalidCode):
		reason = "wrong_code"
	case errors.Is(err, ErrNoProof):
		return err
	default:
		return err // an outage: fail closed, nothing to audit as the user's doing
	}
	if reason != "malformed_code" {
		s.noteFailure(ctx, userID)
	}
	if aerr := s.audit.Record(ctx, audit.Event{Type: audit.MFAChallengeFailed, UserID: userID, SessionID: sessionID, Actor: "user",
		IP: c.IP, UserAgent: c.UserAgent, Outcome: audit.Failure, Reason: reason}); aerr != nil {
		return aerr
	}
	if lim != nil {
		return &RateLimitedError{RetryAfter: lim.RetryAfter, Limit: "mfa"}
	}
	return mfa.ErrInvalidCode
}

// factorUsed audits the use of a recovery code (with how many are left).
func (s *Service) factorUsed(ctx context.Context, userID, sessionID string, v Verified, c Client) error {
	if v.Method != "recovery_code" {
		return nil
	}
	return s.audit.Record(ctx, audit.Event{Type: audit.RecoveryCodeUsed, UserID: userID, SessionID: sessionID, Actor: "user",
		IP: c.IP, UserAgent: c.UserAgent, Outcome: audit.Success, Reason: fmt.Sprintf("remaining_%d", v.RecoveryLeft)})
}

// fullSession starts a session and, under the adaptive policy, remembers the device (a
// cookie, set only then) and the network.
func (s *Service) fullSession(ctx context.Context, u *users.User, amr []string, c Client) (*Result, error) {
	res, err := s.startSession(ctx, u, amr, c)
	if err != nil {
		return nil, err
	}
	res.RefreshCookie = c.RefreshCookie
	if s.mfa != nil && s.mfa.policy == MFAAdaptive {
		res.Device = s.deviceCookie(u.ID, c.Device)
		s.markNetwork(ctx, u.ID, c)
	}
	return res, nil
}

// enrolmentSession starts a session limited to enrolment (policy "required").
func (s *Service) enrolmentSession(ctx context.Context, u *users.User, c Client) (*Result, error) {
	c.Delivery = DeliverCookie // never access or refresh tokens: they would escape the limit
	c.purpose = sessions.PurposeMFAEnrolment
	res, err := s.startSession(ctx, u, []string{"pwd"}, c)
	if err != nil {
		return nil, err
	}
	if err := s.audit.Record(ctx, audit.Event{Type: audit.MFAEnrolmentRequired, UserID: u.ID, SessionID: res.Session.ID, Actor: "user",
		IP: c.IP, UserAgent: c.UserAgent, Outcome: audit.Success}); err != nil {
		return nil, err
	}
	return nil, &EnrolmentRequiredError{Result: res}
}

// ---- adaptive policy

// Risk signals (the reasons of a login.risk event).
const (
	RiskNewDevice      = "new_device"
	RiskNewNetwork     = "new_network"
	RiskRecentFailures = "recent_failures"
	// RiskNewUserAgent is a user-agent family (UserAgentFamily) the account has not signed
	// in with for 30 days.
	RiskNewUserAgent = "new_user_agent"
)

var (
	// knownNetwork marks a network (or a user-agent family) as known for an account for 30
	// days after a sign-in from it: a one-token bucket that a success empties (as ratelimit
	// marks known IPs).
	knownNetwork = ratelimit.Limit{Burst: 1, Per: 30 * 24 * time.Hour}
	// recentFailure marks an account for a day after a wrong password or second factor.
	recentFailure = ratelimit.Limit{Burst: 1, Per: 24 * time.Hour}
)

func networkKey(userID string, c Client) string {
	a, _ := netip.ParseAddr(c.IP)
	return "mfanet:" + userID + ":" + mfa.IPClass(a)
}

func userAgentKey(userID string, c Client) string {
	return "mfaua:" + userID + ":" + UserAgentFamily(c.UserAgent)
}

// riskSignals lists what makes this sign-in risky: no valid device cookie for the user, a
// network (/24, /48) or a user-agent family the account has not signed in from for 30 days,
// failures in the last day. Store failures fail closed (the caller answers 503).
func (s *Service) riskSignals(ctx context.Context, userID string, c Client) ([]string, error) {
	var out []string
	if !s.validDevice(userID, c.Device) {
		out = append(out, RiskNewDevice)
	}
	now := s.now()
	r, err := s.mfa.signals.Peek(ctx, networkKey(userID, c), knownNetwork, now)
	if err != nil {
		return nil, err
	}
	if r.Allowed { // the marker is full: no sign-in from here lately
		out = append(out, RiskNewNetwork)
	}
	if r, err = s.mfa.signals.Peek(ctx, userAgentKey(userID, c), knownNetwork, now); err != nil {
		return nil, err
	}
	if r.Allowed {
		out = append(out, RiskNewUserAgent)
	}
	if r, err = s.mfa.signals.Peek(ctx, "mfafail:"+userID, recentFailure, now); err != nil {
		return nil, err
	}
	if !r.Allowed {
		out = append(out, RiskRecentFailures)
	}
	return out, nil
}

// markNetwork makes the client's network and user-agent family known for the account (best
// effort: a failure only means the next sign-in from it is asked for a second factor).
func (s *Service) markNetwork(ctx context.Context, userID string, c Client) {
	if s.mfa.signals == nil {
		return
	}
	for _, key := range []string{networkKey(userID, c), userAgentKey(userID, c)} {
		err := s.mfa.signals.Reset(ctx, key)
		if err == nil {
			_, err = s.mfa.signals.Allow(ctx, key, knownNetwork, s.now())
		}
		if err != nil {
			s.log.WarnContext(ctx, "could not remember a sign-in network or browser", "user", userID, "err", err)
		}
	}
}

// noteFailure marks a recent failure on the account (best effort).
func (s *Service) noteFailure(ctx context.Context, userID string) {
	if s.mfa == nil || s.mfa.signals == nil || userID == "" {
		return
	}
	if _, err := s.mfa.signals.Allow(ctx, "mfafail:"+userID, recentFailure, s.now()); err != nil {
		s.log.WarnContext(ctx, "could not record a failed sign-in for the adaptive policy", "user", userID, "err", err)
	}
}

// Device cookies: "<device id>.<mac>", the MAC (HMAC-SHA-256, truncated to 128 bits) over
// the device id and the user id. Binding the user means a device cookie obtained by signing
// in to one's own account does not make a sign-in to someone else's look familiar.
func (s *Service) deviceMAC(userID, deviceID string) string {
	m := hmac.New(sha256.New, s.mfa.deviceKey)
	m.Write([]byte("gatehouse device v1\x00" + userID + "\x00" + deviceID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

func (s *Service) validDevice(userID, cookie string) bool {
	id, mac, ok := strings.Cut(cookie, ".")
	if !ok || !secret.ValidID(id) {
		return false
	}
	return hmac.Equal([]byte(mac), []byte(s.deviceMAC(userID, id)))
}

// deviceCookie returns the device cookie to set after a sign-in of userID: the browser keeps
// its device id (if it had a well-formed one) and gets it signed for this user.
func (s *Service) deviceCookie(userID, prev string) string {
	id, _, _ := strings.Cut(prev, ".")
	if !secret.ValidID(id) {
		id = secret.NewID()
	}
	return id + "." + s.deviceMAC(userID, id)
}

// ---- step-up and enrolment (a session is required)

// StepUp checks a second factor on an existing session and replaces the session with a new
// one (a new id; the old one ends) whose amr includes the factor and "mfa", acr raised and
// auth_time now, in the same delivery (c.Delivery, c.RefreshCookie).
func (s *Service) StepUp(ctx context.Context, sess *sessions.Session, p Proof, c Client) (*Result, error) {
	if s.mfa == nil {
		return nil, mfa.ErrNotEnrolled
	}
	if sess.Purpose != "" {
		return nil, ErrEnrolmentOnly
	}
	if p.count() != 1 {
		return nil, ErrNoProof
	}
	p.binding, p.client = stepUpPasskeyBinding(sess.ID), c
	v, err := s.verify(ctx, sess.UserID, p)
	if err != nil {
		return nil, s.factorFailed(ctx, sess.UserID, sess.ID, err, c)
	}
	u, err := s.users.UserByID(ctx, sess.UserID)
	if errors.Is(err, users.ErrNotFound) || (err == nil && u.Disabled) {
		return nil, sessions.ErrInvalid
	}
	if err != nil {
		return nil, err
	}
	if err := s.factorUsed(ctx, u.ID, sess.ID, v, c); err != nil {
		return nil, err
	}
	res, err := s.fullSession(ctx, u, amrWith(sess.AMR, v), c)
	if err != nil {
		return nil, err
	}
	if err := s.sessions.Revoke(ctx, sess.ID); err != nil && !errors.Is(err, sessions.ErrNotFound) {
		return nil, err
	}
	return res, s.audit.Record(ctx, audit.Event{Type: audit.StepUp, UserID: u.ID, SessionID: res.Session.ID, Actor: "user",
		IP: c.IP, UserAgent: c.UserAgent, Outcome: audit.Success, Reason: v.Method})
}

// RequireRecent refuses (ErrStepUpRequired) a sensitive operation on a session that signed
// in RecentAuth or more ago, or whose auth_time lies more than a minute in the future. It is
// the one rule every sensitive operation uses (factors, passkeys, password, account deletion).
func (s *Service) RequireRecent(sess *sessions.Session) error {
	if d := s.now().Sub(sess.AuthTime); d < -time.Minute || d >= RecentAuth {
		return ErrStepUpRequired
	}
	return nil
}

// RequireFull refuses a session limited to enrolment.
func RequireFull(sess *sessions.Session) error {
	if sess.Purpose != "" {
		return ErrEnrolmentOnly
	}
	return nil
}

// MFAStatus is what GET /v1/mfa shows: factors, never secrets.
func (s *Service) MFAStatus(ctx context.Context, userID string) (mfa.Status, error) {
	if s.mfa == nil {
		return mfa.Status{}, nil
	}
	return s.mfa.totp.Status(ctx, userID)
}

// EnrolTOTP starts enrolling an authenticator app for the session's user.
func (s *Service) EnrolTOTP(ctx context.Context, sess *sessions.Session) (*mfa.Enrolment, error) {
	if s.mfa == nil {
		return nil, mfa.ErrNotEnrolled
	}
	u, err := s.users.UserByID(ctx, sess.UserID)
	if err != nil {
		return nil, err
	}
	return s.mfa.totp.Enrol(ctx, u.ID, u.Email)
}

// ConfirmTOTP completes the enrolment with a first code and returns the recovery codes. A
// factor change ends the user's other sessions (and a session limited to enrolment: the
// user signs in again, now with the second factor); the credential epoch moves first, so a
// sign-in that checked its password before the change cannot keep its session.
func (s *Service) ConfirmTOTP(ctx context.Context, sess *sessions.Session, code string, c Client) ([]string, error) {
	if s.mfa == nil {
		return nil, mfa.ErrNotEnrolled
	}
	codes, err := s.mfa.totp.Confirm(ctx, sess.UserID, code)
	if err != nil {
		return nil, err
	}
	except := sess.ID
	if sess.Purpose != "" {
		except = ""
	}
	if err := s.factorChanged(ctx, sess.UserID, except); err != nil {
		return nil, err
	}
	return codes, s.audit.Record(ctx, audit.Event{Type: audit.MFAEnrolled, UserID: sess.UserID, SessionID: sess.ID, Actor: "user",
		IP: c.IP, UserAgent: c.UserAgent, Outcome: audit.Success, Reason: "totp"})
}

// RemoveTOTP removes the authenticator app (and the recovery codes, when no other factor is
// left). It needs a recent sign-in and ends the user's other sessions.
func (s *Service) RemoveTOTP(ctx context.Context, sess *sessions.Session, c Client) error {
	if s.mfa == nil {
		return mfa.ErrNotEnrolled
	}
	if err := s.RequireRecent(sess); err != nil {
		return err
	}
	if err := s.mfa.totp.Remove(ctx, sess.UserID); err != nil {
		return err
	}
	if _, enrolled, err := s.methods(ctx, sess.UserID); err != nil {
		return err
	} else if !enrolled {
		if err := s.mfa.totp.RemoveRecoveryCodes(ctx, sess.UserID); err != nil {
			return err
		}
	}
	if err := s.factorChanged(ctx, sess.UserID, sess.ID); err != nil {
		return err
	}
	return s.audit.Record(ctx, audit.Event{Type: audit.MFARemoved, UserID: sess.UserID, SessionID: sess.ID, Actor: "user",
		IP: c.IP, UserAgent: c.UserAgent, Outcome: audit.Success, Reason: "totp"})
}

// RegenerateRecoveryCodes replaces the recovery codes; it needs a recent sign-in and an
// enrolled factor (recovery codes back one up).
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, sess *sessions.Session, c Client) ([]string, error) {
	if s.mfa == nil {
		return nil, mfa.ErrNotEnrolled
	}
	if err := s.RequireRecent(sess); err != nil {
		return nil, err
	}
	if _, enrolled, err := s.methods(ctx, sess.UserID); err != nil {
		return nil, err
	} else if !enrolled {
		return nil, mfa.ErrNotEnrolled
	}
	codes, err := s.mfa.totp.RegenerateRecoveryCodes(ctx, sess.UserID)
	if err != nil {
		return nil, err
	}
	return codes, s.audit.Record(ctx, audit.Event{Type: audit.RecoveryCodesRenewed, UserID: sess.UserID, SessionID: sess.ID, Actor: "user",
		IP: c.IP, UserAgent: c.UserAgent, Outcome: audit.Success})
}

// ResetMFA removes every second factor of a user (the administrator's reset, for a lost
// device): the authenticator app, the recovery codes and, when passkeys are a second factor,
// every passkey (a passkey left behind would keep the user enrolled, and asked for a factor
// that may be on the lost device). It ends the user's sessions.
func (s *Service) ResetMFA(ctx context.Context, userID string, c Client) error {
	if s.mfa == nil {
		return mfa.ErrNotEnrolled
	}
	if _, err := s.users.UserByID(ctx, userID); err != nil {
		return err
	}
	if err := s.mfa.totp.Remove(ctx, userID); err != nil && !errors.Is(err, mfa.ErrNotEnrolled) {
		return err
	}
	if err := s.mfa.totp.RemoveRecoveryCodes(ctx, userID); err != nil {
		return err
	}
	if s.mfa.passkeys != nil {
		if _, err := s.mfa.passkeys.RemoveAll(ctx, userID, "admin", "mfa_reset"); err != nil {
			return err
		}
	}
	if err := s.factorChanged(ctx, userID, ""); err != nil {
		return err
	}
	return s.adminEvent(ctx, audit.AdminUserMFAReset, userID, "", c)
}

// factorChanged moves the user's credential epoch, then ends every session but except (the
// order startSession relies on).
func (s *Service) factorChanged(ctx context.Context, userID, except string) error {
	for attempt := 0; ; attempt++ {
		u, err := s.users.UserByID(ctx, userID)
		if err != nil {
			return err
		}
		u.CredentialEpoch++
		u.UpdatedAt = s.now()
		s.userCache.Delete(userID)
		err = s.users.UpdateUser(ctx, u)
		if errors.Is(err, users.ErrStale) && attempt < 3 {
			continue
		}
		if err != nil {
			return err
		}
		break
	}
	_, err := s.sessions.RevokeUser(ctx, userID, except)
	return err
}
