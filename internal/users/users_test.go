package users

import (
	"errors"
	"net/mail"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNormalizeEmail(t *testing.T) {
	tests := []struct {
		name, in, want string
		err            error // nil: accepted
	}{
		{"plain", "alice@example.com", "alice@example.com", nil},
		{"case and space", "  Alice@Example.COM ", "alice@example.com", nil},
		{"plus", "a+tag@example.co.uk", "a+tag@example.co.uk", nil},
		{"unicode domain", "bob@exämple.de", "bob@exämple.de", nil},
		{"ascii domain with underscore kept as before", "a@my_host.example.com", "a@my_host.example.com", nil},
		{"empty", "", "", ErrInvalidEmail},
		{"no at", "alice.example.com", "", ErrInvalidEmail},
		{"no domain dot", "alice@localhost", "", ErrInvalidEmail},
		{"display name", "Alice <alice@example.com>", "", ErrInvalidEmail},
		{"quoted local", `"a b"@example.com`, "", ErrInvalidEmail},
		{"two ats", "a@b@example.com", "", ErrInvalidEmail},
		{"trailing dot", "a@example.com.", "", ErrInvalidEmail},
		{"double dot", "a@example..com", "", ErrInvalidEmail},
		{"control char", "a\x01@example.com", "", ErrInvalidEmail},
		{"inner space", "a b@example.com", "", ErrInvalidEmail},
		{"invalid utf8", "a\xff@example.com", "", ErrInvalidEmail},
		{"too long", strings.Repeat("a", 250) + "@e.com", "", ErrInvalidEmail},
		{"huge input", strings.Repeat("ａ", 400) + "@example.com", "", ErrInvalidEmail},

		// Compatibility forms fold to the letters they display (NFKC).
		{"fullwidth", "ｊｏｈｎ＠ｅｘａｍｐｌｅ．ｃｏｍ", "john@example.com", nil},
		{"fullwidth upper-case", "ＪＯＨＮ@example.com", "john@example.com", nil},
		{"mathematical bold", "𝐣𝐨𝐡𝐧@example.com", "john@example.com", nil},
		{"kelvin sign", "\u212Aate@example.com", "kate@example.com", nil},
		{"ligature fi", "\uFB01sh@example.com", "fish@example.com", nil},
		{"modifier capital", "\u1D2Cnn@example.com", "ann@example.com", nil},
		// Canonically equivalent spellings are one address (NFC vs NFD).
		{"NFC é", "jos\u00e9@example.com", "jos\u00e9@example.com", nil},
		{"NFD e + combining acute", "jose\u0301@example.com", "jos\u00e9@example.com", nil},
		{"NFD upper-case", "JOSE\u0301@EXAMPLE.COM", "jos\u00e9@example.com", nil},
		// IDN and punycode are one domain, stored in Unicode form.
		{"IDN", "bob@bücher.example", "bob@bücher.example", nil},
		{"IDN upper-case", "bob@BÜCHER.example", "bob@bücher.example", nil},
		{"IDN NFD", "bob@bu\u0308cher.example", "bob@bücher.example", nil},
		{"punycode", "bob@xn--bcher-kva.example", "bob@bücher.example", nil},
		{"punycode upper-case", "bob@XN--BCHER-KVA.example", "bob@bücher.example", nil},
		{"fullwidth domain", "bob@ｂüｃｈｅｒ.example", "bob@bücher.example", nil},
		{"ideographic full stop", "bob@bücher\u3002example", "bob@bücher.example", nil},
		{"invalid punycode", "bob@xn--zz-.example", "", ErrInvalidEmail},
		{"punycode of a disallowed character", "bob@xn--80ak6aa92e.example", "bob@\u0430\u0440\u0440\u04cf\u0435.example", nil},
		{"IDN label with leading hyphen", "bob@-bücher.example", "", ErrInvalidEmail},
		{"IDN bidi rule", "bob@a\u05d0.example", "", ErrInvalidEmail},
		// Homoglyphs of another script are distinct addresses (the store refuses look-alikes).
		{"cyrillic a", "p\u0430ypal@example.com", "p\u0430ypal@example.com", nil},
		// Invisible and direction-control characters are refused.
		{"zero-width space", "jo\u200bhn@example.com", "", ErrEmailInvisible},
		{"zero-width non-joiner", "jo\u200chn@example.com", "", ErrEmailInvisible},
		{"zero-width joiner", "jo\u200dhn@example.com", "", ErrEmailInvisible},
		{"word joiner", "jo\u2060hn@example.com", "", ErrEmailInvisible},
		{"byte-order mark", "\ufeffjohn@example.com", "", ErrEmailInvisible},
		{"soft hyphen", "jo\u00adhn@example.com", "", ErrEmailInvisible},
		{"soft hyphen in domain", "john@exam\u00adple.com", "", ErrEmailInvisible},
		{"zero-width joiner in domain", "john@exam\u200dple.com", "", ErrEmailInvisible},
		{"right-to-left override", "john\u202e@example.com", "", ErrEmailInvisible},
		{"right-to-left mark", "john@example.com\u200f", "", ErrEmailInvisible},
		{"left-to-right isolate", "\u2066john@example.com", "", ErrEmailInvisible},
		{"arabic letter mark", "john\u061c@example.com", "", ErrEmailInvisible},
		{"combining grapheme joiner", "jo\u034fhn@example.com", "", ErrEmailInvisible},
		{"variation selector", "john\ufe0f@example.com", "", ErrEmailInvisible},
		{"hangul filler", "john\u3164@example.com", "", ErrEmailInvisible},
		{"tag character", "john\U000E0041@example.com", "", ErrEmailInvisible},
		{"no-break space", "jo\u00a0hn@example.com", "", ErrEmailInvisible},
		{"ideographic space", "jo\u3000hn@example.com", "", ErrEmailInvisible},
		{"C1 control", "jo\u0085hn@example.com", "", ErrEmailInvisible},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeEmail(tt.in)
			if tt.err == nil && err != nil || tt.err != nil && !errors.Is(err, tt.err) {
				t.Fatalf("NormalizeEmail(%q) err = %v, want %v", tt.in, err, tt.err)
			}
			if got != tt.want {
				t.Fatalf("NormalizeEmail(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestEmailErrors(t *testing.T) {
	if !errors.Is(ErrEmailInvisible, ErrInvalidEmail) {
		t.Fatal("ErrEmailInvisible must be an ErrInvalidEmail (API code invalid_email)")
	}
	if !errors.Is(ErrEmailConfusable, ErrEmailTaken) {
		t.Fatal("ErrEmailConfusable must be an ErrEmailTaken (API code email_taken)")
	}
}

func TestEmailSkeleton(t *testing.T) {
	tests := []struct {
		name, a, b string
		same       bool
	}{
		{"cyrillic a", "paypal@example.com", "p\u0430ypal@example.com", true},
		{"cyrillic in domain", "bob@paypal.com", "bob@\u0440\u0430\u0443\u0440\u0430l.com", true},
		{"cyrillic domain as punycode", "bob@apple.com", "bob@xn--80ak6aa92e.com", true},
		{"greek omicron", "bob@google.com", "bob@g\u03bf\u03bfgle.com", true},
		{"digit one and l", "bill@example.com", "bi11@example.com", true},
		{"rn and m", "modern@example.com", "rnodern@example.com", true},
		{"mathematical letters", "john@example.com", "𝚓𝚘𝚑𝚗@example.com", true},
		{"NFD", "jos\u00e9@example.com", "jose\u0301@example.com", true},
		{"different names", "alice@example.com", "alicia@example.com", false},
		{"digit zero is not o", "bob0@example.com", "bobo@example.com", false},
		{"different domains", "bob@example.com", "bob@example.org", false},
		{"plus tag", "bob+x@example.com", "bob@example.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			na, err := NormalizeEmail(tt.a)
			if err != nil {
				t.Fatal(err)
			}
			nb, err := NormalizeEmail(tt.b)
			if err != nil {
				t.Fatal(err)
			}
			sa, sb := EmailSkeleton(na), EmailSkeleton(nb)
			if (sa == sb) != tt.same {
				t.Fatalf("skeletons of %q and %q: %q and %q, want same=%v", na, nb, sa, sb, tt.same)
			}
			// The skeleton is tolerant of addresses stored before normalisation.
			if EmailSkeleton(tt.b) != sb {
				t.Fatalf("EmailSkeleton(%q) = %q, want %q as for its normal form", tt.b, EmailSkeleton(tt.b), sb)
			}
		})
	}
	if got := EmailSkeleton("Jo\u200bhn@Example.com"); got != EmailSkeleton("john@example.com") {
		t.Fatalf("a legacy address with an invisible character must have the skeleton of the visible one: %q", got)
	}
}

// legacyNormalizeEmail is the rule of Gatehouse before NFKC and IDNA: trimmed and lower-cased.
// Every ASCII address it accepted must keep its stored form.
func legacyNormalizeEmail(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > MaxEmailLen || !utf8.ValidString(s) {
		return "", false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", false
	}
	at := strings.LastIndexByte(s, '@')
	local, domain := s[:at], s[at+1:]
	if local == "" || strings.HasPrefix(local, `"`) || !strings.Contains(domain, ".") ||
		strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return "", false
	}
	for _, r := range s {
		if r < 0x21 || r == 0x7f {
			return "", false
		}
	}
	return strings.ToLower(s), true
}

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"a@b.c", "A <a@b.c>", "\"x\"@y.z", "@", "", "ｊｏｈｎ＠ｅｘａｍｐｌｅ．ｃｏｍ",
		"jose\u0301@example.com", "bob@xn--bcher-kva.example", "jo\u200bhn@example.com", "p\u0430ypal@example.com",
		"bob@bücher\u3002example", "\u1D2Cnn@example.com", "a@xn--a.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := NormalizeEmail(s)
		if legacy, ok := legacyNormalizeEmail(s); ok && isASCII(s) && !strings.Contains(strings.ToLower(s), "xn--") {
			if err != nil || got != legacy {
				t.Fatalf("ASCII address %q: %q, %v; it was stored as %q before", s, got, err, legacy)
			}
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidEmail) {
				t.Fatalf("NormalizeEmail(%q) = %v, not an ErrInvalidEmail", s, err)
			}
			return
		}
		again, err := NormalizeEmail(got)
		if err != nil || again != got {
			t.Fatalf("normal form not stable: %q -> %q -> %q (%v)", s, got, again, err)
		}
		if len(got) > MaxEmailLen || !utf8.ValidString(got) {
			t.Fatalf("NormalizeEmail(%q) = %q: too long or invalid UTF-8", s, got)
		}
		for _, r := range got {
			if invisible(r) {
				t.Fatalf("NormalizeEmail(%q) = %q keeps the invisible %U", s, got, r)
			}
		}
		if EmailSkeleton(got) != EmailSkeleton(again) {
			t.Fatalf("skeleton not stable for %q", got)
		}
	})
}

func BenchmarkNormalizeEmail(b *testing.B) {
	for b.Loop() {
		NormalizeEmail("Alice.Example+tag@Example.COM")
	}
}

func BenchmarkEmailSkeleton(b *testing.B) {
	for b.Loop() {
		EmailSkeleton("alice.example+tag@example.com")
	}
}

func BenchmarkEmailSkeletonUnicode(b *testing.B) {
	for b.Loop() {
		EmailSkeleton("jos\u00e9.p\u0430ypal@b\u00fccher.example")
	}
}
