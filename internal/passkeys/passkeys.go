// Package passkeys is WebAuthn (W3C Web Authentication Level 3) for Gatehouse: registering
// passkeys and security keys, listing, renaming and deleting them, password-less sign-in with
// discoverable credentials, and a passkey as the second factor of a password sign-in. The
// registration ceremony (CBOR, COSE keys, attestation statements) is
// github.com/go-webauthn/webauthn; assertions are verified by assertion.go (WebAuthn §7.2,
// with a cache of parsed public keys); this package adds what the library leaves to the
// relying party: where challenges live, who may finish them, what is stored, and the
// counter rule.
//
// # Challenges
//
// Every ceremony starts with a 32-byte random challenge (the library's, from crypto/rand).
// Its state (webauthn.SessionData, the kind of ceremony, the user for a registration or a
// second factor, and a hash of the caller's binding) is stored in the one-time-code store
// (internal/onetime) under SHA-256 of the challenge, for ChallengeTTL. Finishing reads the
// challenge back out of the signed clientDataJSON and consumes that entry atomically before
// anything else is checked, so a challenge is used at most once whatever the outcome, on
// every backend (SQLite DELETE … RETURNING, PostgreSQL likewise, Redis GETDEL), and expires
// by the injected clock. The request bodies therefore need no separate challenge id: the
// credential itself names its challenge, and the authenticator's signature covers it.
//
// A challenge is bound to whoever began the ceremony: the caller passes a binding string
// (the session id for a registration; the client's network and User-Agent for a sign-in, as
// the mfa_token is bound), of which only SHA-256 is kept and which must match at the finish.
//
// # Checks
//
// Both verifiers check the ceremony type, the challenge, the origin against Config.Origins,
// the RP ID hash against Config.RPID, user presence, the signature, and the backup-flag
// rules (BE never changes; BS without BE is invalid); docs/security.md lists every rule. Password-less sign-in requires user
// verification (the UV flag): the passkey is then both factors at once. A second factor
// after a password prefers it but does not require it.
//
// A signature counter that does not move forward (the new value is not above the stored one,
// unless both are zero: many synced passkeys always report zero) means two copies of the
// private key are in use (WebAuthn §6.1.1): the assertion is refused and audited as
// passkey.clone_detected. The stored counter advances with a compare-and-set, so two
// concurrent assertions cannot both move it past the same value.
//
// # amr
//
// RFC 8176 has "hwk" (proof of possession of a hardware-secured key) and "swk" (a
// software-secured key). The authenticator data says which one a passkey is only through its
// backup-eligible flag: a backup-eligible credential can be copied to other devices by its
// provider (a synced passkey), so its key is not confined to one piece of hardware: "swk". A
// credential that is not backup-eligible is device-bound (a security key, or a platform
// authenticator without sync): "hwk". The attachment (platform or cross-platform) says where
// the authenticator sits, not how its key is kept, so it is not used. Either way the
// sign-in is phishing-resistant (the origin is checked by the browser and signed): ACR.
package passkeys

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/onetime"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
)

// ChallengeTTL is how long a begun ceremony can be finished.
const ChallengeTTL = 5 * time.Minute

// ACR is the authentication context class of a passkey sign-in: phishing-resistant.
const ACR = "urn:gatehouse:acr:phr"

// MaxNameLen bounds a passkey's name, in characters.
const MaxNameLen = 64

// Audit event types of this package. They are API (admins filter on them): never rename one.
const (
	EventRegistered    = "passkey.registered"
	EventRenamed       = "passkey.renamed"
	EventDeleted       = "passkey.deleted"
	EventCloneDetected = "passkey.clone_detected"
)

// Errors of the package.
var (
	// ErrInvalid covers every ceremony response that does not verify: malformed, unknown or
	// expired challenge, another binding, wrong origin or RP ID, bad signature, unknown
	// credential, missing user verification, a cloned authenticator. Callers answer them
	// all alike; the wrapped detail is for logs.
	ErrInvalid = errors.New("passkeys: the credential could not be verified")
	// ErrCloned is matched (errors.Is) by the ErrInvalid of a counter that went back.
	ErrCloned = fmt.Errorf("%w (signature counter did not advance: cloned authenticator?)", ErrInvalid)
	// ErrNoPasskeys is returned by BeginAssertion for a user without passkeys.
	ErrNoPasskeys = errors.New("passkeys: the user has no passkeys")
	// ErrBadName is returned for an empty, too long or non-text name.
	ErrBadName = fmt.Errorf("passkeys: a name must be 1 to %d characters of text", MaxNameLen)
	// ErrNotFound and ErrConflict are what Store implementations return; ErrConflict from
	// CreatePasskey means the credential id is registered already.
	ErrNotFound = errors.New("passkeys: not found")
	ErrConflict = errors.New("passkeys: conflict")
)

// Passkey is a registered credential as stored (the WebAuthn credential record, §4).
type Passkey struct {
	ID                string // Gatehouse's id, used in URLs
	UserID            string
	CredentialID      []byte // the authenticator's credential id (up to 1023 bytes)
	PublicKey         []byte // COSE_Key
	AttestationFormat string // "none", "packed", ...
	SignCount         uint32
	BackupEligible    bool
	BackupState       bool
	UserVerified      bool // the registration verified the user
	Transports        []string
	AAGUID            []byte // 16 bytes, all zero when the authenticator did not say
	Attachment        string // "platform", "cross-platform" or ""
	Name              string
	CreatedAt         time.Time
	LastUsedAt        time.Time // zero until first used
}

// AMR is the RFC 8176 method of a sign-in with p (see the package comment).
func (p *Passkey) AMR() string {
	if p.BackupEligible {
		return "swk"
	}
	return "hwk"
}

// Store keeps passkeys.
type Store interface {
	// CreatePasskey stores p; ErrConflict when its CredentialID exists.
	CreatePasskey(ctx context.Context, p *Passkey) error
	// PasskeysByUser lists the passkeys of userID, oldest first.
	PasskeysByUser(ctx context.Context, userID string) ([]*Passkey, error)
	// PasskeyByCredentialID returns the passkey with that credential id; ErrNotFound.
	PasskeyByCredentialID(ctx context.Context, credentialID []byte) (*Passkey, error)
	// RecordPasskeyUse sets the counter, backup state and last use of passkey id, on the
	// condition that the stored counter is below count, or that both are zero; ErrConflict
	// when the condition fails (another use got there first), ErrNotFound when id is gone.
	RecordPasskeyUse(ctx context.Context, id string, count uint32, backupState bool, at time.Time) error
	// RenamePasskey renames passkey id of userID; ErrNotFound when userID has no such passkey.
	RenamePasskey(ctx context.Context, userID, id, name string) error
	// DeletePasskey deletes passkey id of userID; ErrNotFound when userID has no such passkey.
	DeletePasskey(ctx context.Context, userID, id string) error
}

// Config is the relying party.
type Config struct {
	// RPID is the relying party id: a domain equal to, or a registrable suffix of, the host
	// of every origin (WebAuthn §5.1.4.1 "rp.id"). Credentials are bound to it for good:
	// changing it orphans every registered passkey.
	RPID string
	// Origins are the exact origins ("https://auth.example.com") the browser may report in
	// clientDataJSON.
	Origins []string
	// RPName is the name authenticators show (default: RPID).
	RPName string
}

// DefaultConfig is the relying party of an issuer URL: its host as the RP ID and its origin.
func DefaultConfig(issuer string) (Config, error) {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" {
		return Config{}, fmt.Errorf("passkeys: issuer %q is not an absolute URL", issuer)
	}
	return Config{RPID: u.Hostname(), Origins: []string{u.Scheme + "://" + u.Host}}, nil
}

// Validate returns every problem of c, joined.
func (c Config) Validate() error {
	var errs []error
	if c.RPID == "" {
		errs = append(errs, errors.New("webauthn_rp_id: must not be empty"))
	} else if strings.ContainsAny(c.RPID, ":/") || net.ParseIP(c.RPID) != nil || c.RPID != strings.ToLower(c.RPID) ||
		protocol.ValidateRPID(c.RPID) != nil {
		errs = append(errs, fmt.Errorf("webauthn_rp_id %q: must be a lower-case domain name without scheme or port", c.RPID))
	}
	if len(c.Origins) == 0 {
		errs = append(errs, errors.New("webauthn_origins: want at least one origin"))
	}
	for _, o := range c.Origins {
		if err := checkOrigin(o, c.RPID); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// checkOrigin: an origin is scheme://host[:port], https unless the host is localhost (which
// browsers treat as a secure context), and its host is the RP ID or a subdomain of it.
func checkOrigin(o, rpID string) error {
	u, err := url.Parse(o)
	if err != nil || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" ||
		o != u.Scheme+"://"+u.Host {
		return fmt.Errorf("webauthn_origins: %q is not an origin (scheme://host[:port], nothing after)", o)
	}
	host := u.Hostname()
	if u.Scheme != "https" && !(u.Scheme == "http" && host == "localhost") {
		return fmt.Errorf("webauthn_origins: %q must use https (http only for localhost)", o)
	}
	if rpID != "" && host != rpID && !strings.HasSuffix(host, "."+rpID) {
		return fmt.Errorf("webauthn_origins: the host of %q is neither the RP ID %q nor below it", o, rpID)
	}
	return nil
}

// Service runs the ceremonies. Its methods are safe for concurrent use.
type Service struct {
	wa    *webauthn.WebAuthn
	store Store
	codes onetime.Store
	audit *audit.Log
	now   func() time.Time
	// Assertions are verified by assertion.go with these.
	origins  []string
	rpIDHash [32]byte
	keys     *keyCache // a pointer, so that a copied Service shares it (and copies no mutex)
}

// New returns a Service for the relying party cfg.
func New(cfg Config, store Store, codes onetime.Store, a *audit.Log, now func() time.Time) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if store == nil || codes == nil || a == nil || now == nil {
		return nil, errors.New("passkeys: New needs a store, a one-time-code store, the audit log and a clock")
	}
	name := cfg.RPName
	if name == "" {
		name = cfg.RPID
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          cfg.RPID,
		RPDisplayName: name,
		RPOrigins:     cfg.Origins,
		// "none": Gatehouse does not restrict authenticator models, so it has no use for an
		// attestation it would have to check against the FIDO metadata service.
		AttestationPreference: protocol.PreferNoAttestation,
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: ChallengeTTL, TimeoutUVD: ChallengeTTL},
			Registration: webauthn.TimeoutConfig{Timeout: ChallengeTTL, TimeoutUVD: ChallengeTTL},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("passkeys: %w", err)
	}
	return &Service{wa: wa, store: store, codes: codes, audit: a, now: now,
		origins: append([]string(nil), cfg.Origins...), rpIDHash: sha256.Sum256([]byte(cfg.RPID)), keys: &keyCache{}}, nil
}

// Kinds of ceremony a stored challenge belongs to.
const (
	kindRegister = "register"
	kindLogin    = "login"  // password-less, discoverable
	kindAssert   = "assert" // second factor of a known user
)

// pending is the state of a begun ceremony, stored under the challenge.
type pending struct {
	Kind    string               `json:"kind"`
	UserID  string               `json:"user_id,omitempty"`
	Bind    []byte               `json:"bind"`
	Session webauthn.SessionData `json:"session"`
}

// challengeKey is where the state of a challenge (base64url, as in clientDataJSON) is kept.
func challengeKey(challenge string) string {
	h := sha256.Sum256([]byte("gatehouse passkey challenge v1\x00" + challenge))
	return "pk:" + hex.EncodeToString(h[:])
}

func bindHash(bind string) []byte {
	h := sha256.Sum256([]byte("gatehouse passkey binding v1\x00" + bind))
	return h[:]
}

func (s *Service) put(ctx context.Context, kind, userID, bind string, sd *webauthn.SessionData) error {
	v, err := json.Marshal(pending{Kind: kind, UserID: userID, Bind: bindHash(bind), Session: *sd})
	if err != nil {
		return err
	}
	return s.codes.PutCode(ctx, challengeKey(sd.Challenge), v, s.now().Add(ChallengeTTL))
}

// take consumes the state of challenge, which must be of kind and bound to bind.
func (s *Service) take(ctx context.Context, challenge, kind, bind string) (*pending, error) {
	if challenge == "" || len(challenge) > 128 {
		return nil, fmt.Errorf("%w: no challenge", ErrInvalid)
	}
	v, err := s.codes.ConsumeCode(ctx, challengeKey(challenge), s.now())
	if errors.Is(err, onetime.ErrNotFound) {
		return nil, fmt.Errorf("%w: unknown, expired or used challenge", ErrInvalid)
	}
	if err != nil {
		return nil, err
	}
	var p pending
	if err := json.Unmarshal(v, &p); err != nil {
		return nil, fmt.Errorf("passkeys: stored challenge: %w", err)
	}
	if p.Kind != kind || !secret.Equal(p.Bind, bindHash(bind)) {
		return nil, fmt.Errorf("%w: challenge of another ceremony or caller", ErrInvalid)
	}
	return &p, nil
}

// waUser adapts a Gatehouse user to webauthn.User. The user handle is the user id: a random
// identifier that says nothing about the person (WebAuthn §14.6.1).
type waUser struct {
	id, name string
	creds    []webauthn.Credential
}

func (u *waUser) WebAuthnID() []byte                         { return []byte(u.id) }
func (u *waUser) WebAuthnName() string                       { return u.name }
func (u *waUser) WebAuthnDisplayName() string                { return u.name }
func (u *waUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// credential rebuilds the library's credential record from p.
func (p *Passkey) credential() webauthn.Credential {
	flags := protocol.FlagUserPresent
	if p.UserVerified {
		flags |= protocol.FlagUserVerified
	}
	if p.BackupEligible {
		flags |= protocol.FlagBackupEligible
	}
	if p.BackupState {
		flags |= protocol.FlagBackupState
	}
	tr := make([]protocol.AuthenticatorTransport, len(p.Transports))
	for i, t := range p.Transports {
		tr[i] = protocol.AuthenticatorTransport(t)
	}
	return webauthn.Credential{
		ID: p.CredentialID, PublicKey: p.PublicKey, AttestationFormat: p.AttestationFormat, Transport: tr,
		Flags: webauthn.NewCredentialFlags(flags),
		Authenticator: webauthn.Authenticator{AAGUID: p.AAGUID, SignCount: p.SignCount,
			Attachment: protocol.AuthenticatorAttachment(p.Attachment)},
	}
}

func (s *Service) user(ctx context.Context, userID, name string) (*waUser, []*Passkey, error) {
	list, err := s.store.PasskeysByUser(ctx, userID)
	if err != nil {
		return nil, nil, err
	}
	u := &waUser{id: userID, name: name}
	for _, p := range list {
		u.creds = append(u.creds, p.credential())
	}
	return u, list, nil
}

// Options is the JSON the browser needs for navigator.credentials.create or .get: an object
// with a "publicKey" member (PublicKeyCredentialCreationOptions or ...RequestOptions in
// their JSON form, WebAuthn §5.1.9, §5.5).
type Options = json.RawMessage

// BeginRegistration starts registering a passkey for userID, whose account name (the e-mail
// address) the authenticator shows. The user's passkeys are excluded (one authenticator
// registers once); a discoverable credential is preferred, so that it can sign in without a
// password; user verification is preferred. bind must be passed again to FinishRegistration.
func (s *Service) BeginRegistration(ctx context.Context, userID, account, bind string) (Options, error) {
	u, _, err := s.user(ctx, userID, account)
	if err != nil {
		return nil, err
	}
	exclude := webauthn.Credentials(u.creds).CredentialDescriptors()
	creation, sd, err := s.wa.BeginRegistration(u,
		webauthn.WithExclusions(exclude),
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementPreferred,
			UserVerification: protocol.VerificationPreferred,
		}),
		webauthn.WithExtensions(webauthn.WithExtensionCredProps()),
	)
	if err != nil {
		return nil, fmt.Errorf("passkeys: begin registration: %w", err)
	}
	if err := s.put(ctx, kindRegister, userID, bind, sd); err != nil {
		return nil, err
	}
	return json.Marshal(creation)
}

// FinishRegistration verifies the browser's PublicKeyCredential JSON (the result of
// navigator.credentials.create, §5.1) for userID and bind, and stores the passkey under name
// (a default when empty).
func (s *Service) FinishRegistration(ctx context.Context, userID, bind, name string, body []byte) (*Passkey, error) {
	if name != "" {
		if err := CheckName(name); err != nil {
			return nil, err
		}
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	p, err := s.take(ctx, parsed.Response.CollectedClientData.Challenge, kindRegister, bind)
	if err != nil {
		return nil, err
	}
	if p.UserID != userID {
		return nil, fmt.Errorf("%w: challenge of another user", ErrInvalid)
	}
	u, _, err := s.user(ctx, userID, "")
	if err != nil {
		return nil, err
	}
	cred, err := s.wa.CreateCredential(u, p.Session, parsed)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	now := s.now()
	pk := &Passkey{
		ID: secret.NewID(), UserID: userID, CredentialID: cred.ID, PublicKey: cred.PublicKey,
		AttestationFormat: cred.AttestationFormat, SignCount: cred.Authenticator.SignCount,
		BackupEligible: cred.Flags.BackupEligible, BackupState: cred.Flags.BackupState, UserVerified: cred.Flags.UserVerified,
		AAGUID: cred.Authenticator.AAGUID, Attachment: string(cred.Authenticator.Attachment),
		Name: name, CreatedAt: now,
	}
	for _, t := range cred.Transport {
		if t != "" && len(t) <= 32 && len(pk.Transports) < 8 {
			pk.Transports = append(pk.Transports, string(t))
		}
	}
	if len(pk.AAGUID) != 16 {
		pk.AAGUID = make([]byte, 16)
	}
	if pk.Name == "" {
		pk.Name = defaultName(pk, now)
	}
	if err := s.store.CreatePasskey(ctx, pk); err != nil {
		return nil, err
	}
	if err := s.audit.Record(ctx, audit.Event{Type: EventRegistered, UserID: userID, Actor: "user", Outcome: audit.Success, Reason: pk.AMR()}); err != nil {
		return nil, err
	}
	return pk, nil
}

func defaultName(p *Passkey, at time.Time) string {
	kind := "Passkey"
	if p.Attachment == string(protocol.CrossPlatform) && !p.BackupEligible {
		kind = "Security key"
	}
	return kind + " added " + at.UTC().Format("2006-01-02")
}

// CheckName reports ErrBadName for a name that is empty, longer than MaxNameLen characters,
// not valid UTF-8 or with control characters.
func CheckName(name string) error {
	if name == "" || !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxNameLen || strings.TrimSpace(name) == "" {
		return ErrBadName
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return ErrBadName
		}
	}
	return nil
}

// List returns the passkeys of userID, oldest first.
func (s *Service) List(ctx context.Context, userID string) ([]*Passkey, error) {
	return s.store.PasskeysByUser(ctx, userID)
}

// Rename renames passkey id of userID.
func (s *Service) Rename(ctx context.Context, userID, id, name string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	if err := s.store.RenamePasskey(ctx, userID, id, name); err != nil {
		return err
	}
	return s.audit.Record(ctx, audit.Event{Type: EventRenamed, UserID: userID, Actor: "user", Outcome: audit.Success})
}

// Delete deletes passkey id of userID. Whether the caller signed in recently enough is the
// caller's check (a sensitive operation).
func (s *Service) Delete(ctx context.Context, userID, id string) error {
	if err := s.store.DeletePasskey(ctx, userID, id); err != nil {
		return err
	}
	return s.audit.Record(ctx, audit.Event{Type: EventDeleted, UserID: userID, Actor: "user", Outcome: audit.Success})
}

// RemoveAll deletes every passkey of userID (an administrator's reset of the user's factors)
// and returns how many it deleted; each deletion is audited as EventDeleted by actor, with
// reason. A passkey deleted meanwhile is not an error.
func (s *Service) RemoveAll(ctx context.Context, userID, actor, reason string) (int, error) {
	list, err := s.store.PasskeysByUser(ctx, userID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range list {
		if err := s.store.DeletePasskey(ctx, userID, p.ID); errors.Is(err, ErrNotFound) {
			continue
		} else if err != nil {
			return n, err
		}
		n++
		if err := s.audit.Record(ctx, audit.Event{Type: EventDeleted, UserID: userID, Actor: actor, Outcome: audit.Success,
			Reason: reason}); err != nil {
			return n, err
		}
	}
	return n, nil
}

// BeginLogin starts a password-less, usernameless sign-in: request options with an empty
// allowCredentials (the authenticator offers its discoverable credentials for the RP ID) and
// user verification required. bind must be passed again to FinishLogin.
func (s *Service) BeginLogin(ctx context.Context, bind string) (Options, error) {
	assertion, sd, err := s.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, fmt.Errorf("passkeys: begin login: %w", err)
	}
	if err := s.put(ctx, kindLogin, "", bind, sd); err != nil {
		return nil, err
	}
	return json.Marshal(assertion)
}

// BeginAssertion starts checking a passkey of userID as a second factor: allowCredentials
// lists the user's passkeys, user verification is preferred. ErrNoPasskeys when the user
// has none. bind must be passed again to VerifyAssertion.
func (s *Service) BeginAssertion(ctx context.Context, userID, bind string) (Options, error) {
	u, _, err := s.user(ctx, userID, "")
	if err != nil {
		return nil, err
	}
	if len(u.creds) == 0 {
		return nil, ErrNoPasskeys
	}
	assertion, sd, err := s.wa.BeginLogin(u, webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return nil, fmt.Errorf("passkeys: begin assertion: %w", err)
	}
	if err := s.put(ctx, kindAssert, userID, bind, sd); err != nil {
		return nil, err
	}
	return json.Marshal(assertion)
}

// Assertion is a verified sign-in with a passkey.
type Assertion struct {
	UserID  string
	Passkey *Passkey // as updated by this use
	// UserVerified reports the UV flag of this assertion: the authenticator checked a PIN or
	// biometric, so the passkey alone was two factors.
	UserVerified bool
}

// AMR is the RFC 8176 amr of the sign-in.
func (a *Assertion) AMR() []string { return []string{a.Passkey.AMR()} }

// Client is who presents an assertion, for audit events.
type Client struct {
	IP        string
	UserAgent string
}

// FinishLogin verifies the PublicKeyCredential JSON of a password-less sign-in (the result
// of navigator.credentials.get for BeginLogin's options) and returns the user it signs in.
// It does not check that the user is enabled: minting the session does. Failures are
// ErrInvalid (ErrCloned for a cloned authenticator, audited) or store errors.
func (s *Service) FinishLogin(ctx context.Context, bind string, body []byte, c Client) (*Assertion, error) {
	return s.finishAssertion(ctx, kindLogin, "", bind, body, c)
}

// VerifyAssertion verifies the PublicKeyCredential JSON of a second factor of userID
// (navigator.credentials.get for BeginAssertion's options). The caller charges the per-user
// second-factor limit (mfa.Attempts) before, and resets it after a success.
func (s *Service) VerifyAssertion(ctx context.Context, userID, bind string, body []byte, c Client) (*Assertion, error) {
	if userID == "" {
		return nil, fmt.Errorf("%w: no user", ErrInvalid)
	}
	return s.finishAssertion(ctx, kindAssert, userID, bind, body, c)
}

func (s *Service) finishAssertion(ctx context.Context, kind, userID, bind string, body []byte, c Client) (*Assertion, error) {
	// §7.2 steps 1–2, 5–6 and the authenticator data layout (assertion.go).
	a, err := parseAssertion(body)
	if err != nil {
		return nil, err
	}
	// The client data names the challenge, which finds (and consumes) the ceremony.
	p, err := s.take(ctx, a.Client.Challenge, kind, bind)
	if err != nil {
		return nil, err
	}
	if p.UserID != userID {
		return nil, fmt.Errorf("%w: challenge of another user", ErrInvalid)
	}
	// Steps 3 and 6–7: the credential must be known and belong to the user the ceremony is
	// for: the user handle the authenticator returned (password-less, where it is
	// required), or the known user (second factor: one of the user's passkeys, listed in
	// allowCredentials; a user handle, if returned, must be that user).
	var pk *Passkey
	if kind == kindLogin {
		if len(a.UserHandle) == 0 {
			return nil, fmt.Errorf("%w: no user handle", ErrInvalid)
		}
		pk, err = s.store.PasskeyByCredentialID(ctx, a.RawID)
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("%w: unknown credential", ErrInvalid)
		}
		if err != nil {
			return nil, err
		}
		if pk.UserID != string(a.UserHandle) {
			return nil, fmt.Errorf("%w: credential of another user", ErrInvalid)
		}
	} else {
		list, lerr := s.store.PasskeysByUser(ctx, userID)
		if lerr != nil {
			return nil, lerr
		}
		for _, c := range list {
			if bytes.Equal(c.CredentialID, a.RawID) {
				pk = c
				break
			}
		}
		if pk == nil {
			return nil, fmt.Errorf("%w: unknown credential or credential of another user", ErrInvalid)
		}
		if len(p.Session.AllowedCredentialIDs) > 0 && !slices.ContainsFunc(p.Session.AllowedCredentialIDs,
			func(id []byte) bool { return bytes.Equal(id, a.RawID) }) {
			return nil, fmt.Errorf("%w: credential not in allowCredentials", ErrInvalid)
		}
		if len(a.UserHandle) > 0 && string(a.UserHandle) != userID {
			return nil, fmt.Errorf("%w: user handle of another user", ErrInvalid)
		}
	}
	// Steps 10–21.
	if err := s.keys.verify(a, &assertionCheck{
		Challenge: p.Session.Challenge, Origins: s.origins, RPIDHash: s.rpIDHash,
		RequireUV: p.Session.UserVerification == protocol.VerificationRequired,
		CredID:    pk.CredentialID, PublicKey: pk.PublicKey, BackupElig: pk.BackupEligible,
	}); err != nil {
		return nil, err
	}
	// Step 22: the signature counter (see the package comment).
	count := a.Counter
	if count <= pk.SignCount && (count != 0 || pk.SignCount != 0) {
		return nil, s.cloned(ctx, pk, count, c)
	}
	backupState := a.Flags&flagBS != 0
	now := s.now()
	err = s.store.RecordPasskeyUse(ctx, pk.ID, count, backupState, now)
	if errors.Is(err, ErrConflict) {
		return nil, s.cloned(ctx, pk, count, c)
	}
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: the passkey was deleted meanwhile", ErrInvalid)
	}
	if err != nil {
		return nil, err
	}
	pk.SignCount, pk.BackupState, pk.LastUsedAt = count, backupState, now
	return &Assertion{UserID: pk.UserID, Passkey: pk, UserVerified: a.Flags&flagUV != 0}, nil
}

// cloned audits a counter that did not advance and returns ErrCloned.
func (s *Service) cloned(ctx context.Context, pk *Passkey, count uint32, c Client) error {
	if err := s.audit.Record(ctx, audit.Event{Type: EventCloneDetected, UserID: pk.UserID, Actor: "user", IP: c.IP, UserAgent: c.UserAgent,
		Outcome: audit.Failure, Reason: "counter_not_increasing"}); err != nil {
		return err
	}
	return fmt.Errorf("%w (passkey %s: stored %d, presented %d)", ErrCloned, pk.ID, pk.SignCount, count)
}
