package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader carries the signature of a webhook (and of a request to the legacy password
// endpoint): "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">". The timestamp is
// signed with the body, so a captured request cannot be replayed after the receiver's
// tolerance; a receiver may see several v1 values while a secret is being rotated and
// accepts the request when any of them matches.
const SignatureHeader = "Gatehouse-Signature"

// Signature errors. A receiver answers all of them the same way (401) and may log which.
var (
	ErrSignatureFormat   = errors.New("webhooks: malformed signature header")
	ErrSignatureMismatch = errors.New("webhooks: signature does not match")
	ErrSignatureExpired  = errors.New("webhooks: signature timestamp outside the tolerance")
)

// maxHeader bounds the work Verify does on an untrusted header.
const maxHeader = 4096

func mac(secret string, t int64, body []byte) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write(strconv.AppendInt(nil, t, 10))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Sign returns the Gatehouse-Signature header value for body sent at t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := t.Unix()
	return "t=" + strconv.FormatInt(ts, 10) + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

// Verify checks a Gatehouse-Signature header against body and secret: some v1 value must
// be the HMAC of "<t>.<body>" (compared in constant time), and t must be within tolerance
// of now, in the past or the future. Receivers should use a tolerance of a few minutes and
// drop duplicate Gatehouse-Delivery ids (delivery is at least once).
func Verify(header, secret string, body []byte, tolerance time.Duration, now time.Time) error {
	if len(header) > maxHeader {
		return ErrSignatureFormat
	}
	var (
		ts     int64
		haveTS bool
		sigs   [][]byte
	)
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ErrSignatureFormat
		}
		switch k {
		case "t":
			if haveTS || v == "" || strings.TrimLeft(v, "0123456789") != "" {
				return ErrSignatureFormat
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return ErrSignatureFormat
			}
			ts, haveTS = n, true
		case "v1":
			b, err := hex.DecodeString(v)
			if err != nil || len(b) != sha256.Size {
				return ErrSignatureFormat
			}
			sigs = append(sigs, b)
		default:
			// Other schemes (a future v2) are ignored, so receivers keep working while the
			// sender adds one.
		}
	}
	if !haveTS || len(sigs) == 0 {
		return ErrSignatureFormat
	}
	want := mac(secret, ts, body)
	match := false
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			match = true
		}
	}
	if !match {
		return ErrSignatureMismatch
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return ErrSignatureExpired
	}
	return nil
}
