package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/password"
	"github.com/gatehouse-auth/gatehouse/internal/userimport"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

// adminUserJSON is the user object of the management API: the public one plus the scheme of
// the stored password hash (docs/architecture.md), so that an operator can watch imported users move
// to argon2id.
// adminUserJSON is a user as the management API shows it: the profile the user sees (meJSON)
// and how its password is stored.
type adminUserJSON struct {
	*meJSON
	PasswordScheme string `json:"password_scheme"`
}

func toAdminUserJSON(u *users.User) adminUserJSON {
	scheme := password.Scheme(u.PasswordHash)
	if scheme == "" {
		scheme = "none"
	}
	return adminUserJSON{meJSON: toMe(u), PasswordScheme: scheme}
}

// importPath is the bulk user import: like the revocation stream, it lives as long as its
// input lasts, so the per-request deadline does not apply (see outer).
const importPath = "/v1/admin/users/import"

// importFlushEvery is how often (in results) the streamed answer is pushed to the client,
// besides at the end.
const importFlushEvery = 1000

// adminImportUsers streams an NDJSON body of users into the store and streams one result
// line per input line back (docs/architecture.md "Bulk user import", docs/migration.md). The body
// has no overall size cap, only the importer's cap per line; memory stays flat.
func (s *Server) adminImportUsers(w http.ResponseWriter, r *http.Request) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-ndjson" {
		return errorf(http.StatusUnsupportedMediaType, codeUnsupportedMedia, "request body must be application/x-ndjson, one user a line")
	}
	q := r.URL.Query()
	opts := userimport.Options{Issuer: q.Get("issuer")}
	switch f := q.Get("format"); f {
	case "", "gatehouse":
		opts.Format = userimport.FormatGatehouse
	case "auth0":
		opts.Format = userimport.FormatAuth0
	case "firebase":
		return errorf(http.StatusBadRequest, codeInvalidRequest, "format firebase is imported with `gatehouse import users --format firebase` (its hash parameters are secret); or send its users as gatehouse lines with $fbscrypt$ hashes")
	default:
		return errorf(http.StatusBadRequest, codeInvalidRequest, "format must be gatehouse or auth0")
	}
	switch m := q.Get("mode"); m {
	case "", "create":
	case "upsert":
		opts.Upsert = true
	default:
		return errorf(http.StatusBadRequest, codeInvalidRequest, "mode must be create or upsert")
	}
	switch d := q.Get("dry_run"); d {
	case "", "false":
	case "true":
		opts.DryRun = true
	default:
		return errorf(http.StatusBadRequest, codeInvalidRequest, "dry_run must be true or false")
	}
	if opts.Format == userimport.FormatAuth0 && opts.Issuer == "" && s.cfg.DefaultLegacyIssuer != nil {
		iss, err := s.cfg.DefaultLegacyIssuer(r.Context())
		if err != nil {
			return err
		}
		opts.Issuer = iss
	}
	if opts.Format == userimport.FormatAuth0 && opts.Issuer == "" {
		return errorf(http.StatusBadRequest, codeInvalidRequest, "format auth0 needs ?issuer= (the iss of the Auth0 tenant's tokens), so that imported users keep their identity")
	}

	// A long import outlives the server's read and write timeouts; it reads its body while
	// it answers (HTTP/1.1 needs full duplex for that).
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	_ = rc.EnableFullDuplex()

	bw := bufio.NewWriterSize(w, 32<<10)
	started, n := false, 0
	start := func() {
		if !started {
			started = true
			h := w.Header()
			h.Set("Content-Type", "application/x-ndjson")
			h.Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusOK)
		}
	}
	flush := func() error {
		if err := bw.Flush(); err != nil {
			return err
		}
		return rc.Flush()
	}
	var line []byte
	sum, err := s.cfg.UserImport.Run(r.Context(), r.Body, opts, func(res userimport.Result) error {
		start()
		line = appendImportResult(line[:0], res)
		if _, err := bw.Write(line); err != nil {
			return err
		}
		if n++; n%importFlushEvery == 0 {
			return flush()
		}
		return nil
	})
	reason := "completed"
	if opts.DryRun {
		reason = "dry_run"
	}
	if err != nil {
		reason = "stopped"
	}
	c := s.client(r)
	if aerr := s.cfg.Audit.Record(context.WithoutCancel(r.Context()), audit.Event{Type: audit.AdminUsersImported, Actor: "admin", IP: c.IP, UserAgent: c.UserAgent,
		Outcome: map[bool]string{true: audit.Success, false: audit.Failure}[err == nil], Reason: reason}); aerr != nil && err == nil {
		err = aerr
	}
	if err != nil && !started {
		if errors.Is(err, userimport.ErrOptions) || errors.Is(err, userimport.ErrInput) {
			return &Error{Status: http.StatusBadRequest, Code: codeInvalidRequest, Description: err.Error(), Err: err}
		}
		return err
	}
	start()
	last := map[string]any{"summary": summaryJSON(sum)}
	if err != nil {
		// The answer is already under way: its last line says why the import stopped and how
		// far it got. Running the same input again finishes it (written lines are "exists").
		e := toError(err)
		last["error"], last["error_description"] = e.Code, "the import stopped: "+e.Description+"; run it again to finish (lines already written are reported as exists)"
		s.log.ErrorContext(r.Context(), "user import stopped", "request_id", requestID(r.Context()), "err", err, "results", sum.Total())
	}
	b, _ := json.Marshal(last)
	bw.Write(append(b, '\n'))
	_ = flush() // the client may be gone; nothing more to tell it
	return nil
}

func summaryJSON(s userimport.Summary) map[string]int {
	return map[string]int{"created": s.Created, "updated": s.Updated, "exists": s.Exists, "invalid": s.Invalid}
}

// appendImportResult appends one result line: {line, status, id?, error?, ignored?}.
func appendImportResult(b []byte, r userimport.Result) []byte {
	b = append(b, `{"line":`...)
	b = strconv.AppendInt(b, int64(r.Line), 10)
	b = append(b, `,"status":"`...)
	b = append(b, r.Status...)
	b = append(b, '"')
	if r.ID != "" {
		b = append(b, `,"id":"`...)
		b = append(b, r.ID...) // ids are [0-9a-z]
		b = append(b, '"')
	}
	if r.Error != "" {
		b = append(b, `,"error":`...)
		e, _ := json.Marshal(r.Error)
		b = append(b, e...)
	}
	if len(r.Ignored) > 0 {
		b = append(b, `,"ignored":`...)
		e, _ := json.Marshal(r.Ignored)
		b = append(b, e...)
	}
	return append(b, "}\n"...)
}
