package password

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
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
		{"common capitalised", "Password", ErrCommon},
		{"common with surrounding spaces is not trimmed", " password ", nil},
		{"common listed capitalised", "Michelle", ErrCommon},
		{"common listed capitalised, lower-cased", "michelle", ErrCommon},
		{"common with suffix", "password1!xq", nil},
		{"breached password123", "password123", ErrCommon},
		{"breached upper-case", "PASSWORD123", ErrCommon},
		{"breached P@ssw0rd", "P@ssw0rd", ErrCommon},
		{"breached 50,000th", "trek5500", ErrCommon},
		{"breached 150,000th", "vidaloka2009", ErrCommon},
		{"breached 200,000th", "maxno1998", ErrCommon},
		{"random 12 characters", "q7#Vt9!mWz2p", nil},
		{"random 16 characters", "hT4$kq9Ls2&xVb8n", nil},
		{"random passphrase", "copper lantern sofa 47", nil},
		{"service name (also breached)", "gatehouse", ErrCommon},
		{"service name with symbols", "gatehouse!!", ErrContextual},
		{"service name with digits", "Gatehouse2024!", ErrContextual},
		{"service name in leet", "g4teh0use", ErrContextual},
		{"service name in leet with suffix", "G4teh0u$e!!", ErrContextual},
		{"service name twice", "gatehousegatehouse", ErrContextual},
		{"service name spaced", "Gate House", ErrContextual},
		{"parts of the service name", "housegate", nil}, // "gate" and "house" are not context words
		{"service name inside a longer password", "my gatehouse is tall", nil},
		{"invalid UTF-8", "abcdefgh\xff", ErrInvalid},
		{"truncated UTF-8", "abcdefgh\xc3", ErrInvalid},
		{"NUL", "abcd\x00efgh", ErrInvalid},
		{"spaces kept", "        ", nil},
		{"surrounding spaces not trimmed", "  abcde  ", nil},
		{"comment header line", "#!comment: This list has been compiled by Solar Designer", nil},
		{"8 runes of random hex", "9f3ac27d", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := Check(tt.pw); !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("Check(%q) = %v, want %v", tt.pw, err, tt.want)
			}
		})
	}
}

func TestCheckContext(t *testing.T) {
	const email = "John.Smith@Example-Corp.co.uk"
	for _, tt := range []struct {
		name, pw string
		want     error
	}{
		{"local part", "john.smith", ErrContextual},
		{"local part squeezed (also breached)", "JohnSmith", ErrCommon},
		{"local part with underscore", "John_Smith", ErrContextual},
		{"local part with digits", "johnsmith1987", ErrContextual},
		{"local part reversed words", "smith.john", ErrContextual},
		{"first name repeated", "johnjohnjohn", ErrContextual},
		{"last name with symbols", "!!smith!!2024", ErrContextual},
		{"last name leet", "5m17h5m17h", ErrContextual},
		{"domain label", "example-corp", ErrContextual},
		{"domain label with year", "ExampleCorp2025", ErrContextual},
		{"whole address", "john.smith@example-corp.co.uk", ErrContextual},
		{"name and service", "johngatehouse1", ErrContextual},
		{"short labels are not words", "couk1234", nil},
		{"name inside a sentence", "john likes red kites", nil},
		{"unrelated", "q7#Vt9!mWz2p", nil},
		{"another person's name", "margaretthatcher", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := Check(tt.pw, email); !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("Check(%q, %q) = %v, want %v", tt.pw, email, err, tt.want)
			}
		})
	}
	if err := Check("johnsmith1987"); err != nil {
		t.Fatalf("without context, johnsmith1987 = %v, want accepted", err)
	}
	if !errors.Is(ErrContextual, ErrCommon) {
		t.Fatal("ErrContextual must be an ErrCommon (API code password_too_common)")
	}
}

func TestCommonList(t *testing.T) {
	if !strings.HasPrefix(commonList, "#!comment: This list has been compiled by Solar Designer") {
		t.Fatal("the attribution header of common-passwords.txt is missing")
	}
	list := common()
	entries := 0
	for line := range strings.Lines(commonList) {
		line = strings.TrimSuffix(line, "\n")
		if strings.HasPrefix(line, "#!comment:") {
			continue
		}
		entries++ // one entry is the empty password; Check refuses it as too short
		if line == "" {
			continue
		}
		if _, ok := list[strings.ToLower(line)]; !ok {
			t.Fatalf("entry %q is not in the loaded list", line)
		}
	}
	if entries != 3546 {
		t.Fatalf("common-passwords.txt has %d entries, want the 3546 of password.lst", entries)
	}
	for w := range list {
		if strings.HasPrefix(w, "#!comment:") {
			t.Fatalf("comment line loaded as a password: %q", w)
		}
	}
}

// FuzzCheck checks that Check never panics and that its verdict agrees with the policy's
// definitions.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{"", "password1", "PASSWORD", "kq8#vZp2", "abcdefgh\xff", strings.Repeat("é", 257),
		"g4teh0use!", "johnsmith1987", strings.Repeat("john", 64)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pw string) {
		err := Check(pw, "john.smith@example.com")
		n := utf8.RuneCountInString(pw)
		switch {
		case !utf8.ValidString(pw) || strings.IndexByte(pw, 0) >= 0:
			if err != ErrInvalid {
				t.Fatalf("Check(%q) = %v, want ErrInvalid", pw, err)
			}
		case n < MinLength:
			if err != ErrTooShort {
				t.Fatalf("Check(%q) = %v, want ErrTooShort", pw, err)
			}
		case n > MaxLength:
			if err != ErrTooLong {
				t.Fatalf("Check(%q) = %v, want ErrTooLong", pw, err)
			}
		default:
			if err != nil && err != ErrCommon && err != ErrContextual {
				t.Fatalf("Check(%q) = %v", pw, err)
			}
		}
	})
}
