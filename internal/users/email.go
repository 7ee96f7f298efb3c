package users

import (
	"net/mail"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
)

// MaxEmailLen is the longest address accepted, in bytes of its normal form (RFC 5321
// §4.5.3.1.3 path limit).
const MaxEmailLen = 254

// maxEmailInput bounds the work done on an input before it is normalised: NFKC can shrink a
// string (fullwidth letters take three bytes each), so the input may be longer than
// MaxEmailLen, but never by more than this.
const maxEmailInput = 4 * MaxEmailLen

// domainProfile is the IDNA processing of a domain (UTS #46 with the STD3 host-name rules, the
// bidi rule of RFC 5893 and the CONTEXTJ rules of RFC 5892): the profile browsers and resolvers
// use for lookup, so that an address matches the mailbox its domain resolves to.
var domainProfile = idna.Lookup

// NormalizeEmail validates an address and returns its canonical form, the one stored and
// looked up. In order:
//
//  1. Surrounding white space is removed. An address containing a control, format or
//     default-ignorable character (zero-width space and joiners, soft hyphen, byte-order
//     mark, variation selectors, Hangul fillers, tag characters), a direction control
//     (Bidi_Control: LRM, RLO, isolates...) or inner white space (including no-break and
//     ideographic spaces) is refused with ErrEmailInvisible: such characters make two
//     addresses look identical, and no real mailbox needs them.
//  2. The address is put in Unicode normalisation form NFKC, which merges canonically
//     equivalent spellings (é as one code point or as e + combining acute: NFC vs NFD) and
//     compatibility variants (fullwidth ｊｏｈｎ＠ｅｘａｍｐｌｅ．ｃｏｍ, ligatures, superscripts).
//  3. The whole address is lower-cased (strings.ToLower). Lower-casing the local part is
//     technically wrong per RFC 5321 §2.4, but it is what every mail provider does, it
//     prevents two accounts for one mailbox, and it is the rule Gatehouse has always applied,
//     so every address stored before keeps its form. NFKC is applied again if lower-casing
//     produced a character outside it, until the form is stable.
//  4. A domain that is not plain ASCII, or that has an "xn--" label (an A-label, RFC 5890),
//     goes through IDNA (UTS #46 lookup processing, STD3 rules, bidi and CONTEXTJ checks) and
//     is stored in its Unicode form (U-labels): "bücher.example" and "xn--bcher-kva.example"
//     are one domain, stored as "bücher.example". Unicode rather than A-labels because the
//     confusable skeleton (EmailSkeleton) is only meaningful on the characters a person
//     sees. Plain ASCII domains without A-labels are kept as they were, for the same
//     compatibility with stored addresses.
//  5. Display names, comments, quoted local parts, addresses whose domain has no dot or
//     empty labels, and addresses longer than MaxEmailLen bytes are refused with
//     ErrInvalidEmail.
//
// Look-alike addresses that survive normalisation (Cyrillic а for Latin a, "rn" for "m") are
// not merged here, since they may be distinct mailboxes: the store refuses a new one whose
// EmailSkeleton matches an existing account's.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > maxEmailInput || !utf8.ValidString(s) {
		return "", ErrInvalidEmail
	}
	for _, r := range s {
		if invisible(r) {
			return "", ErrEmailInvisible
		}
	}
	s = foldEmail(s)
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", ErrInvalidEmail
	}
	at := strings.LastIndexByte(s, '@')
	local, domain := s[:at], s[at+1:]
	if local == "" || strings.HasPrefix(local, `"`) {
		return "", ErrInvalidEmail
	}
	if needsIDNA(domain) {
		ascii, err := domainProfile.ToASCII(domain)
		if err != nil {
			return "", ErrInvalidEmail
		}
		if domain, err = domainProfile.ToUnicode(ascii); err != nil {
			return "", ErrInvalidEmail
		}
	}
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") ||
		strings.Contains(domain, "..") {
		return "", ErrInvalidEmail
	}
	s = local + "@" + domain
	if len(s) > MaxEmailLen {
		return "", ErrInvalidEmail
	}
	for _, r := range s {
		if r < 0x21 || r == 0x7f || invisible(r) {
			return "", ErrInvalidEmail
		}
	}
	// IDNA may map the domain to characters that no longer parse (the normal form must be
	// accepted again, unchanged).
	if a, err := mail.ParseAddress(s); err != nil || a.Address != s {
		return "", ErrInvalidEmail
	}
	return s, nil
}

// foldEmail applies NFKC and lower-casing until the result is stable (one round almost
// always; lower-casing can, rarely, produce a character that NFKC changes again).
func foldEmail(s string) string {
	if isASCII(s) {
		return strings.ToLower(s) // ASCII is its own NFKC
	}
	for range 4 {
		next := norm.NFKC.String(strings.ToLower(norm.NFKC.String(s)))
		if next == s {
			break
		}
		s = next
	}
	return s
}

// needsIDNA reports whether a domain has non-ASCII characters or an A-label.
func needsIDNA(domain string) bool {
	for i := 0; i < len(domain); i++ {
		if domain[i] >= utf8.RuneSelf {
			return true
		}
	}
	for label := range strings.SplitSeq(domain, ".") {
		if strings.HasPrefix(label, "xn--") {
			return true
		}
	}
	return false
}

// invisible reports whether r is a character an address may not contain: controls (Cc),
// white space, and the ignorable characters below.
func invisible(r rune) bool {
	if r < utf8.RuneSelf {
		return r <= ' ' || r == 0x7f // the only invisible ASCII: controls, space, DEL
	}
	return ignorable(r) || unicode.Is(unicode.Cc, r) || unicode.Is(unicode.White_Space, r) ||
		unicode.Is(unicode.Zs, r) || unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r)
}

// ignorable approximates Default_Ignorable_Code_Point (UAX #44) from Go's tables, erring on
// the side of more: format characters (Cf, which include every Bidi_Control, the soft hyphen,
// zero-width space and joiners, the byte-order mark and the tag characters), the other
// default-ignorable characters (combining grapheme joiner, Hangul fillers, Khmer inherent
// vowels) and variation selectors.
func ignorable(r rune) bool {
	if r < 0xAD {
		return false // the first format character is the soft hyphen
	}
	return unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) ||
		unicode.Is(unicode.Variation_Selector, r) || unicode.Is(unicode.Bidi_Control, r)
}

// EmailSkeleton returns the confusable skeleton of an address (UTS #39 §4 "skeleton", on the
// data of Unicode's confusables.txt, version confusablesVersion): two addresses a person
// cannot tell apart, such as "paypal@example.com" with a Latin a and "pаypal@example.com" with
// a Cyrillic а, or "modern@example.com" and "rnodern@example.com", have the same skeleton.
// Stores keep it in a unique index so that a new account cannot impersonate an existing one.
//
// The skeleton is computed from the address as NormalizeEmail would store it (NFKC, lower
// case, domain in Unicode form), and is also tolerant of addresses stored before that rule:
// it applies the same folding and decodes A-labels itself. It is an index key, never shown.
func EmailSkeleton(email string) string {
	s := foldEmail(email)
	if at := strings.LastIndexByte(s, '@'); at >= 0 && needsIDNA(s[at+1:]) {
		if d, err := domainProfile.ToUnicode(s[at+1:]); err == nil {
			s = s[:at+1] + d
		}
	}
	return skeleton(s)
}

// skeleton is UTS #39's skeleton(X): NFD, remove default-ignorable code points, map every
// character to its prototype, NFD again.
func skeleton(s string) string {
	if isASCII(s) {
		// The fast path of every plain address: ASCII is its own NFD, and the prototypes of
		// ASCII characters are canonically decomposed already.
		t := asciiPrototypes()
		var b strings.Builder
		b.Grow(len(s) + 8)
		for i := 0; i < len(s); i++ {
			b.WriteString(t[s[i]])
		}
		return b.String()
	}
	s = norm.NFD.String(s)
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if ignorable(r) {
			continue
		}
		if to, ok := prototype(r); ok {
			b.WriteString(to)
		} else {
			b.WriteRune(r)
		}
	}
	return norm.NFD.String(b.String())
}

// asciiPrototypes is the prototype of every ASCII character.
var asciiPrototypes = sync.OnceValue(func() *[128]string {
	var t [128]string
	for c := range rune(128) {
		if to, ok := prototype(c); ok {
			t[c] = norm.NFD.String(to)
		} else {
			t[c] = string(c)
		}
	}
	return &t
})

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// prototype looks r up in the confusables table.
func prototype(r rune) (string, bool) {
	i := sort.Search(len(confusables), func(i int) bool { return confusables[i].r >= r })
	if i < len(confusables) && confusables[i].r == r {
		return confusables[i].to, true
	}
	return "", false
}
