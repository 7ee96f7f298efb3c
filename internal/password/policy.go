package password

import (
	"bufio"
	_ "embed"
	"errors"
	"strings"
	"sync"
	"unicode/utf8"
)

// Policy errors returned by Check. Their meanings are stable: the API exposes each as its own
// error code.
var (
	// ErrTooShort means the password has fewer than MinLength characters.
	ErrTooShort = errors.New("password: shorter than 8 characters")
	// ErrTooLong means the password has more than MaxLength characters.
	ErrTooLong = errors.New("password: longer than 256 characters")
	// ErrCommon means the password is on the common-password list, ignoring case.
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

// Check applies the password policy to a new password. It returns ErrInvalid for invalid
// UTF-8 or a NUL character, ErrTooShort or ErrTooLong outside MinLength..MaxLength characters,
// and ErrCommon when the password matches an entry of the bundled common-password list
// case-insensitively (both sides lower-cased with strings.ToLower), since "PASSWORD" and
// "Password" are as guessable as "password". The list check uses the password untrimmed:
// " password " is accepted, being outside the list and 10 characters long.
//
// Otherwise the password is taken exactly as received, here and by Hash and Verify: no
// trimming and no Unicode normalisation. NFKC (as RFC 8265's OpaqueString profile suggests)
// would let a user sign in from a keyboard that composes characters differently, but it would
// also silently merge distinct passwords and tie stored hashes to one Unicode version's
// tables; hashing the exact bytes keeps verification stable and predictable, and clients
// that care can normalise before sending.
func Check(password string) error {
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
	if _, ok := common()[strings.ToLower(password)]; ok {
		return ErrCommon
	}
	return nil
}
