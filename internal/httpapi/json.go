package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"unicode/utf8"
)

// maxBody caps every request body.
const maxBody = 64 << 10

// decodeJSON reads exactly one JSON object into v. It refuses other content types (so that a
// cross-site HTML form cannot reach the API), unknown fields, trailing data, bodies over
// maxBody, invalid UTF-8, and what checkJSON refuses (case-variant or duplicate member names,
// NUL characters). An empty body is allowed only when allowEmpty is set, and leaves v untouched.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any, allowEmpty bool) error {
	if allowEmpty && r.ContentLength == 0 {
		return nil
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return errorf(http.StatusUnsupportedMediaType, codeUnsupportedMedia, "request body must be application/json")
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return jsonError(err, allowEmpty)
	}
	if !utf8.Valid(data) {
		return errorf(http.StatusBadRequest, codeInvalidRequest, "request body must be valid UTF-8")
	}
	if err := checkJSON(data, reflect.TypeOf(v)); err != nil {
		if me, ok := err.(*memberError); ok {
			return errorf(http.StatusBadRequest, codeInvalidRequest, "%s", me.msg)
		}
		return jsonError(err, allowEmpty)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err, allowEmpty)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errorf(http.StatusBadRequest, codeInvalidRequest, "request body must hold a single JSON object")
	}
	return nil
}

func jsonError(err error, allowEmpty bool) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var big *http.MaxBytesError
	switch {
	case errors.As(err, &big):
		return errorf(http.StatusRequestEntityTooLarge, codeTooLarge, "request body is larger than %d bytes", maxBody)
	case errors.Is(err, io.EOF):
		if allowEmpty {
			return nil
		}
		return errorf(http.StatusBadRequest, codeInvalidRequest, "request body is empty")
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF):
		return errorf(http.StatusBadRequest, codeInvalidRequest, "request body is not valid JSON")
	case errors.As(err, &typ):
		if typ.Field == "" {
			return errorf(http.StatusBadRequest, codeInvalidRequest, "request body must be a JSON object")
		}
		return errorf(http.StatusBadRequest, codeInvalidRequest, "field %q must be a %s", typ.Field, jsonKind(typ.Type.Kind().String()))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return errorf(http.StatusBadRequest, codeInvalidRequest, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		return &Error{Status: http.StatusBadRequest, Code: codeInvalidRequest, Description: "request body could not be read", Err: err}
	}
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "list"
	case "struct", "map", "ptr":
		return "object"
	default:
		return "number"
	}
}

// writeJSON answers with v as JSON. API answers are never cached: they can carry tokens.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	if v != nil && status != http.StatusNoContent {
		_ = json.NewEncoder(w).Encode(v)
	}
}

// required returns an error naming the first empty field.
func required(fields ...string) error {
	for i := 0; i+1 < len(fields); i += 2 {
		if fields[i+1] == "" {
			return errorf(http.StatusBadRequest, codeInvalidRequest, "field %q is required", fields[i])
		}
	}
	return nil
}
