package accounts

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/mfa"
	"github.com/gatehouse-auth/gatehouse/internal/passkeys"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
)

// A passkey as the second factor of a password sign-in, and for step-up (docs/security.md
// "Second factors"). The ceremony has two requests: a begin, which issues WebAuthn request
// options for the user's own credentials under a challenge bound to the mfa_token (sign-in)
// or to the session (step-up), and the usual second step (POST /v1/login/mfa or
// /v1/session/step-up with the assertion as "credential"), which verifies it under the same
// binding. The challenge is single-use and lives passkeys.ChallengeTTL (5 minutes, the
// mfa_token's life).
//
// amr gets "hwk" or "swk" (passkeys.Passkey.AMR) and "mfa". acr is derived from amr
// (sessions.ACR): urn:gatehouse:acr:phr. That holds whether or not the authenticator verified
// the user (UV): after a password, the passkey is the possession factor, and the assertion is
// bound to the origin by the browser, so phishing the password alone no longer signs anyone
// in. Password-less sign-in, where the passkey is both factors, requires UV instead.

// MethodPasskey is the name of the passkey factor in mfa_required's methods.
const MethodPasskey = "passkey"

// WithPasskeyFactor makes the passkeys of pk a second factor. Call it after WithMFA and
// before serving; it does nothing without MFA or without pk.
func (s *Service) WithPasskeyFactor(pk *passkeys.Service) {
	if s.mfa == nil || pk == nil {
		return
	}
	s.mfa.passkeys = pk
	s.AddFactor(passkeyFactor{pk: pk, attempts: s.mfa.totp.Attempts()})
}

// passkeyFactor is the Factor of passkeys: having one is being enrolled.
type passkeyFactor struct {
	pk       *passkeys.Service
	attempts *mfa.Attempts
}

func (f passkeyFactor) Methods(ctx context.Context, userID string) ([]string, bool, error) {
	list, err := f.pk.List(ctx, userID)
	if err != nil || len(list) == 0 {
		return nil, false, err
	}
	return []string{MethodPasskey}, true, nil
}

// Verify checks an assertion under the ceremony binding the caller set on p. It charges the
// per-user second-factor limit first and refills it on success, like a TOTP code; an
// assertion that does not verify is a wrong factor (mfa.ErrInvalidCode).
func (f passkeyFactor) Verify(ctx context.Context, userID string, p Proof) (Verified, bool, error) {
	if len(p.Credential) == 0 {
		return Verified{}, false, nil
	}
	v := Verified{Method: MethodPasskey, RecoveryLeft: -1}
	if p.binding == "" {
		return v, true, fmt.Errorf("%w: no passkey ceremony", mfa.ErrInvalidCode)
	}
	if err := f.attempts.Check(ctx, userID); err != nil {
		return v, true, err
	}
	as, err := f.pk.VerifyAssertion(ctx, userID, p.binding, p.Credential, passkeys.Client{IP: p.client.IP, UserAgent: p.client.UserAgent})
	if errors.Is(err, passkeys.ErrInvalid) {
		return v, true, fmt.Errorf("%w: %w", mfa.ErrInvalidCode, err)
	}
	if err != nil {
		return v, true, err
	}
	v.AMR = as.AMR()
	return v, true, f.attempts.Reset(ctx, userID)
}

// Bindings of the passkey ceremonies of second factors: the mfa_token of a sign-in, or the
// session to step up. passkeys keeps only a hash of them.
func mfaPasskeyBinding(mfaToken string) string     { return "mfa\x00" + mfaToken }
func stepUpPasskeyBinding(sessionID string) string { return "step-up\x00" + sessionID }

// BeginMFAPasskey starts the passkey second factor of a sign-in: request options for the
// user's passkeys, bound to the mfa_token (which must be valid for c, as at LoginMFA; it is
// not consumed). ErrMFAToken for an unusable token; mfa.ErrNotEnrolled when the user has no
// passkey or passkeys are off.
func (s *Service) BeginMFAPasskey(ctx context.Context, mfaToken string, c Client) (passkeys.Options, error) {
	if s.mfa == nil {
		return nil, ErrMFAToken
	}
	ch, err := s.mfa.challenges.Challenge(ctx, mfaToken, c.binding())
	if err != nil {
		return nil, err
	}
	return s.beginPasskeyFactor(ctx, ch.UserID, mfaPasskeyBinding(mfaToken))
}

// BeginStepUpPasskey starts a passkey step-up of sess: request options for the user's
// passkeys, bound to the session.
func (s *Service) BeginStepUpPasskey(ctx context.Context, sess *sessions.Session) (passkeys.Options, error) {
	if s.mfa == nil {
		return nil, mfa.ErrNotEnrolled
	}
	if err := RequireFull(sess); err != nil {
		return nil, err
	}
	return s.beginPasskeyFactor(ctx, sess.UserID, stepUpPasskeyBinding(sess.ID))
}

func (s *Service) beginPasskeyFactor(ctx context.Context, userID, bind string) (passkeys.Options, error) {
	if s.mfa.passkeys == nil {
		return nil, mfa.ErrNotEnrolled
	}
	opts, err := s.mfa.passkeys.BeginAssertion(ctx, userID, bind)
	if errors.Is(err, passkeys.ErrNoPasskeys) {
		return nil, fmt.Errorf("%w: %w", mfa.ErrNotEnrolled, err)
	}
	return opts, err
}

// CanRegisterPasskey refuses (ErrEnrolmentOnly) a session limited to enrolment from
// registering a passkey unless passkeys are a second factor here: only then is the passkey
// the enrolment the session exists for. Full sessions may always register one.
func (s *Service) CanRegisterPasskey(sess *sessions.Session) error {
	if sess.Purpose == "" {
		return nil
	}
	if s.mfa == nil || s.mfa.passkeys == nil || sess.Purpose != sessions.PurposeMFAEnrolment {
		return ErrEnrolmentOnly
	}
	return nil
}

// PasskeyRegistered completes the enrolment of a session limited to enrolment that
// registered a passkey, as ConfirmTOTP does: the credential epoch moves and every session of
// the user ends, the limited one included, so the user signs in again, now with the passkey
// (password-less, or as the second factor). For a full session it does nothing.
func (s *Service) PasskeyRegistered(ctx context.Context, sess *sessions.Session, c Client) error {
	if sess.Purpose == "" {
		return nil
	}
	if err := s.factorChanged(ctx, sess.UserID, ""); err != nil {
		return err
	}
	return s.audit.Record(ctx, audit.Event{Type: audit.MFAEnrolled, UserID: sess.UserID, SessionID: sess.ID, Actor: "user",
		IP: c.IP, UserAgent: c.UserAgent, Outcome: audit.Success, Reason: MethodPasskey})
}
