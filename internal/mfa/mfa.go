// Package mfa is the second factor of a sign-in: TOTP authenticator apps (RFC 6238), recovery
// codes, the per-user limit on second-factor attempts, and the mfa_token that carries a
// half-finished sign-in from the password step to the second factor. Passkeys live in their
// own package and share Attempts.
//
// # TOTP
//
// TOTP is implemented here (totp.go, about 60 lines over crypto/hmac) rather than with
// github.com/pquerna/otp. Replay protection needs to know which time step a code matched,
// and pquerna/otp's validators answer only yes or no; its generator also pulls in a barcode
// library and options (SHA-256, 8 digits) that no app we target supports reliably. RFC 6238
// fixes the algorithm completely, and the tests check it against the vectors of RFC 4226
// Appendix D and RFC 6238 Appendix B.
//
// Parameters are fixed: HMAC-SHA-1, 6 digits, 30 s, one step either side (see Digits, Period,
// Skew). Seeds are 160 random bits, shown in base32 without padding and in an otpauth URI
// rendered as a QR code (github.com/skip2/go-qrcode, which picks the QR mask pattern that
// scanners read best). Seeds are stored sealed under the key-encryption key with
// AES-256-GCM, the factor id as associated data, as internal/keys seals signing keys.
//
// A code is accepted once: the step it matched is recorded per factor in UsedCodes until the
// code can no longer be valid (RFC 6238 §5.2), atomically, so that the same code presented to
// two instances at once succeeds on one.
//
// # Recovery codes
//
// Ten codes of 10 characters from a 32-letter alphabet (50 bits each), shown once as
// "xxxxx-xxxxx". They are stored as HMAC-SHA-256 under a key derived from the KEK, not as a
// plain hash: with 50 bits, a plain SHA-256 falls to an offline search (2^50 hashes is hours
// to days on GPUs) by whoever reads the database, and a code is a full second factor. With
// the key outside the database, a stolen database gives nothing to search; whoever also
// holds the KEK can decrypt the TOTP seeds anyway, so recovery codes are no weaker than the
// factor they back up. A slow hash (argon2id) would instead cost tens of milliseconds per
// stored code at every use, and make codes impossible to look up directly: an HMAC is
// deterministic, so the store consumes "the user's code with this MAC" in one atomic
// statement.
//
// # Limits
//
// Every path that checks a second factor charges Attempts first (see there), so a guesser is
// bounded per user, whatever the number of mfa_tokens, paths or instances.
package mfa

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/secret"
)

// Errors of the package. Callers answer ErrMalformedCode, ErrInvalidCode (and so
// ErrReplayedCode) and ErrNotEnrolled the same way at sign-in, so an answer never tells
// whether a factor exists; audit events may tell them apart.
var (
	ErrMalformedCode   = errors.New("mfa: malformed code")
	ErrInvalidCode     = errors.New("mfa: wrong code")
	ErrReplayedCode    = fmt.Errorf("%w (already used)", ErrInvalidCode)
	ErrNotEnrolled     = errors.New("mfa: no such second factor")
	ErrAlreadyEnrolled = errors.New("mfa: an authenticator app is already enrolled")
	// ErrNotFound and ErrConflict are what Store implementations return.
	ErrNotFound = errors.New("mfa: not found")
	ErrConflict = errors.New("mfa: conflict")
)

// PendingFor is how long an enrolment waits for its confirming code.
const PendingFor = 15 * time.Minute

// Factor is a TOTP factor as stored. A user has at most one, pending or confirmed.
type Factor struct {
	ID          string
	UserID      string
	Seed        []byte // sealed (see package doc); never leaves the package in clear
	CreatedAt   time.Time
	ConfirmedAt time.Time // zero while pending
}

// Confirmed reports whether the factor completed enrolment.
func (f *Factor) Confirmed() bool { return !f.ConfirmedAt.IsZero() }

// Store keeps TOTP factors and recovery codes. Recovery codes are kept as opaque MACs (32
// bytes); the store compares them as bytes.
type Store interface {
	// CreatePendingFactor stores f (ConfirmedAt zero), replacing a pending factor of
	// f.UserID; ErrConflict when the user has a confirmed factor.
	CreatePendingFactor(ctx context.Context, f *Factor) error
	// ConfirmFactor sets ConfirmedAt of the pending factor id of userID and replaces the
	// user's recovery codes with codes, in one transaction; ErrNotFound when the user has
	// no pending factor with that id.
	ConfirmFactor(ctx context.Context, userID, id string, at time.Time, codes [][]byte) error
	// Factor returns the user's factor, pending or confirmed; ErrNotFound when none.
	Factor(ctx context.Context, userID string) (*Factor, error)
	// DeleteFactor deletes the user's factor; ErrNotFound when there was none.
	DeleteFactor(ctx context.Context, userID string) error
	// ReplaceRecoveryCodes replaces all recovery codes of userID with codes (none: delete).
	ReplaceRecoveryCodes(ctx context.Context, userID string, codes [][]byte) error
	// ConsumeRecoveryCode deletes the code of userID equal to mac and returns how many the
	// user has left, atomically: of concurrent uses of one code exactly one succeeds. It
	// returns ErrNotFound when the user has no such code.
	ConsumeRecoveryCode(ctx context.Context, userID string, mac []byte) (remaining int, err error)
	// RecoveryCodesLeft counts the recovery codes of userID.
	RecoveryCodesLeft(ctx context.Context, userID string) (int, error)
}

// UsedCodes remembers accepted TOTP codes so that none is accepted twice (RFC 6238 §5.2).
type UsedCodes interface {
	// MarkUsed records key until the instant until and reports whether key was not already
	// recorded. It is atomic across every instance sharing the store: of concurrent calls
	// with one key, exactly one gets true. A record whose until is not after now counts as
	// absent (a store that expires records by itself, like Redis, may ignore now).
	MarkUsed(ctx context.Context, key string, now, until time.Time) (first bool, err error)
}

// Config is what the Service needs besides its stores.
type Config struct {
	// Issuer names the service in authenticator apps (the otpauth issuer), e.g. the host
	// name of the public URL. It must not contain ':' (the label separator).
	Issuer string
	// KEK is the 32-byte key-encryption key: it seals seeds and keys the recovery-code MAC.
	KEK []byte
}

// Service enrols, verifies and removes second factors. Its methods are safe for concurrent
// use.
type Service struct {
	store    Store
	used     UsedCodes
	attempts *Attempts
	seal     *sealer
	macKey   []byte
	issuer   string
	now      func() time.Time
}

// New returns a Service.
func New(cfg Config, store Store, used UsedCodes, attempts *Attempts, now func() time.Time) (*Service, error) {
	var errs []error
	if cfg.Issuer == "" {
		errs = append(errs, errors.New("mfa: an issuer name is required"))
	}
	for _, r := range cfg.Issuer {
		if r == ':' {
			errs = append(errs, errors.New("mfa: the issuer name must not contain ':'"))
			break
		}
	}
	if store == nil || used == nil || attempts == nil || now == nil {
		errs = append(errs, errors.New("mfa: New needs a store, a used-code store, the attempt limit and a clock"))
	}
	seal, err := newSealer(cfg.KEK)
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	mk, err := macKey(cfg.KEK)
	if err != nil {
		return nil, err
	}
	return &Service{store: store, used: used, attempts: attempts, seal: seal, macKey: mk, issuer: cfg.Issuer, now: now}, nil
}

// Attempts returns the per-user attempt limit, for the other second-factor paths (passkeys).
func (s *Service) Attempts() *Attempts { return s.attempts }

// Enrolment is a pending TOTP factor as shown to the user once: the secret to type in, the
// otpauth URI and the QR code of it.
type Enrolment struct {
	FactorID string
	Secret   secret.Redacted // base32, unpadded
	URI      secret.Redacted // otpauth://totp/...
	QR       secret.Redacted // data:image/png;base64,...
}

// Enrol starts enrolling an authenticator app for userID, whose account name (the e-mail
// address) labels the entry in the app. A pending enrolment replaces an earlier one; a user
// with a confirmed factor gets ErrAlreadyEnrolled (removing it comes first, and needs a
// recent sign-in).
func (s *Service) Enrol(ctx context.Context, userID, account string) (*Enrolment, error) {
	seed := NewSeed()
	f := &Factor{ID: secret.NewID(), UserID: userID, CreatedAt: s.now()}
	f.Seed = s.seal.Seal(f.ID, seed)
	uri := URI(s.issuer, account, seed)
	qr, err := QRDataURL(uri)
	if err != nil {
		return nil, err
	}
	if err := s.store.CreatePendingFactor(ctx, f); err != nil {
		if errors.Is(err, ErrConflict) {
			return nil, ErrAlreadyEnrolled
		}
		return nil, err
	}
	return &Enrolment{FactorID: f.ID, Secret: secret.Redacted(EncodeSeed(seed)), URI: secret.Redacted(uri), QR: secret.Redacted(qr)}, nil
}

// Confirm completes the pending enrolment of userID with a first code from the app, and
// returns the user's new recovery codes (replacing any earlier ones), to be shown once.
// A pending factor older than PendingFor is ErrNotEnrolled.
//
// Confirmation is not charged to Attempts: the user holds a session and has just been shown
// the secret, so guessing gains nothing, and a fumbled enrolment must not lock the user's
// sign-in. The code is recorded as used like any other.
func (s *Service) Confirm(ctx context.Context, userID, code string) ([]string, error) {
	n, ok := ParseCode(code)
	if !ok {
		return nil, ErrMalformedCode
	}
	f, err := s.factor(ctx, userID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if f.Confirmed() {
		return nil, ErrAlreadyEnrolled
	}
	if !now.Before(f.CreatedAt.Add(PendingFor)) {
		return nil, ErrNotEnrolled
	}
	if err := s.check(ctx, f, n, now); err != nil {
		return nil, err
	}
	codes, macs := s.newRecoveryCodes(userID)
	if err := s.store.ConfirmFactor(ctx, userID, f.ID, now, macs); err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, ErrNotEnrolled
		}
		return nil, err
	}
	return codes, nil
}

// Import stores a TOTP seed brought along by a migrated user (the totp_secret of an import
// line, base32) as a confirmed factor, so that the user's app keeps working. Recovery codes
// are not made: the user has never seen them.
func (s *Service) Import(ctx context.Context, userID, seedBase32 string) error {
	seed, err := ParseSeed(seedBase32)
	if err != nil {
		return err
	}
	now := s.now()
	f := &Factor{ID: secret.NewID(), UserID: userID, CreatedAt: now}
	f.Seed = s.seal.Seal(f.ID, seed)
	if err := s.store.CreatePendingFactor(ctx, f); err != nil {
		if errors.Is(err, ErrConflict) {
			return ErrAlreadyEnrolled
		}
		return err
	}
	return s.store.ConfirmFactor(ctx, userID, f.ID, now, nil)
}

// Verify checks a TOTP code of userID's confirmed factor. It charges Attempts first and
// refills it on success. Errors: ErrMalformedCode (not charged), *LimitedError,
// ErrNotEnrolled, ErrInvalidCode, ErrReplayedCode, or a store error (fail closed).
func (s *Service) Verify(ctx context.Context, userID, code string) error {
	n, ok := ParseCode(code)
	if !ok {
		return ErrMalformedCode
	}
	if err := s.attempts.Check(ctx, userID); err != nil {
		return err
	}
	f, err := s.factor(ctx, userID)
	if err != nil {
		return err
	}
	if !f.Confirmed() {
		return ErrNotEnrolled
	}
	if err := s.check(ctx, f, n, s.now()); err != nil {
		return err
	}
	return s.attempts.Reset(ctx, userID)
}

func (s *Service) factor(ctx context.Context, userID string) (*Factor, error) {
	f, err := s.store.Factor(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrNotEnrolled
	}
	return f, err
}

// check verifies code against f at now and records the matched step as used.
func (s *Service) check(ctx context.Context, f *Factor, code uint32, now time.Time) error {
	seed, err := s.seal.Open(f.ID, f.Seed)
	if err != nil {
		return err
	}
	st, ok := match(seed, code, now)
	if !ok {
		return ErrInvalidCode
	}
	first, err := s.used.MarkUsed(ctx, usedKey(f.ID, st), now, usedUntil(st))
	if err != nil {
		return fmt.Errorf("mfa: record used code: %w", err)
	}
	if !first {
		return ErrReplayedCode
	}
	return nil
}

// usedKey names an accepted step of a factor in UsedCodes.
func usedKey(factorID string, step uint64) string {
	return "totp:" + factorID + ":" + strconv.FormatUint(step, 10)
}

// usedUntil is how long an accepted step is remembered: until the last instant at which a
// verifier accepts it (the end of step+Skew), plus one Period for instances whose clocks
// run behind the one that recorded it.
func usedUntil(step uint64) time.Time { return stepEnd(step + Skew).Add(Period) }

// UseRecoveryCode consumes one of userID's recovery codes and returns how many are left (the
// caller audits the use and tells the user). It charges Attempts first and refills it on
// success. Errors: ErrMalformedCode (not charged), *LimitedError, ErrInvalidCode (wrong or
// already used), or a store error.
func (s *Service) UseRecoveryCode(ctx context.Context, userID, code string) (int, error) {
	c, ok := ParseRecoveryCode(code)
	if !ok {
		return 0, ErrMalformedCode
	}
	if err := s.attempts.Check(ctx, userID); err != nil {
		return 0, err
	}
	left, err := s.store.ConsumeRecoveryCode(ctx, userID, recoveryMAC(s.macKey, userID, c))
	if errors.Is(err, ErrNotFound) {
		return 0, ErrInvalidCode
	}
	if err != nil {
		return 0, err
	}
	return left, s.attempts.Reset(ctx, userID)
}

// RegenerateRecoveryCodes replaces every recovery code of userID with new ones and returns
// them, to be shown once. The caller requires a recent sign-in (step_up_required).
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, userID string) ([]string, error) {
	codes, macs := s.newRecoveryCodes(userID)
	if err := s.store.ReplaceRecoveryCodes(ctx, userID, macs); err != nil {
		return nil, err
	}
	return codes, nil
}

func (s *Service) newRecoveryCodes(userID string) (codes []string, macs [][]byte) {
	seen := make(map[string]bool, RecoveryCodes)
	for len(codes) < RecoveryCodes {
		c := newRecoveryCode()
		canon, _ := ParseRecoveryCode(c)
		if seen[canon] {
			continue
		}
		seen[canon] = true
		codes = append(codes, c)
		macs = append(macs, recoveryMAC(s.macKey, userID, canon))
	}
	return codes, macs
}

// Remove deletes userID's authenticator app (pending or confirmed); ErrNotEnrolled when
// there is none. Recovery codes stay: they may back up other factors (passkeys). The caller
// removes them with RemoveRecoveryCodes when no factor is left, and requires a recent
// sign-in.
func (s *Service) Remove(ctx context.Context, userID string) error {
	err := s.store.DeleteFactor(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return ErrNotEnrolled
	}
	return err
}

// RemoveRecoveryCodes deletes every recovery code of userID.
func (s *Service) RemoveRecoveryCodes(ctx context.Context, userID string) error {
	return s.store.ReplaceRecoveryCodes(ctx, userID, nil)
}

// Status is what a user (or an admin) may see of the second factors: never a secret.
type Status struct {
	TOTP          bool      `json:"totp"`
	TOTPPending   bool      `json:"-"`
	TOTPSince     time.Time `json:"totp_since,omitzero"`
	RecoveryCodes int       `json:"recovery_codes"`
}

// Status describes userID's TOTP factor and counts the recovery codes left.
func (s *Service) Status(ctx context.Context, userID string) (Status, error) {
	var st Status
	f, err := s.store.Factor(ctx, userID)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return Status{}, err
	default:
		st.TOTP, st.TOTPSince = f.Confirmed(), f.ConfirmedAt
		st.TOTPPending = !f.Confirmed() && s.now().Before(f.CreatedAt.Add(PendingFor))
	}
	if st.RecoveryCodes, err = s.store.RecoveryCodesLeft(ctx, userID); err != nil {
		return Status{}, err
	}
	return st, nil
}
