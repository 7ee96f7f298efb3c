// Package passkeystest is a software WebAuthn authenticator for tests: a P-256 key, "none"
// attestation and assertions built byte by byte as WebAuthn §6.1 (authenticator data), §6.5
// (attestation object) and §5.8.1 (client data) lay them out, so that tests drive the real
// ceremony code with every field under their control (origin, RP ID, flags, counter).
package passkeystest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
)

// Authenticator data flags (WebAuthn §6.1).
const (
	FlagUP = 0x01 // user present
	FlagUV = 0x04 // user verified
	FlagBE = 0x08 // backup eligible
	FlagBS = 0x10 // backed up
	FlagAT = 0x40 // attested credential data included
)

// Authenticator is one credential of a software authenticator. Change its exported fields
// between calls to produce the responses a test needs.
type Authenticator struct {
	RPID   string // hashed into the authenticator data
	Origin string // written into clientDataJSON
	Key    *ecdsa.PrivateKey
	CredID []byte
	AAGUID [16]byte
	// Flags are set in every response (UP|UV by default); AT is added at registration.
	Flags byte
	// Counter is the signature counter; Get adds Step to it before signing (Step 0: a
	// synced passkey that always reports zero).
	Counter, Step uint32
	// Attachment is reported as authenticatorAttachment ("platform" by default).
	Attachment string
	// UserHandle is what Create stored from the options' user.id; Get returns it.
	UserHandle []byte
	// Type overrides the clientDataJSON type when not empty ("webauthn.create"/".get").
	Type string
}

// New returns an authenticator for rpID at origin with a fresh key and credential id.
func New(rpID, origin string) *Authenticator {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	id := make([]byte, 16)
	rand.Read(id)
	a := &Authenticator{RPID: rpID, Origin: origin, Key: k, CredID: id, Flags: FlagUP | FlagUV, Step: 1, Attachment: "platform"}
	rand.Read(a.AAGUID[:])
	return a
}

var b64 = base64.RawURLEncoding

type options struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		User      struct {
			ID string `json:"id"`
		} `json:"user"`
	} `json:"publicKey"`
}

// Challenge returns the challenge of creation or request options JSON.
func Challenge(optionsJSON []byte) (string, error) {
	var o options
	if err := json.Unmarshal(optionsJSON, &o); err != nil {
		return "", err
	}
	if o.PublicKey.Challenge == "" {
		return "", fmt.Errorf("passkeystest: no publicKey.challenge in %s", optionsJSON)
	}
	return o.PublicKey.Challenge, nil
}

// ClientData is clientDataJSON of the ceremony typ with challenge at a.Origin.
func (a *Authenticator) ClientData(typ, challenge string) []byte {
	if a.Type != "" {
		typ = a.Type
	}
	b, _ := json.Marshal(struct {
		Type        string `json:"type"`
		Challenge   string `json:"challenge"`
		Origin      string `json:"origin"`
		CrossOrigin bool   `json:"crossOrigin"`
	}{typ, challenge, a.Origin, false})
	return b
}

func (a *Authenticator) authData(flags byte, attested []byte) []byte {
	h := sha256.Sum256([]byte(a.RPID))
	out := append(h[:0:0], h[:]...)
	out = append(out, flags)
	out = binary.BigEndian.AppendUint32(out, a.Counter)
	return append(out, attested...)
}

// COSEKey is the credential public key as a COSE_Key (RFC 9053 §7.1.1: EC2, ES256, P-256).
func (a *Authenticator) COSEKey() []byte {
	pub, err := a.Key.PublicKey.Bytes() // 0x04 || x || y
	if err != nil {
		panic(err)
	}
	x, y := pub[1:33], pub[33:]
	var e cbor
	e.head(5, 5)
	e.int(1).int(2)    // kty: EC2
	e.int(3).int(-7)   // alg: ES256
	e.int(-1).int(1)   // crv: P-256
	e.int(-2).bytes(x) // x
	e.int(-3).bytes(y) // y
	return e.b
}

// Create answers creation options JSON as navigator.credentials.create would, with "none"
// attestation: the PublicKeyCredential JSON (WebAuthn §5.1, toJSON form).
func (a *Authenticator) Create(optionsJSON []byte) ([]byte, error) {
	var o options
	if err := json.Unmarshal(optionsJSON, &o); err != nil {
		return nil, err
	}
	uh, err := b64.DecodeString(o.PublicKey.User.ID)
	if err != nil {
		return nil, fmt.Errorf("passkeystest: user.id: %w", err)
	}
	a.UserHandle = uh
	return a.CreateWithChallenge(o.PublicKey.Challenge), nil
}

// CreateWithChallenge is Create for a given challenge (base64url).
func (a *Authenticator) CreateWithChallenge(challenge string) []byte {
	attested := append(a.AAGUID[:0:0], a.AAGUID[:]...)
	attested = binary.BigEndian.AppendUint16(attested, uint16(len(a.CredID)))
	attested = append(attested, a.CredID...)
	attested = append(attested, a.COSEKey()...)
	ad := a.authData(a.Flags|FlagAT, attested)
	var e cbor
	e.head(5, 3)
	e.text("fmt").text("none")
	e.text("attStmt").head(5, 0)
	e.text("authData").bytes(ad)
	b, _ := json.Marshal(map[string]any{
		"id": b64.EncodeToString(a.CredID), "rawId": b64.EncodeToString(a.CredID), "type": "public-key",
		"authenticatorAttachment": a.Attachment, "clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(a.ClientData("webauthn.create", challenge)),
			"attestationObject": b64.EncodeToString(e.b),
			"transports":        []string{"internal", "hybrid"},
		},
	})
	return b
}

// Get answers request options JSON as navigator.credentials.get would: the
// PublicKeyCredential JSON of an assertion, counter advanced by Step.
func (a *Authenticator) Get(optionsJSON []byte) ([]byte, error) {
	ch, err := Challenge(optionsJSON)
	if err != nil {
		return nil, err
	}
	return a.GetWithChallenge(ch), nil
}

// GetWithChallenge is Get for a given challenge (base64url).
func (a *Authenticator) GetWithChallenge(challenge string) []byte {
	a.Counter += a.Step
	ad := a.authData(a.Flags, nil)
	cd := a.ClientData("webauthn.get", challenge)
	cdh := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), cdh[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.Key, digest[:])
	if err != nil {
		panic(err)
	}
	resp := map[string]any{
		"clientDataJSON":    b64.EncodeToString(cd),
		"authenticatorData": b64.EncodeToString(ad),
		"signature":         b64.EncodeToString(sig),
	}
	if a.UserHandle != nil {
		resp["userHandle"] = b64.EncodeToString(a.UserHandle)
	}
	b, _ := json.Marshal(map[string]any{
		"id": b64.EncodeToString(a.CredID), "rawId": b64.EncodeToString(a.CredID), "type": "public-key",
		"authenticatorAttachment": a.Attachment, "clientExtensionResults": map[string]any{}, "response": resp,
	})
	return b
}

// cbor writes the little CBOR (RFC 8949) the responses need: heads, ints, byte and text
// strings; maps are written as a head followed by their keys and values.
type cbor struct{ b []byte }

func (e *cbor) head(major byte, n uint64) *cbor {
	switch {
	case n < 24:
		e.b = append(e.b, major<<5|byte(n))
	case n < 1<<8:
		e.b = append(e.b, major<<5|24, byte(n))
	case n < 1<<16:
		e.b = append(e.b, major<<5|25)
		e.b = binary.BigEndian.AppendUint16(e.b, uint16(n))
	default:
		e.b = append(e.b, major<<5|26)
		e.b = binary.BigEndian.AppendUint32(e.b, uint32(n))
	}
	return e
}

func (e *cbor) int(v int64) *cbor {
	if v < 0 {
		return e.head(1, uint64(-1-v))
	}
	return e.head(0, uint64(v))
}

func (e *cbor) bytes(v []byte) *cbor { e.head(2, uint64(len(v))); e.b = append(e.b, v...); return e }
func (e *cbor) text(v string) *cbor  { e.head(3, uint64(len(v))); e.b = append(e.b, v...); return e }
