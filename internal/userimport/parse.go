package userimport

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-auth/gatehouse/internal/password"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

// ErrInput is returned by Run when the input as a whole cannot be read on: a Firebase export
// that is not a JSON document with a "users" array, or whose user object exceeds
// MaxLineBytes (a JSON document has no line to skip to). NDJSON input never fails this way:
// each bad line is an Invalid result.
var ErrInput = errors.New("userimport: unreadable input")

// lineSource returns the function that yields the input's lines, one pending line at a time,
// and io.EOF at the end.
func (im *Importer) lineSource(r io.Reader, o *Options) func(context.Context) (pending, error) {
	if o.Format == FormatFirebase {
		return im.firebaseSource(r, o)
	}
	lr := &lineReader{br: bufio.NewReaderSize(r, 64<<10), max: o.MaxLineBytes}
	return func(ctx context.Context) (pending, error) {
		for {
			line, n, tooLong, err := lr.next()
			if err != nil {
				return pending{}, err
			}
			if tooLong {
				return pending{res: Result{Line: n, Status: Invalid, Error: fmt.Sprintf("line longer than %d bytes", o.MaxLineBytes)}}, nil
			}
			if len(bytes.TrimSpace(line)) == 0 {
				continue // blank lines (a trailing newline) have no result
			}
			return im.parse(ctx, n, bytes.Clone(line), o), nil
		}
	}
}

// parse turns one line into a pending row, or an Invalid result.
func (im *Importer) parse(ctx context.Context, n int, raw []byte, o *Options) pending {
	p := pending{raw: raw, res: Result{Line: n}}
	var (
		in  *input
		err error
	)
	switch o.Format {
	case FormatAuth0:
		in, err = parseAuth0(raw, o.Issuer)
	default:
		in, err = parseGatehouse(raw)
	}
	if err == nil {
		p.row, err = im.row(ctx, in, o)
	}
	if err != nil {
		p.res.Status, p.res.Error = Invalid, err.Error()
		return p
	}
	p.res.Ignored = in.ignored
	return p
}

// input is a parsed line, whatever its format.
type input struct {
	email         string
	emailVerified *bool
	passwordHash  string // stored as is (after CheckImported)
	password      *string
	disabled      *bool
	createdAt     time.Time
	identities    []users.Identity
	name          *string
	metadata      string // compact JSON object; "" when not given
	setMetadata   bool
	totpSecret    string
	ignored       []string
}

// row validates in and builds the store row: the email normalised, the hash checked against
// its scheme's caps, a plaintext password hashed (not in a dry run).
func (im *Importer) row(ctx context.Context, in *input, o *Options) (*Row, error) {
	if in.email == "" {
		return nil, errors.New(`"email" is required`)
	}
	email, err := users.NormalizeEmail(in.email)
	if err != nil {
		return nil, fmt.Errorf("email: %w", err)
	}
	now := im.now().UTC()
	r := &Row{User: users.User{ID: newImportID(now), Email: email, CreatedAt: now, UpdatedAt: now}, Identities: in.identities}
	if !in.createdAt.IsZero() {
		r.User.CreatedAt = in.createdAt.UTC().Truncate(time.Microsecond)
	}
	if in.emailVerified != nil {
		r.User.EmailVerified, r.SetVerified = *in.emailVerified, true
	}
	if in.disabled != nil {
		r.User.Disabled, r.SetDisabled = *in.disabled, true
	}
	if in.name != nil {
		r.User.Name, r.SetName = *in.name, true
	}
	if in.setMetadata {
		r.User.Metadata, r.SetMetadata = in.metadata, true
	}
	if in.totpSecret != "" {
		if im.totp == nil {
			return nil, errors.New(`"totp_secret" cannot be imported: second factors are not configured`)
		}
		if r.TOTP, err = im.totp.Factor(in.totpSecret); err != nil {
			return nil, fmt.Errorf("totp_secret: %w", err)
		}
	}
	switch {
	case in.passwordHash != "":
		if err := password.CheckImported(in.passwordHash); err != nil {
			return nil, fmt.Errorf("password hash: %w", err)
		}
		r.User.PasswordHash, r.SetPassword = in.passwordHash, true
	case in.password != nil:
		pw := *in.password
		if pw == "" || len(pw) > 1024 || !utf8.ValidString(pw) || strings.ContainsRune(pw, 0) {
			return nil, errors.New(`"password" must be 1 to 1024 bytes of UTF-8 without NUL`)
		}
		r.SetPassword = true
		r.User.PasswordHash = "$argon2id$dry-run" // never stored: a dry run rolls back
		if !o.DryRun {
			if r.User.PasswordHash, err = im.hasher.Hash(ctx, pw); err != nil {
				return nil, fmt.Errorf("password could not be hashed now (%v); import the line again", err)
			}
		}
	}
	seen := map[[2]string]bool{}
	for _, id := range r.Identities {
		if err := checkText("identity issuer", id.Issuer, users.MaxIssuerLen); err != nil {
			return nil, err
		}
		if err := checkText("identity subject", id.Subject, users.MaxSubjectLen); err != nil {
			return nil, err
		}
		k := [2]string{id.Issuer, id.Subject}
		if seen[k] {
			return nil, fmt.Errorf("identity %q %q given twice", id.Issuer, id.Subject)
		}
		seen[k] = true
	}
	return r, nil
}

// idAlphabet is base32 in ASCII order, so that ids sort as their values: the characters are
// those of secret.NewID, so secret.ValidID accepts the ids.
const idAlphabet = "234567abcdefghijklmnopqrstuvwxyz"

// newImportID returns the id of an imported user: 26 base32 characters like secret.NewID,
// of which the first 10 are the milliseconds since 1970 (48 bits, sorting as time) and the
// other 16 are 80 random bits. New users of an import then land at the end of the users
// table's primary-key index instead of all over it (docs/performance.md). User ids are
// identifiers, never secrets (docs/security.md); 80 random bits still make them unguessable
// and they tell the time of the import, not how many users exist.
func newImportID(now time.Time) string {
	var b [secret.IDLen]byte
	ms := uint64(now.UnixMilli()) & (1<<50 - 1)
	for i := 9; i >= 0; i-- {
		b[i] = idAlphabet[ms&31]
		ms >>= 5
	}
	copy(b[10:], secret.NewID()[10:]) // 16 characters of crypto/rand, 5 bits each
	return string(b[:])
}

// checkText refuses an empty, over-long or non-text value.
func checkText(what, s string, max int) error {
	switch {
	case s == "":
		return fmt.Errorf("%s is empty", what)
	case len(s) > max:
		return fmt.Errorf("%s is longer than %d bytes", what, max)
	case !utf8.ValidString(s) || strings.ContainsRune(s, 0):
		return fmt.Errorf("%s must be UTF-8 text without NUL", what)
	}
	return nil
}

// gatehouseLine is one line of FormatGatehouse.
type gatehouseLine struct {
	Email              string          `json:"email"`
	EmailVerified      *bool           `json:"email_verified"`
	Name               *string         `json:"name"`
	PasswordHash       *string         `json:"password_hash"`
	CustomPasswordHash json.RawMessage `json:"custom_password_hash"`
	Password           *string         `json:"password"`
	Identities         []struct {
		Issuer  string `json:"issuer"`
		Subject string `json:"subject"`
	} `json:"identities"`
	Disabled   *bool           `json:"disabled"`
	CreatedAt  *string         `json:"created_at"`
	Metadata   json.RawMessage `json:"metadata"`
	TOTPSecret *string         `json:"totp_secret"`
}

// ParseLine parses one line of FormatGatehouse without touching a store, for validation and
// fuzzing: it returns the normalised email and the stored form of the password hash.
func ParseLine(line []byte) (email, passwordHash string, err error) {
	in, err := parseGatehouse(line)
	if err != nil {
		return "", "", err
	}
	if in.passwordHash != "" {
		if err := password.CheckImported(in.passwordHash); err != nil {
			return "", "", err
		}
	}
	email, err = users.NormalizeEmail(in.email)
	return email, in.passwordHash, err
}

func parseGatehouse(line []byte) (*input, error) {
	var l gatehouseLine
	if err := decodeLine(line, &l, true); err != nil {
		return nil, err
	}
	in := &input{email: l.Email, emailVerified: l.EmailVerified, disabled: l.Disabled, password: l.Password}
	given := 0
	if l.PasswordHash != nil {
		given++
		if *l.PasswordHash == "" {
			return nil, errors.New(`"password_hash" is empty (leave it out for a user without a password)`)
		}
		in.passwordHash = *l.PasswordHash
	}
	if l.CustomPasswordHash != nil {
		given++
		h, err := password.ImportAuth0(l.CustomPasswordHash)
		if err != nil {
			return nil, fmt.Errorf("custom_password_hash: %w", err)
		}
		in.passwordHash = h
	}
	if l.Password != nil {
		given++
	}
	if given > 1 {
		return nil, errors.New(`give at most one of "password_hash", "custom_password_hash" and "password"`)
	}
	if len(l.Identities) > maxIdentities {
		return nil, fmt.Errorf("more than %d identities", maxIdentities)
	}
	for _, id := range l.Identities {
		in.identities = append(in.identities, users.Identity{Issuer: id.Issuer, Subject: id.Subject})
	}
	if l.CreatedAt != nil {
		t, err := time.Parse(time.RFC3339Nano, *l.CreatedAt)
		if err != nil {
			return nil, errors.New(`"created_at" must be an RFC 3339 time such as 2024-05-01T12:00:00Z`)
		}
		in.createdAt = t
	}
	if l.Name != nil {
		if err := checkName(*l.Name); err != nil {
			return nil, err
		}
		in.name = l.Name
	}
	if l.Metadata != nil {
		m, err := compactMetadata(l.Metadata)
		if err != nil {
			return nil, err
		}
		in.metadata, in.setMetadata = m, true
	}
	if l.TOTPSecret != nil {
		if err := checkTOTPSecret(*l.TOTPSecret); err != nil {
			return nil, err
		}
		in.totpSecret = *l.TOTPSecret
	}
	return in, nil
}

// maxNameLen and maxMetadata are the limits of the profile name a user sets (PATCH /v1/me)
// and of the metadata an administrator sets.
const (
	maxNameLen  = 200
	maxMetadata = 16 << 10
)

// checkName applies the rule of a profile name set by the user: at most 200 characters, no
// surrounding space, no control characters ("" clears it).
func checkName(n string) error {
	if utf8.RuneCountInString(n) > maxNameLen || strings.TrimSpace(n) != n || strings.ContainsFunc(n, unicode.IsControl) {
		return fmt.Errorf(`"name" must be at most %d characters without surrounding spaces or control characters`, maxNameLen)
	}
	return nil
}

// compactMetadata checks metadata as the admin API does: a JSON object of at most 16 KiB
// (compacted), stored compacted; null and {} mean none.
func compactMetadata(raw json.RawMessage) (string, error) {
	t := bytes.TrimSpace(raw)
	if bytes.Equal(t, []byte("null")) {
		return "", nil
	}
	if len(t) == 0 || t[0] != '{' {
		return "", errors.New(`"metadata" must be a JSON object`)
	}
	var b bytes.Buffer
	if err := json.Compact(&b, t); err != nil {
		return "", errors.New(`"metadata" must be a JSON object`)
	}
	if b.Len() > maxMetadata {
		return "", fmt.Errorf(`"metadata" must be at most %d bytes`, maxMetadata)
	}
	if b.String() == "{}" {
		return "", nil
	}
	return b.String(), nil
}

// checkTOTPSecret accepts an authenticator seed as authenticator apps show it: RFC 4648
// base32, any case, spaces and padding optional, 80 to 512 bits.
func checkTOTPSecret(s string) error {
	c := strings.ToUpper(strings.NewReplacer(" ", "", "-", "").Replace(strings.TrimRight(s, "=")))
	b, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(c)
	if err != nil || len(b) < 10 || len(b) > 64 {
		return errors.New(`"totp_secret" must be a base32 seed of 80 to 512 bits`)
	}
	return nil
}

// auth0Line is one line of Auth0's password-hash export; its other fields are ignored.
type auth0Line struct {
	ID *struct {
		OID string `json:"$oid"`
	} `json:"_id"`
	Email         string  `json:"email"`
	EmailVerified *bool   `json:"email_verified"`
	PasswordHash  *string `json:"passwordHash"`
	Name          *string `json:"name"`
}

func parseAuth0(line []byte, issuer string) (*input, error) {
	var l auth0Line
	if err := decodeLine(line, &l, false); err != nil {
		return nil, err
	}
	if l.ID == nil || l.ID.OID == "" {
		return nil, errors.New(`"_id": {"$oid": …} is required (the Auth0 user id)`)
	}
	in := &input{email: l.Email, emailVerified: l.EmailVerified,
		identities: []users.Identity{{Issuer: issuer, Subject: "auth0|" + l.ID.OID}}}
	if l.PasswordHash != nil && *l.PasswordHash != "" {
		in.passwordHash = *l.PasswordHash
	}
	// Auth0 fills name with the email address when the user gave none; that is no name.
	if l.Name != nil && *l.Name != "" && *l.Name != l.Email {
		if err := checkName(*l.Name); err != nil {
			return nil, err
		}
		in.name = l.Name
	}
	return in, nil
}

// decodeLine decodes one JSON object, refusing invalid UTF-8 (which encoding/json would
// silently replace), trailing data and, when strict, unknown fields.
func decodeLine(line []byte, v any, strict bool) error {
	if !utf8.Valid(line) {
		return errors.New("the line is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		var typ *json.UnmarshalTypeError
		var syn *json.SyntaxError
		switch {
		case errors.As(err, &typ) && typ.Field != "":
			return fmt.Errorf("field %q has the wrong type (%s)", typ.Field, typ.Value)
		case errors.As(err, &typ):
			return errors.New("the line is not a JSON object")
		case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF):
			return errors.New("the line is not valid JSON")
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return fmt.Errorf("unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
		default:
			return fmt.Errorf("the line could not be read: %v", err)
		}
	}
	if bytes.HasPrefix(bytes.TrimSpace(line), []byte("null")) {
		return errors.New("the line is not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON object")
	}
	return nil
}

// lineReader reads lines of at most max bytes (without the line end) and skips the rest of a
// longer one, so that memory stays bounded whatever the input.
type lineReader struct {
	br  *bufio.Reader
	max int
	buf []byte
	n   int
}

// next returns the next line (valid until the following call), its number, and whether it
// was longer than max (then line is empty); io.EOF after the last line.
func (lr *lineReader) next() (line []byte, n int, tooLong bool, err error) {
	lr.buf = lr.buf[:0]
	got := false
	for {
		chunk, err := lr.br.ReadSlice('\n')
		got = got || len(chunk) > 0
		if !tooLong {
			if len(lr.buf)+len(chunk) > lr.max+2 { // room for "\r\n"
				tooLong, lr.buf = true, lr.buf[:0]
			} else {
				lr.buf = append(lr.buf, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) {
			if !got {
				return nil, 0, false, io.EOF
			}
			break
		}
		if err != nil {
			return nil, 0, false, err
		}
		break
	}
	lr.n++
	line = bytes.TrimSuffix(bytes.TrimSuffix(lr.buf, []byte("\n")), []byte("\r"))
	if len(line) > lr.max {
		return nil, lr.n, true, nil
	}
	return line, lr.n, tooLong, nil
}

// ---- Firebase

// firebaseUser is one user of a `firebase auth:export` document; other fields are ignored.
type firebaseUser struct {
	LocalID       string `json:"localId"`
	Email         string `json:"email"`
	EmailVerified *bool  `json:"emailVerified"`
	PasswordHash  string `json:"passwordHash"`
	Salt          string `json:"salt"`
	Disabled      *bool  `json:"disabled"`
	CreatedAt     string `json:"createdAt"` // milliseconds since the epoch, as a string
	DisplayName   string `json:"displayName"`
}

// capReader stops reading at limit bytes, so that json.Decoder cannot buffer an unbounded
// value.
type capReader struct {
	r     io.Reader
	read  int64
	limit int64
}

var errValueTooLarge = errors.New("value too large")

func (c *capReader) Read(p []byte) (int, error) {
	if c.read >= c.limit {
		return 0, errValueTooLarge
	}
	if int64(len(p)) > c.limit-c.read {
		p = p[:c.limit-c.read]
	}
	n, err := c.r.Read(p)
	c.read += int64(n)
	return n, err
}

func (im *Importer) firebaseSource(r io.Reader, o *Options) func(context.Context) (pending, error) {
	cr := &capReader{r: r}
	dec := json.NewDecoder(cr)
	// The decoder reads ahead in chunks; allow a value of MaxLineBytes plus that slack.
	allow := func() { cr.limit = dec.InputOffset() + int64(o.MaxLineBytes) + 64<<10 }
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: firebase export: %s", ErrInput, fmt.Sprintf(format, args...))
	}
	started, done, n := false, false, 0
	return func(ctx context.Context) (pending, error) {
		if done {
			return pending{}, io.EOF
		}
		if !started {
			started = true
			allow()
			if t, err := dec.Token(); err != nil || t != json.Delim('{') {
				return pending{}, fail("not a JSON object")
			}
			for {
				allow()
				t, err := dec.Token()
				if err != nil {
					return pending{}, fail("%v", err)
				}
				if t == json.Delim('}') {
					done = true
					return pending{}, io.EOF // no users
				}
				if t == "users" {
					if t, err := dec.Token(); err != nil || t != json.Delim('[') {
						return pending{}, fail(`"users" is not an array`)
					}
					break
				}
				var skip json.RawMessage
				if err := dec.Decode(&skip); err != nil {
					return pending{}, fail("%v", err)
				}
			}
		}
		if !dec.More() {
			done = true
			return pending{}, io.EOF // what follows the array is not read
		}
		n++
		allow()
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, errValueTooLarge) {
				return pending{}, fail("user %d is larger than %d bytes", n, o.MaxLineBytes)
			}
			return pending{}, fail("user %d: %v", n, err)
		}
		p := pending{raw: raw, res: Result{Line: n}}
		in, err := parseFirebase(raw, o)
		if err == nil {
			p.row, err = im.row(ctx, in, o)
		}
		if err != nil {
			p.res.Status, p.res.Error = Invalid, err.Error()
			return p, nil
		}
		p.res.Ignored = in.ignored
		return p, nil
	}
}

func parseFirebase(raw []byte, o *Options) (*input, error) {
	var u firebaseUser
	if err := decodeLine(raw, &u, false); err != nil {
		return nil, err
	}
	if u.Email == "" {
		return nil, errors.New("the user has no email (phone-only users cannot be imported)")
	}
	in := &input{email: u.Email, emailVerified: u.EmailVerified, disabled: u.Disabled}
	if u.PasswordHash != "" {
		hash, err1 := base64.StdEncoding.DecodeString(u.PasswordHash)
		salt, err2 := base64.StdEncoding.DecodeString(u.Salt)
		if err1 != nil || err2 != nil || len(salt) == 0 {
			return nil, errors.New(`"passwordHash" and "salt" must be standard base64`)
		}
		enc, err := password.FormatFirebaseScrypt(o.Firebase, salt, hash)
		if err != nil {
			return nil, fmt.Errorf("password hash: %w", err)
		}
		in.passwordHash = enc
	}
	if u.CreatedAt != "" {
		ms, err := strconv.ParseInt(u.CreatedAt, 10, 64)
		if err != nil || ms < 0 {
			return nil, errors.New(`"createdAt" must be milliseconds since 1970`)
		}
		in.createdAt = time.UnixMilli(ms)
	}
	if o.Issuer != "" {
		if u.LocalID == "" {
			return nil, errors.New(`"localId" is required to link the identity`)
		}
		in.identities = []users.Identity{{Issuer: o.Issuer, Subject: u.LocalID}}
	}
	if u.DisplayName != "" {
		if err := checkName(u.DisplayName); err != nil {
			return nil, fmt.Errorf("displayName: %w", err)
		}
		in.name = &u.DisplayName
	}
	return in, nil
}
