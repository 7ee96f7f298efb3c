package password

import (
	"bufio"
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Policy errors returned by Check. Their meanings are stable: the API exposes each as its own
// error code.
var (
	// ErrTooShort means the password has fewer than MinLength characters.
	ErrTooShort = errors.New("password: shorter than 8 characters")
	// ErrTooLong means the password has more than MaxLength characters.
	ErrTooLong = errors.New("password: longer than 256 characters")
	// ErrCommon means the password is on the common-password list or in the breached-password
	// set, ignoring case (or, as ErrContextual, made of its context's words).
	ErrCommon = errors.New("password: too common")
	// ErrInvalid means the password is not valid UTF-8 or contains a NUL character.
	ErrInvalid = errors.New("password: not valid UTF-8 or contains NUL")
)

// Length limits of the policy, in characters (Unicode code points, not bytes), after NIST
// SP 800-63B §3.1.1.2: at least 8, and a maximum of 256 so that hashing input stays bounded.
const (
	MinLength = 8
	MaxLength = 256
)

// commonList is Openwall's password.lst (john-data, public domain), with its header.
//
//go:embed common-passwords.txt
var commonList string

// common holds the lower-case form of every entry of the list.
var common = sync.OnceValue(func() map[string]struct{} {
	m := make(map[string]struct{}, 4096)
	sc := bufio.NewScanner(strings.NewReader(commonList))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#!comment:") {
			continue
		}
		m[strings.ToLower(line)] = struct{}{}
	}
	return m
})

// ErrContextual means the password is, or is a simple variant of, a word from its context:
// the account's email address (its local part, the words in it, the domain's labels) or the
// service's name. It is an ErrCommon, so the API answers it as one (password_too_common).
var ErrContextual = fmt.Errorf("%w: based on the account's email or the service name", ErrCommon)

// ServiceName is always a context word: "gatehouse2024" is the first guess against any
// Gatehouse deployment.
const ServiceName = "gatehouse"

// Check applies the password policy to a new password (NIST SP 800-63B §3.1.1.2). It returns
//   - ErrInvalid for invalid UTF-8 or a NUL character;
//   - ErrTooShort or ErrTooLong outside MinLength..MaxLength characters;
//   - ErrCommon when the password, lower-cased with strings.ToLower, is on the bundled
//     common-password list (Openwall's password.lst) or in the embedded breached-password set
//     (the 200,000 most frequent passwords of 8 or more characters of a ten-million-password
//     breach corpus; see breachedData for its source, licence and false-positive rate), since
//     "PASSWORD" and "Password" are as guessable as "password";
//   - ErrContextual when the password is a simple variant of a context word: the service
//     name, and each of context, typically the account's email address, which contributes
//     itself, its local part, its domain and every run of letters and digits in it
//     ("john.smith@example.com" gives john.smith, john, smith, example.com, example, com).
//     A simple variant is, after lower-casing, leading and trailing digits and punctuation
//     removed, the common letter-for-digit substitutions undone (0→o, 1→i or l, 3→e, 4/@→a,
//     5/$→s, 7→t) and inner spaces, dots, hyphens and underscores removed, one or more context
//     words of 3 or more characters one after the other: "Gatehouse2024!", "g4teh0use",
//     "JohnSmith99", "smith.john" and "johnjohnjohn" are all refused for john.smith@….
//
// The list checks use the password untrimmed: " password " is accepted, being outside the
// list and 10 characters long.
//
// Otherwise the password is taken exactly as received, here and by Hash and Verify: no
// trimming and no Unicode normalisation. NFKC (as RFC 8265's OpaqueString profile suggests)
// would let a user sign in from a keyboard that composes characters differently, but it would
// also silently merge distinct passwords and tie stored hashes to one Unicode version's
// tables; hashing the exact bytes keeps verification stable and predictable, and clients
// that care can normalise before sending.
func Check(password string, context ...string) error {
	if err := validLength(password); err != nil {
		return err
	}
	lower := strings.ToLower(password)
	if _, ok := common()[lower]; ok {
		return ErrCommon
	}
	if breached().has(lower) {
		return ErrCommon
	}
	if contextual(lower, context) {
		return ErrContextual
	}
	return nil
}

// Policy is the password policy with an optional operator-provided breach corpus. A nil
// *Policy applies exactly Check.
type Policy struct {
	// Breached, when set, is an offline Pwned Passwords file (config breached_passwords_file)
	// consulted after the embedded set: a password found in it is ErrCommon.
	Breached *PwnedFile
}

// Check applies Check and then, when configured, looks the password up in p.Breached. An
// error reading the file is returned as it is (the caller fails the request rather than
// accepting a password it could not check).
func (p *Policy) Check(password string, context ...string) error {
	if err := Check(password, context...); err != nil {
		return err
	}
	if p == nil || p.Breached == nil {
		return nil
	}
	found, err := p.Breached.Contains(password)
	if err != nil {
		return fmt.Errorf("password: breached passwords file: %w", err)
	}
	if found {
		return ErrCommon
	}
	return nil
}

// validLength checks encoding and length.
func validLength(password string) error {
	if !utf8.ValidString(password) || strings.IndexByte(password, 0) >= 0 {
		return ErrInvalid
	}
	n := utf8.RuneCountInString(password)
	if n < MinLength {
		return ErrTooShort
	}
	if n > MaxLength {
		return ErrTooLong
	}
	return nil
}

// minContextWord is the shortest context word considered: shorter ones ("co", "uk") are
// parts of too many good passwords.
const minContextWord = 3

// contextWords returns the words Check compares a password with, lower-cased.
func contextWords(context []string) map[string]struct{} {
	words := map[string]struct{}{ServiceName: {}}
	add := func(w string) {
		for _, w := range []string{w, squeeze(w)} {
			if utf8.RuneCountInString(w) >= minContextWord {
				words[w] = struct{}{}
			}
		}
	}
	for _, c := range context {
		c = strings.ToLower(c)
		add(c)
		if local, domain, ok := strings.Cut(c, "@"); ok {
			add(local)
			add(domain)
		}
		for _, w := range strings.FieldsFunc(c, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			add(w)
		}
	}
	return words
}

// contextual reports whether lower (a lower-cased password) is a simple variant of the
// context words (see Check).
func contextual(lower string, context []string) bool {
	words := contextWords(context)
	notLetter := func(r rune) bool { return !unicode.IsLetter(r) }
	cores := []string{
		squeeze(strings.TrimFunc(lower, notLetter)),                             // Gatehouse2024! → gatehouse
		squeeze(strings.TrimFunc(unleet(lower, 'i'), notLetter)),                // g4teh0use → gatehouse
		squeeze(strings.TrimFunc(unleet(lower, 'l'), notLetter)),                // 1ucy → lucy
		squeeze(unleet(strings.TrimFunc(lower, isDigitOrPunct), 'i')),           // g4teh0use! → gatehouse
		squeeze(unleet(strings.TrimFunc(lower, isDigitOrPunct), 'l')),           // pau1smith → paulsmith
		squeeze(strings.TrimFunc(lower, func(r rune) bool { return r == ' ' })), // exact, spaces around
	}
	for _, c := range cores {
		if c != "" && segments(c, words) {
			return true
		}
	}
	return false
}

func isDigitOrPunct(r rune) bool {
	return unicode.IsDigit(r) || unicode.IsPunct(r) || unicode.IsSymbol(r)
}

// squeeze removes the separators people put between words.
func squeeze(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '.', '-', '_', '+':
			return -1
		}
		return r
	}, s)
}

// unleet undoes the usual letter-for-digit substitutions; one is read as i or l.
func unleet(s string, one rune) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '0':
			return 'o'
		case '1', '!', '|':
			return one
		case '3':
			return 'e'
		case '4', '@':
			return 'a'
		case '5', '$':
			return 's'
		case '7':
			return 't'
		}
		return r
	}, s)
}

// segments reports whether s is one or more words of the set, one after the other.
func segments(s string, words map[string]struct{}) bool {
	// ok[i]: s[:i] is a sequence of words. At most len(s) × len(words) prefix comparisons.
	ok := make([]bool, len(s)+1)
	ok[0] = true
	for j := range len(s) {
		if !ok[j] {
			continue
		}
		for w := range words {
			if strings.HasPrefix(s[j:], w) {
				ok[j+len(w)] = true
			}
		}
	}
	return ok[len(s)]
}
