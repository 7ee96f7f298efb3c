package mfa

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"net/url"
	"strings"
	"time"

	qrcode "github.com/skip2/go-qrcode"
)

// The TOTP parameters Gatehouse uses (RFC 6238 with the defaults of §4 and §5.2, which every
// authenticator app supports): HMAC-SHA-1, 6 digits, 30-second steps counted from the Unix
// epoch, and one step of clock drift either way.
const (
	Digits = 6
	Period = 30 * time.Second
	Skew   = 1
)

// SeedBytes is the size of a generated seed: 160 bits, the length RFC 4226 §4 recommends.
const SeedBytes = 20

// Bounds on an imported seed (see ParseSeed). Many deployed authenticators hold 80-bit seeds
// (16 base32 characters), below RFC 4226's 128-bit minimum; refusing them would break the
// migrated users' apps, and a 6-digit code is the weaker link either way.
const (
	minImportedSeed = 10
	maxImportedSeed = 64
)

// b32 is the seed encoding of otpauth URIs: RFC 4648 base32, upper case, without padding.
var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewSeed returns SeedBytes random bytes from crypto/rand.
func NewSeed() []byte {
	s := make([]byte, SeedBytes)
	rand.Read(s) // never returns an error (crypto/rand docs)
	return s
}

// EncodeSeed returns seed as upper-case base32 without padding, as authenticator apps expect.
func EncodeSeed(seed []byte) string { return b32.EncodeToString(seed) }

// ParseSeed decodes a base32 seed as people and other systems write it: any case, with or
// without '=' padding, spaces or dashes between groups. It accepts 80 to 512 bits.
func ParseSeed(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == ' ' || r == '-' || r == '=':
			return -1
		case 'a' <= r && r <= 'z':
			return r - 'a' + 'A'
		}
		return r
	}, s)
	seed, err := b32.DecodeString(s)
	if err != nil {
		return nil, errors.New("mfa: the TOTP secret is not valid base32")
	}
	if len(seed) < minImportedSeed || len(seed) > maxImportedSeed {
		return nil, fmt.Errorf("mfa: a TOTP secret must have %d to %d bits", minImportedSeed*8, maxImportedSeed*8)
	}
	return seed, nil
}

// truncated is the 31-bit "dynamic truncation" of HMAC-SHA-1(seed, counter) of RFC 4226
// §5.3, before its reduction to decimal digits.
func truncated(seed []byte, counter uint64) uint32 {
	return truncatedMAC(hmac.New(sha1.New, seed), counter)
}

// truncatedMAC is truncated with a keyed HMAC-SHA-1, which it resets first, so that one
// verification keys the HMAC once for all the steps it tries.
func truncatedMAC(m hash.Hash, counter uint64) uint32 {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	m.Reset()
	m.Write(msg[:])
	var buf [sha1.Size]byte
	sum := m.Sum(buf[:0])
	off := sum[len(sum)-1] & 0x0f
	return binary.BigEndian.Uint32(sum[off:]) & 0x7fffffff
}

// hotp is HOTP (RFC 4226 §5.3) with Digits digits, as a number (the code is it zero-padded).
func hotp(seed []byte, counter uint64) uint32 { return truncated(seed, counter) % 1_000_000 }

// step is the TOTP time step T of RFC 6238 §4.2 for t (T0 = 0, X = Period). Times before the
// epoch do not occur with a sane clock; they map to step 0.
func step(t time.Time) uint64 {
	u := t.Unix()
	if u < 0 {
		return 0
	}
	return uint64(u) / uint64(Period/time.Second)
}

// stepEnd is the instant at which step s ends.
func stepEnd(s uint64) time.Time {
	return time.Unix(int64(s+1)*int64(Period/time.Second), 0)
}

// Code returns the TOTP code of seed at t, zero-padded to Digits digits.
func Code(seed []byte, t time.Time) string { return formatCode(hotp(seed, step(t))) }

func formatCode(n uint32) string { return fmt.Sprintf("%06d", n) }

// ParseCode reads a TOTP code as typed: Digits ASCII digits, optionally split by spaces (apps
// show "123 456"). Anything else is malformed and never reaches the verifier.
func ParseCode(s string) (uint32, bool) {
	if len(s) > 16 {
		return 0, false
	}
	var n uint32
	digits := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ':
		case '0' <= c && c <= '9':
			digits++
			n = n*10 + uint32(c-'0')
		default:
			return 0, false
		}
	}
	if digits != Digits {
		return 0, false
	}
	return n, true
}

// match reports the step in [step(now)-Skew, step(now)+Skew] whose code is code, if any. Every
// candidate is computed and compared in constant time, so the time taken tells nothing about
// which step (if any) matched.
func match(seed []byte, code uint32, now time.Time) (uint64, bool) {
	cur := step(now)
	var found uint64
	ok := 0
	var want, got [4]byte
	binary.BigEndian.PutUint32(got[:], code)
	m := hmac.New(sha1.New, seed)
	for d := -Skew; d <= Skew; d++ {
		if d < 0 && cur < uint64(-d) {
			continue
		}
		s := uint64(int64(cur) + int64(d))
		binary.BigEndian.PutUint32(want[:], truncatedMAC(m, s)%1_000_000)
		eq := subtle.ConstantTimeCompare(want[:], got[:])
		if eq == 1 && ok == 0 {
			found = s
		}
		ok |= eq
	}
	return found, ok == 1
}

// URI returns the otpauth URI of Google Authenticator's Key Uri Format, which every
// authenticator app reads:
//
//	otpauth://totp/<issuer>:<account>?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30
//
// The issuer is repeated as a parameter because apps disagree on which one they show.
func URI(issuer, account string, seed []byte) string {
	label := escape(issuer) + ":" + escape(account)
	q := "secret=" + EncodeSeed(seed) +
		"&issuer=" + escape(issuer) +
		"&algorithm=SHA1&digits=6&period=30"
	return "otpauth://totp/" + label + "?" + q
}

// escape percent-encodes s for both the label and the query of an otpauth URI: ':' (the
// label separator), '&', '=' and '/' are escaped, and a space is %20, not '+', which some
// apps would show literally.
func escape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// qrModule is the width of one QR module in pixels: with the four-module quiet zone, an
// otpauth URI (QR version 6 to 8) gives an image of 300 to 350 pixels, sharp at any zoom
// because every module is a whole number of pixels.
const qrModule = 6

// QRDataURL renders uri as a QR code (error correction level M) in a PNG and returns it as a
// data: URL that a page can put in an <img src>, so the secret never leaves the response.
func QRDataURL(uri string) (string, error) {
	png, err := qrcode.Encode(uri, qrcode.Medium, -qrModule)
	if err != nil {
		return "", fmt.Errorf("mfa: QR code: %w", err)
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(png), nil
}
