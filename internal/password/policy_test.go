package password

import (
	"errors"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, tt := range []struct {
		name, pw string
		want     error
	}{
		{"empty", "", ErrTooShort},
		{"7 runes", "kq8#vZp", ErrTooShort},
		{"8 runes", "kq8#vZp2", nil},
		{"8 multibyte runes", "ünïcödé€", nil},
		{"8 four-byte runes", strings.Repeat("🔑", 8), nil},
		{"7 multibyte runes in 16 bytes", "ééééé€€", ErrTooShort},
		{"256 runes", strings.Repeat("ab", 128), nil},
		{"256 multibyte runes", strings.Repeat("é", 256), nil},
		{"257 runes", strings.Repeat("x", 257), ErrTooLong},
		{"common password1", "password1", ErrCommon},
		{"common 12345678", "12345678", ErrCommon},
		{"common upper-case", "PASSWORD", ErrCommon},
		{"common mixed case", "PassWord", ErrCommon},
		{"common listed capitalised", "Michelle", ErrCommon},
		{"common listed capitalised, lower-cased", "michelle", ErrCommon},
		{"common with suffix", "password1!x", nil},
		{"invalid UTF-8", "abcdefgh\xff", ErrInvalid},
		{"truncated UTF-8", "abcdefgh\xc3", ErrInvalid},
		{"NUL", "abcd\x00efgh", ErrInvalid},
		{"spaces kept", "        ", nil},
		{"surrounding spaces not trimmed", "  abcde  ", nil},
		{"comment header line", "#!comment: This list has been compiled by Solar Designer", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := Check(tt.pw); !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("Check(%q) = %v, want %v", tt.pw, err, tt.want)
			}
		})
	}
}

func TestCommonList(t *testing.T) {
	if !strings.HasPrefix(commonList, "#!comment: This list has been compiled by Solar Designer") {
		t.Fatal("the attribution header of common-passwords.txt is missing")
	}
	list := common()
	if n := len(list); n < 3546 {
		t.Fatalf("common list has %d entries, want at least the 3546 of password.lst", n)
	}
	for w := range list {
		if strings.HasPrefix(w, "#!comment:") {
			t.Fatalf("comment line loaded as a password: %q", w)
		}
	}
}
