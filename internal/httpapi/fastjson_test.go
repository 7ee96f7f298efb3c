package httpapi

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func TestAppendSignedInMatchesEncodingJSON(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)
	for _, tricky := range []string{"plain", `q"uote\\back`, "<script>&amp;</script>", "ctl\x00\x01\x1f\n\r\t", "bad\xffutf8", "ü€𝄞", "line\u2028sep\u2029", ""} {
		v := signedIn{
			User:    userJSON{ID: "u1", Email: tricky + "@example.com", EmailVerified: true, HasPassword: true, CreatedAt: at, UpdatedAt: at.Add(time.Second)},
			Session: sessionJSON{ID: "s1", CreatedAt: at, LastSeenAt: at, ExpiresAt: at, IdleExpiresAt: at, AuthTime: at, AMR: []string{"pwd", tricky}, IP: "::1", UserAgent: tricky, Current: tricky == "plain"},
		}
		want, _ := json.Marshal(v)
		got := appendSignedIn(nil, &v)
		var a, b any
		if err := json.Unmarshal(got, &a); err != nil {
			t.Fatalf("%q: invalid JSON %s: %v", tricky, got, err)
		}
		json.Unmarshal(want, &b)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%q:\n got %s\nwant %s", tricky, got, want)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	f.Add("a\"b\\c<>&\u2028\xff")
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Fatalf("%q: got %s want %s", s, got, want)
		}
	})
}
