package passkeys

// Gatehouse's own verification of a WebAuthn assertion (WebAuthn Level 3 §7.2, "Verifying
// an Authentication Assertion"). Registration stays with github.com/go-webauthn/webauthn;
// an assertion is a small, fixed format whose verification go-webauthn spends about a third
// more than the signature check itself on (JSON and base64url parsing through reflection,
// the COSE key decoded from CBOR and rebuilt from big.Int coordinates for every signature).
// This file parses the response once, checks the steps of §7.2 in order, and verifies the
// signature with a public key parsed once per stored credential (keyCache). See
// docs/security.md ("Passkey assertions") for what is checked and why.

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"sync"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
)

// Authenticator data flags (WebAuthn §6.1).
const (
	flagUP = 0x01
	flagUV = 0x04
	flagBE = 0x08
	flagBS = 0x10
	flagAT = 0x40
	flagED = 0x80
)

// assertionResponse is a parsed PublicKeyCredential of navigator.credentials.get
// (AuthenticationResponseJSON, §5.1).
type assertionResponse struct {
	RawID          []byte
	ClientDataJSON []byte
	AuthData       []byte
	Signature      []byte
	UserHandle     []byte
	Client         clientData
	Flags          byte
	Counter        uint32
}

// clientData is CollectedClientData (§5.8.1).
type clientData struct {
	Type         string `json:"type"`
	Challenge    string `json:"challenge"`
	Origin       string `json:"origin"`
	CrossOrigin  *bool  `json:"crossOrigin"`
	TopOrigin    string `json:"topOrigin"`
	TokenBinding *struct {
		Status string `json:"status"`
	} `json:"tokenBinding"`
}

// wire form of the response: every binary member is a base64url string.
type assertionJSON struct {
	ID       string `json:"id"`
	RawID    string `json:"rawId"`
	Type     string `json:"type"`
	Response struct {
		ClientDataJSON    string  `json:"clientDataJSON"`
		AuthenticatorData string  `json:"authenticatorData"`
		Signature         string  `json:"signature"`
		UserHandle        *string `json:"userHandle"`
	} `json:"response"`
	ClientExtensionResults  json.RawMessage `json:"clientExtensionResults"`
	AuthenticatorAttachment string          `json:"authenticatorAttachment"`
}

var errMalformed = fmt.Errorf("%w: malformed assertion", ErrInvalid)

// b64 decodes unpadded base64url, the only encoding WebAuthn's JSON uses (§5.1); padding,
// line breaks and other alphabets are refused.
func b64dec(s string) ([]byte, bool) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || bytes.ContainsAny([]byte(s), "\r\n") {
		return nil, false
	}
	return b, true
}

// parseAssertion parses body strictly: §7.2 steps 1–2 (the response is an assertion of type
// "public-key"), 5–6 (clientDataJSON is UTF-8 JSON), and the fixed layout of the
// authenticator data (§6.1: at least 37 bytes; no attested credential data in an assertion).
func parseAssertion(body []byte) (*assertionResponse, error) {
	var w assertionJSON
	if err := json.Unmarshal(body, &w); err != nil { // refuses trailing data too
		return nil, fmt.Errorf("%w: %v", errMalformed, err)
	}
	if w.Type != "public-key" {
		return nil, fmt.Errorf("%w: type is not public-key", ErrInvalid)
	}
	a := &assertionResponse{}
	var ok bool
	if a.RawID, ok = b64dec(w.RawID); !ok || len(a.RawID) == 0 || len(a.RawID) > 1023 || w.ID != w.RawID {
		return nil, fmt.Errorf("%w: credential id", errMalformed)
	}
	if a.ClientDataJSON, ok = b64dec(w.Response.ClientDataJSON); !ok {
		return nil, fmt.Errorf("%w: clientDataJSON", errMalformed)
	}
	if a.AuthData, ok = b64dec(w.Response.AuthenticatorData); !ok {
		return nil, fmt.Errorf("%w: authenticatorData", errMalformed)
	}
	if a.Signature, ok = b64dec(w.Response.Signature); !ok || len(a.Signature) == 0 {
		return nil, fmt.Errorf("%w: signature", errMalformed)
	}
	if w.Response.UserHandle != nil {
		if a.UserHandle, ok = b64dec(*w.Response.UserHandle); !ok || len(a.UserHandle) > 64 {
			return nil, fmt.Errorf("%w: userHandle", errMalformed)
		}
	}
	if len(w.ClientExtensionResults) > 0 && w.ClientExtensionResults[0] != '{' && string(w.ClientExtensionResults) != "null" {
		return nil, fmt.Errorf("%w: clientExtensionResults", errMalformed)
	}
	if !utf8.Valid(a.ClientDataJSON) {
		return nil, fmt.Errorf("%w: clientDataJSON is not UTF-8", errMalformed)
	}
	if err := json.Unmarshal(a.ClientDataJSON, &a.Client); err != nil {
		return nil, fmt.Errorf("%w: clientDataJSON: %v", errMalformed, err)
	}
	ad := a.AuthData
	if len(ad) < 37 {
		return nil, fmt.Errorf("%w: authenticator data shorter than 37 bytes", errMalformed)
	}
	a.Flags, a.Counter = ad[32], binary.BigEndian.Uint32(ad[33:37])
	switch {
	case a.Flags&flagAT != 0:
		return nil, fmt.Errorf("%w: attested credential data in an assertion", errMalformed)
	case a.Flags&flagED != 0:
		// Extension outputs (a CBOR map) are allowed but not used; the map must be well
		// formed and fill the rest exactly.
		if len(ad) == 37 {
			return nil, fmt.Errorf("%w: extensions flag without extensions", errMalformed)
		}
		if _, err := protocol.ParseAuthenticatorExtensionOutputs(ad[37:]); err != nil {
			return nil, fmt.Errorf("%w: authenticator extensions: %v", errMalformed, err)
		}
	case len(ad) != 37:
		return nil, fmt.Errorf("%w: trailing authenticator data", errMalformed)
	}
	return a, nil
}

// assertionCheck is what the relying party expects of one assertion.
type assertionCheck struct {
	Challenge  string   // base64url, as issued
	Origins    []string // exact origins
	RPIDHash   [32]byte
	RequireUV  bool
	CredID     []byte // the stored credential the response named
	PublicKey  []byte // its COSE_Key
	BackupElig bool   // its BE flag as registered
}

// verify runs §7.2 steps 10–14 and 19–21 on a parsed response whose credential (steps 3,
// 6–7: known, allowed, of the right user) the caller has resolved already.
func (v *keyCache) verify(a *assertionResponse, c *assertionCheck) error {
	cd := &a.Client
	// Step 11: type.
	if cd.Type != "webauthn.get" {
		return fmt.Errorf("%w: client data type %q", ErrInvalid, cd.Type)
	}
	// Step 12: challenge, in constant time.
	if subtle.ConstantTimeCompare([]byte(cd.Challenge), []byte(c.Challenge)) != 1 {
		return fmt.Errorf("%w: challenge mismatch", ErrInvalid)
	}
	// Step 13: origin, one of the configured origins exactly.
	found := false
	for _, o := range c.Origins {
		if cd.Origin == o {
			found = true
			break
		}
	}
	if !found {
		return fmt.Errorf("%w: origin %q not allowed", ErrInvalid, cd.Origin)
	}
	// Steps 14–15: Gatehouse is never embedded in another origin's frame: crossOrigin true
	// and any topOrigin are refused.
	if cd.CrossOrigin != nil && *cd.CrossOrigin {
		return fmt.Errorf("%w: cross-origin assertion", ErrInvalid)
	}
	if cd.TopOrigin != "" {
		return fmt.Errorf("%w: topOrigin %q not allowed", ErrInvalid, cd.TopOrigin)
	}
	if tb := cd.TokenBinding; tb != nil && tb.Status != "present" && tb.Status != "supported" && tb.Status != "not-supported" {
		return fmt.Errorf("%w: token binding status %q", ErrInvalid, tb.Status)
	}
	// Step 16: rpIdHash.
	if subtle.ConstantTimeCompare(a.AuthData[:32], c.RPIDHash[:]) != 1 {
		return fmt.Errorf("%w: RP ID hash mismatch", ErrInvalid)
	}
	// Steps 17–18: user present; user verified when required.
	if a.Flags&flagUP == 0 {
		return fmt.Errorf("%w: user not present", ErrInvalid)
	}
	if c.RequireUV && a.Flags&flagUV == 0 {
		return fmt.Errorf("%w: user verification required", ErrInvalid)
	}
	// Step 19: backup flags. BE never changes for a credential; BS without BE is invalid.
	if (a.Flags&flagBE != 0) != c.BackupElig {
		return fmt.Errorf("%w: backup eligibility changed", ErrInvalid)
	}
	if a.Flags&flagBE == 0 && a.Flags&flagBS != 0 {
		return fmt.Errorf("%w: backup state without backup eligibility", ErrInvalid)
	}
	// Steps 20–21: signature over authData || SHA-256(clientDataJSON).
	k, err := v.key(c.CredID, c.PublicKey)
	if err != nil {
		return fmt.Errorf("%w: stored public key: %v", ErrInvalid, err)
	}
	if !k.verify(a.AuthData, a.ClientDataJSON, a.Signature) {
		return fmt.Errorf("%w: bad signature", ErrInvalid)
	}
	return nil
}

// publicKey is a stored credential's key, parsed once.
type publicKey struct {
	ec   *ecdsa.PublicKey // ES256, ES384, ES512 on P-256, P-384, P-521
	hash func() hash.Hash
	// other is the library's parsed key for every other algorithm registration accepts
	// (EdDSA, RS*, PS*, ES256K): still parsed only once.
	other interface {
		Verify(data, sig []byte) (bool, error)
	}
}

func (k *publicKey) verify(authData, clientDataJSON, sig []byte) bool {
	cdh := sha256.Sum256(clientDataJSON)
	if k.ec != nil {
		h := k.hash()
		h.Write(authData)
		h.Write(cdh[:])
		var buf [64]byte
		return ecdsa.VerifyASN1(k.ec, h.Sum(buf[:0]), sig)
	}
	data := make([]byte, 0, len(authData)+len(cdh))
	data = append(append(data, authData...), cdh[:]...)
	ok, err := k.other.Verify(data, sig)
	return ok && err == nil
}

// parsePublicKey parses a COSE_Key as registration stored it.
func parsePublicKey(cose []byte) (*publicKey, error) {
	parsed, err := webauthncose.ParsePublicKey(cose)
	if err != nil {
		return nil, err
	}
	if ec, ok := parsed.(webauthncose.EC2PublicKeyData); ok {
		var curve elliptic.Curve
		var h func() hash.Hash
		var size int
		switch webauthncose.COSEAlgorithmIdentifier(ec.Algorithm) {
		case webauthncose.AlgES256:
			curve, h, size = elliptic.P256(), sha256.New, 32
		case webauthncose.AlgES384:
			curve, h, size = elliptic.P384(), sha512.New384, 48
		case webauthncose.AlgES512:
			curve, h, size = elliptic.P521(), sha512.New, 66
		}
		if curve != nil {
			if _, err := ec.ToECDSA(); err != nil { // the library's own checks of the key
				return nil, err
			}
			if len(ec.XCoord) > size || len(ec.YCoord) > size {
				return nil, errors.New("EC2 coordinates too long")
			}
			pt := make([]byte, 1+2*size)
			pt[0] = 4
			copy(pt[1+size-len(ec.XCoord):1+size], ec.XCoord)
			copy(pt[1+2*size-len(ec.YCoord):], ec.YCoord)
			pub, err := ecdsa.ParseUncompressedPublicKey(curve, pt)
			if err != nil {
				return nil, err
			}
			return &publicKey{ec: pub, hash: h}, nil
		}
	}
	v, ok := parsed.(interface {
		Verify(data, sig []byte) (bool, error)
	})
	if !ok {
		// The library returns its key types by value; their Verify has a pointer receiver.
		switch p := parsed.(type) {
		case webauthncose.EC2PublicKeyData:
			v = &p
		case webauthncose.OKPPublicKeyData:
			v = &p
		case webauthncose.RSAPublicKeyData:
			v = &p
		default:
			return nil, fmt.Errorf("unsupported key type %T", parsed)
		}
	}
	return &publicKey{other: v}, nil
}

// keyCacheSize bounds keyCache: past it the cache starts over (a cold key costs one parse).
const keyCacheSize = 4096

// keyCache holds parsed public keys by SHA-256 of (credential id, COSE key): a credential
// whose stored key changed gets a new entry, never the stale one.
type keyCache struct {
	mu sync.Mutex
	m  map[[32]byte]*publicKey
}

func (c *keyCache) key(credID, cose []byte) (*publicKey, error) {
	h := sha256.New()
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(credID)))
	h.Write(n[:])
	h.Write(credID)
	h.Write(cose)
	var id [32]byte
	h.Sum(id[:0])
	c.mu.Lock()
	k := c.m[id]
	c.mu.Unlock()
	if k != nil {
		return k, nil
	}
	k, err := parsePublicKey(cose)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= keyCacheSize {
		c.m = make(map[[32]byte]*publicKey)
	}
	c.m[id] = k
	c.mu.Unlock()
	return k, nil
}
