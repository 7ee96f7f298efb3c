package password

import (
	"bufio"
	_ "embed"
	"errors"
	"strings"
	"sync"
	"unicode/utf8"
)

// Policy errors. The API maps each to a stable error code.
var (
	ErrTooShort = errors.New("password is shorter than 8 characters")
	ErrTooLong  = errors.New("password is longer than 256 characters")
	ErrCommon   = errors.New("password is too common")
	ErrInvalid  = errors.New("password is not valid UTF-8 or contains NUL")
)

// Length limits, in characters (Unicode code points), per NIST SP 800-63B §3.1.1.2.
const (
	MinLength = 8
	MaxLength = 256
)

//go:embed common-passwords.txt
var commonList string

var common = sync.OnceValue(func() map[string]struct{} {
	m := make(map[string]struct{}, 4096)
	sc := bufio.NewScanner(strings.NewReader(commonList))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#!comment:") || line == "" {
			continue
		}
		m[strings.ToLower(line)] = struct{}{}
	}
	return m
})

// Check applies the password policy: 8–256 characters, valid UTF-8 without NUL, and not in the
// common-password list (compared case-insensitively, since "PASSWORD" is as guessable as
// "password"). Passwords are otherwise taken exactly as received: no trimming and no Unicode
// normalisation, so what the user typed is what gets hashed and verified.
func Check(pw string) error {
	if !utf8.ValidString(pw) || strings.IndexByte(pw, 0) >= 0 {
		return ErrInvalid
	}
	n := utf8.RuneCountInString(pw)
	if n < MinLength {
		return ErrTooShort
	}
	if n > MaxLength {
		return ErrTooLong
	}
	if _, ok := common()[strings.ToLower(pw)]; ok {
		return ErrCommon
	}
	return nil
}
