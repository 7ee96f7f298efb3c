package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// checkJSON walks a JSON document that is about to be decoded into a value of type t and
// refuses what encoding/json would silently accept:
//   - member names that match a field only case-insensitively ("EMAIL" for "email"), which
//     encoding/json folds onto the field;
//   - duplicate member names in one object, compared case-insensitively, of which
//     encoding/json keeps the last;
//   - NUL characters in any string (PostgreSQL cannot store them and no field needs them).
//
// Two parsers disagreeing about which "email" counts is the root of request-smuggling bugs;
// refusing is the only answer that is the same for every reader. The document must already be
// valid UTF-8 (checked by the caller); syntax errors are left to the decoder that follows.
func checkJSON(data []byte, t reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	err := checkValue(dec, t, "")
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return nil // empty or truncated: the decoder reports it
	}
	if _, ok := err.(*json.SyntaxError); ok {
		return nil
	}
	return err
}

// memberError is a refused member name or value, answered as 400 invalid_request.
type memberError struct{ msg string }

func (e *memberError) Error() string { return e.msg }

func checkValue(dec *json.Decoder, t reflect.Type, path string) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch v := tok.(type) {
	case string:
		if strings.IndexByte(v, 0) >= 0 {
			return &memberError{fmt.Sprintf("field %q must not contain NUL characters", strings.TrimPrefix(path, "."))}
		}
		return nil
	case json.Delim:
		switch v {
		case '{':
			return checkObject(dec, t, path)
		case '[':
			var elem reflect.Type
			if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
				elem = t.Elem()
			}
			for dec.More() {
				if err := checkValue(dec, elem, path+"[]"); err != nil {
					return err
				}
			}
			_, err := dec.Token() // ']'
			return err
		}
	}
	return nil // numbers, booleans, null
}

func checkObject(dec *json.Decoder, t reflect.Type, path string) error {
	var fields map[string]reflect.Type
	var elem reflect.Type
	if t != nil {
		switch t.Kind() {
		case reflect.Struct:
			fields = structFields(t)
		case reflect.Map:
			elem = t.Elem()
		}
	}
	seen := make(map[string]struct{}, 8)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := tok.(string)
		full := path + "." + name
		if strings.IndexByte(name, 0) >= 0 {
			return &memberError{"member names must not contain NUL characters"}
		}
		folded := foldName(name)
		if _, dup := seen[folded]; dup {
			return &memberError{fmt.Sprintf("field %q appears more than once", strings.TrimPrefix(full, "."))}
		}
		seen[folded] = struct{}{}
		next := elem
		if fields != nil {
			ft, ok := fields[name]
			if !ok {
				for exact := range fields {
					if foldName(exact) == folded {
						return &memberError{fmt.Sprintf("unknown field %q (did you mean %q? names are case-sensitive)", strings.TrimPrefix(full, "."), exact)}
					}
				}
			}
			next = ft // nil for unknown fields: the decoder refuses them
		}
		if err := checkValue(dec, next, full); err != nil {
			return err
		}
	}
	_, err := dec.Token() // '}'
	return err
}

// foldName maps name to one representative of its case-folding class (each rune to the
// smallest rune of its unicode.SimpleFold orbit), so that every pair of names that
// encoding/json would match to the same field folds to the same string, "K" and the Kelvin
// sign included.
func foldName(name string) string {
	ascii := true
	for i := 0; i < len(name); i++ {
		if name[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(name)
	}
	var b strings.Builder
	for _, r := range name {
		low := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			low = min(low, f)
		}
		b.WriteRune(low)
	}
	return b.String()
}

var fieldCache sync.Map // reflect.Type -> map[string]reflect.Type

// structFields returns the JSON member names of struct t (following encoding/json's tag rules
// for the cases this API uses: a tag name, or the Go field name, and "-" to skip) with their
// types. Embedded structs contribute their fields.
func structFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := make(map[string]reflect.Type)
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range structFields(ft) {
					m[k] = v
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f.Type
	}
	fieldCache.Store(t, m)
	return m
}

// validText reports whether s can be stored and shown as text: valid UTF-8 without NUL.
func validText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// checkParams refuses query or form parameters (names and values) that are not valid text,
// so that they fail here with 400 instead of deep in a store that cannot hold them.
func checkParams(params map[string][]string, where string) error {
	for k, vs := range params {
		if !validText(k) {
			return errorf(http.StatusBadRequest, codeInvalidRequest, "%s parameter names must be valid UTF-8 without NUL characters", where)
		}
		for _, v := range vs {
			if !validText(v) {
				return errorf(http.StatusBadRequest, codeInvalidRequest, "%s parameter %q must be valid UTF-8 without NUL characters", where, k)
			}
		}
	}
	return nil
}

// cleanHeader makes a header value safe to store and log: invalid UTF-8 becomes U+FFFD, NUL
// and other control characters are dropped, and the result is cut to at most n bytes on a
// rune boundary.
func cleanHeader(s string, n int) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c >= 0x80 {
			clean = false
			break
		}
	}
	if clean {
		if len(s) > n {
			return s[:n]
		}
		return s
	}
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			continue
		}
		if b.Len()+utf8.RuneLen(r) > n {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}
