package jws

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds a small strict JSON scanner (RFC 8259). It exists because encoding/json
// silently accepts duplicate member names (the last one wins) and matches struct fields
// case-insensitively, which lets a token say {"alg":"EdDSA","ALG":"none"} or
// {"sub":"alice","\u0073ub":"admin"} and have two readers disagree on what it means
// (RFC 7515 §4 and RFC 7519 §4 allow rejecting duplicates). The scanner validates the whole text in one pass, rejects any object that
// repeats a name under Go's case folding, and hands the top-level members to a visitor as raw
// values, so hot paths need no reflection and no maps.

// maxJSONDepth bounds nesting so that hostile input cannot exhaust the stack.
const maxJSONDepth = 32

var (
	errJSONSyntax    = errors.New("invalid JSON")
	errJSONDepth     = errors.New("JSON nested too deeply")
	errJSONDuplicate = errors.New("duplicate or case-variant member name")
	errJSONNotObject = errors.New("JSON value is not an object")
	errJSONUTF8      = errors.New("JSON text is not valid UTF-8")
	errJSONType      = errors.New("member has the wrong JSON type")
)

// visitFunc receives each top-level member of an object: its decoded name and its raw value.
type visitFunc func(name, raw string) error

// scanObject checks that s is exactly one strict JSON object and calls visit, if not nil, for
// each of its top-level members in order. It fails on the first problem.
func scanObject(s string, visit visitFunc) error {
	if !utf8.ValidString(s) {
		return errJSONUTF8
	}
	p := parser{s: s}
	p.skipWS()
	if p.i >= len(s) || s[p.i] != '{' {
		return errJSONNotObject
	}
	if err := p.object(0, visit); err != nil {
		return err
	}
	p.skipWS()
	if p.i != len(s) {
		return errJSONSyntax
	}
	return nil
}

// scanArray calls each for every element of raw, a JSON array already validated by scanObject.
func scanArray(raw string, each func(elem string) error) error {
	p := parser{s: raw}
	p.skipWS()
	if p.i >= len(raw) || raw[p.i] != '[' {
		return errJSONType
	}
	p.i++
	p.skipWS()
	if p.i < len(raw) && raw[p.i] == ']' {
		return nil
	}
	for {
		p.skipWS()
		start := p.i
		if err := p.value(1); err != nil {
			return err
		}
		if err := each(raw[start:p.i]); err != nil {
			return err
		}
		p.skipWS()
		if p.i >= len(raw) {
			return errJSONSyntax
		}
		switch raw[p.i] {
		case ',':
			p.i++
		case ']':
			return nil
		default:
			return errJSONSyntax
		}
	}
}

type parser struct {
	s string
	i int
}

func (p *parser) skipWS() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) value(depth int) error {
	if p.i >= len(p.s) {
		return errJSONSyntax
	}
	switch c := p.s[p.i]; {
	case c == '{':
		return p.object(depth, nil)
	case c == '[':
		return p.array(depth)
	case c == '"':
		_, err := p.str()
		return err
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	case c == '-' || ('0' <= c && c <= '9'):
		return p.number()
	}
	return errJSONSyntax
}

func (p *parser) literal(lit string) error {
	if !strings.HasPrefix(p.s[p.i:], lit) {
		return errJSONSyntax
	}
	p.i += len(lit)
	return nil
}

// number consumes -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? (RFC 8259 §6).
func (p *parser) number() error {
	s, i := p.s, p.i
	if s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	default:
		return errJSONSyntax
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || !isDigit(s[i]) {
			return errJSONSyntax
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || !isDigit(s[i]) {
			return errJSONSyntax
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	p.i = i
	return nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func (p *parser) array(depth int) error {
	if depth >= maxJSONDepth {
		return errJSONDepth
	}
	p.i++ // '['
	p.skipWS()
	if p.i < len(p.s) && p.s[p.i] == ']' {
		p.i++
		return nil
	}
	for {
		p.skipWS()
		if err := p.value(depth + 1); err != nil {
			return err
		}
		p.skipWS()
		if p.i >= len(p.s) {
			return errJSONSyntax
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			return nil
		default:
			return errJSONSyntax
		}
	}
}

func (p *parser) object(depth int, visit visitFunc) error {
	if depth >= maxJSONDepth {
		return errJSONDepth
	}
	p.i++ // '{'
	p.skipWS()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return nil
	}
	var names nameSet
	for {
		p.skipWS()
		if p.i >= len(p.s) || p.s[p.i] != '"' {
			return errJSONSyntax
		}
		name, err := p.str()
		if err != nil {
			return err
		}
		if !names.add(name) {
			return errJSONDuplicate
		}
		p.skipWS()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return errJSONSyntax
		}
		p.i++
		p.skipWS()
		start := p.i
		if err := p.value(depth + 1); err != nil {
			return err
		}
		if visit != nil {
			if err := visit(name, p.s[start:p.i]); err != nil {
				return err
			}
		}
		p.skipWS()
		if p.i >= len(p.s) {
			return errJSONSyntax
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			return nil
		default:
			return errJSONSyntax
		}
	}
}

// str consumes a JSON string starting at the opening quote and returns its decoded value. A
// string without escapes is returned as a substring of the input, without copying.
func (p *parser) str() (string, error) {
	s := p.s
	start := p.i + 1
	for i := start; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			p.i = i + 1
			return s[start:i], nil
		case c == '\\':
			return p.strEscaped(start)
		case c < 0x20:
			return "", errJSONSyntax
		}
	}
	return "", errJSONSyntax
}

// strEscaped decodes a string that contains escapes the way encoding/json does, so that both
// agree on which names are equal: a surrogate escape that is not part of a valid pair becomes
// U+FFFD.
func (p *parser) strEscaped(start int) (string, error) {
	s := p.s
	var b strings.Builder
	b.Grow(len(s) - start)
	i := start
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			p.i = i + 1
			return b.String(), nil
		case c < 0x20:
			return "", errJSONSyntax
		case c != '\\':
			b.WriteByte(c)
			i++
			continue
		}
		// Escape sequence.
		if i+1 >= len(s) {
			return "", errJSONSyntax
		}
		switch s[i+1] {
		case '"', '\\', '/':
			b.WriteByte(s[i+1])
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, ok := hex4(s, i+2)
			if !ok {
				return "", errJSONSyntax
			}
			i += 6
			if utf16.IsSurrogate(r) {
				if r2, ok := hex4u(s, i); ok {
					if dec := utf16.DecodeRune(r, r2); dec != unicode.ReplacementChar {
						b.WriteRune(dec)
						i += 6
						continue
					}
				}
				r = unicode.ReplacementChar
			}
			b.WriteRune(r)
			continue
		default:
			return "", errJSONSyntax
		}
		i += 2
	}
	return "", errJSONSyntax
}

// hex4u reads `\uXXXX` at s[i:].
func hex4u(s string, i int) (rune, bool) {
	if i+1 >= len(s) || s[i] != '\\' || s[i+1] != 'u' {
		return 0, false
	}
	return hex4(s, i+2)
}

// hex4 reads four hex digits at s[i:].
func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// nameSet detects repeated member names within one object under the folding that
// encoding/json uses to match names to struct fields (strings.EqualFold, i.e. Unicode simple
// folding: "k", "K" and the Kelvin sign are one name). Small objects compare pairwise without
// allocating; large ones switch to a map so hostile input stays linear.
type nameSet struct {
	small [16]string
	n     int
	big   map[string]struct{}
}

func (s *nameSet) add(name string) bool {
	if s.big != nil {
		k := foldName(name)
		if _, dup := s.big[k]; dup {
			return false
		}
		s.big[k] = struct{}{}
		return true
	}
	for _, prev := range s.small[:s.n] {
		if strings.EqualFold(prev, name) {
			return false
		}
	}
	if s.n < len(s.small) {
		s.small[s.n] = name
		s.n++
		return true
	}
	s.big = make(map[string]struct{}, 2*len(s.small))
	for _, prev := range s.small {
		s.big[foldName(prev)] = struct{}{}
	}
	s.big[foldName(name)] = struct{}{}
	return true
}

// foldName maps a name to a canonical form such that foldName(a) == foldName(b) exactly when
// strings.EqualFold(a, b): ASCII letters upper-cased, every other rune replaced by the smallest
// rune of its simple-folding orbit. It mirrors encoding/json's own field-name folding.
func foldName(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	for _, r := range name {
		if r < utf8.RuneSelf {
			if 'a' <= r && r <= 'z' {
				r -= 'a' - 'A'
			}
			b.WriteByte(byte(r))
			continue
		}
		b.WriteRune(foldRune(r))
	}
	return b.String()
}

func foldRune(r rune) rune {
	for {
		r2 := unicode.SimpleFold(r)
		if r2 <= r {
			return r2
		}
		r = r2
	}
}

// jsonString decodes a raw JSON value that must be a string.
func jsonString(raw string) (string, error) {
	if len(raw) == 0 || raw[0] != '"' {
		return "", errJSONType
	}
	p := parser{s: raw}
	return p.str()
}

// maxNumericDate is 9999-12-31T23:59:59Z; later (or negative) times are refused as nonsense,
// which also keeps all time arithmetic far from overflow.
const maxNumericDate = 253402300799

// jsonNumericDate decodes a raw JSON value that must be a NumericDate (RFC 7519 §2): a number
// of seconds since the epoch, possibly with a fraction, which is truncated.
func jsonNumericDate(raw string) (NumericDate, error) {
	if len(raw) == 0 || (raw[0] != '-' && !isDigit(raw[0])) {
		return 0, errJSONType
	}
	if v, err := strconv.ParseInt(raw, 10, 64); err == nil {
		if v < 0 || v > maxNumericDate {
			return 0, errJSONType
		}
		return NumericDate(v), nil
	}
	f, err := strconv.ParseFloat(raw, 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > maxNumericDate {
		return 0, errJSONType
	}
	return NumericDate(math.Floor(f)), nil
}

// jsonAudience decodes a raw "aud" value: a string or an array of strings (RFC 7519 §4.1.3).
func jsonAudience(raw string) (Audience, error) {
	if len(raw) > 0 && raw[0] == '"' {
		s, err := jsonString(raw)
		if err != nil {
			return nil, err
		}
		return Audience{s}, nil
	}
	if len(raw) == 0 || raw[0] != '[' {
		return nil, errJSONType
	}
	aud := Audience{}
	err := scanArray(raw, func(elem string) error {
		s, err := jsonString(elem)
		if err != nil {
			return err
		}
		aud = append(aud, s)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return aud, nil
}
