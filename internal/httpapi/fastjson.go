package httpapi

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// This file hand-encodes the answer of GET /v1/session, the hottest route: encoding/json's
// reflection over nine time.Time fields was 40 % of the handler's CPU. A test checks that the
// result decodes exactly like encoding/json's.

// appendJSONString appends s as a JSON string, escaping like encoding/json (including <, >, &
// and U+2028/U+2029, and replacing invalid UTF-8 with U+FFFD).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\b':
				b = append(b, '\\', 'b')
			case c == '\f':
				b = append(b, '\\', 'f')
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

func appendBool(b []byte, v bool) []byte { return strconv.AppendBool(b, v) }

// appendSignedIn encodes signedIn exactly as its json tags describe.
func appendSignedIn(b []byte, v *signedIn) []byte {
	u, s := &v.User, &v.Session
	b = append(b, `{"user":{"id":`...)
	b = appendJSONString(b, u.ID)
	b = append(b, `,"email":`...)
	b = appendJSONString(b, u.Email)
	b = append(b, `,"email_verified":`...)
	b = appendBool(b, u.EmailVerified)
	b = append(b, `,"disabled":`...)
	b = appendBool(b, u.Disabled)
	b = append(b, `,"has_password":`...)
	b = appendBool(b, u.HasPassword)
	b = append(b, `,"created_at":`...)
	b = appendTime(b, u.CreatedAt)
	b = append(b, `,"updated_at":`...)
	b = appendTime(b, u.UpdatedAt)
	b = append(b, `},"session":{"id":`...)
	b = appendJSONString(b, s.ID)
	for _, f := range []struct {
		name string
		t    time.Time
	}{{"created_at", s.CreatedAt}, {"last_seen_at", s.LastSeenAt}, {"expires_at", s.ExpiresAt}, {"idle_expires_at", s.IdleExpiresAt}, {"auth_time", s.AuthTime}} {
		b = append(b, `,"`...)
		b = append(b, f.name...)
		b = append(b, `":`...)
		b = appendTime(b, f.t)
	}
	b = append(b, `,"amr":[`...)
	for i, a := range s.AMR {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, a)
	}
	b = append(b, `],"ip":`...)
	b = appendJSONString(b, s.IP)
	b = append(b, `,"user_agent":`...)
	b = appendJSONString(b, s.UserAgent)
	if s.Current {
		b = append(b, `,"current":true`...)
	}
	return append(b, "}}\n"...)
}
