// Package userimport imports users from another identity provider in bulk (docs/migration.md):
// a streaming reader of NDJSON lines (Gatehouse's own format and Auth0's password export) and
// of Firebase's auth:export document, batched transactional writes, and one result per input
// line, with memory that does not grow with the input. It also holds the client of the
// legacy password endpoint used by lazy password migration (endpoint.go).
//
// Imported password hashes are stored exactly as given after password.CheckImported parsed
// them and applied their scheme's cost caps; they are verified at the user's first sign-in and
// then replaced by argon2id (accounts). A plaintext password in an import line is hashed with
// argon2id at once.
package userimport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/mfa"
	"github.com/gatehouse-auth/gatehouse/internal/password"
)

// Format is the shape of the input.
type Format string

// Formats.
const (
	// FormatGatehouse is NDJSON, one user a line: {email, email_verified?, name?,
	// password_hash? | custom_password_hash? | password?, identities?: [{issuer, subject}],
	// disabled?, created_at?, metadata?, totp_secret?}.
	FormatGatehouse Format = "gatehouse"
	// FormatAuth0 is Auth0's password-hash export, NDJSON: {_id: {$oid}, email,
	// email_verified, passwordHash, ...}; each user gets the identity (Options.Issuer,
	// "auth0|<$oid>").
	FormatAuth0 Format = "auth0"
	// FormatFirebase is the JSON document of `firebase auth:export` ({"users": [...]}),
	// with the project's scrypt parameters in Options.Firebase; Options.Issuer, if set,
	// links each user's localId.
	FormatFirebase Format = "firebase"
)

// Defaults and limits.
const (
	// DefaultBatchSize is how many lines one transaction writes: large enough that the
	// per-transaction cost vanishes (on SQLite each commit writes every page the batch
	// touched to the WAL, and pages shared by the batch's rows, such as the index ends, once
	// per commit: 5,000 lines a commit is a quarter less CPU per user than 1,000), small
	// enough that a batch's lines and results stay about a MiB.
	DefaultBatchSize = 5000
	// DefaultMaxLineBytes caps one input line (or one Firebase user object). The longest
	// legitimate line, an Auth0 custom_password_hash with metadata, is a few KiB.
	DefaultMaxLineBytes = 64 << 10
	// maxBatchBytes closes a batch early when its lines are long, so that a batch's memory
	// stays bounded whatever the lines are.
	maxBatchBytes = 2 << 20
	// maxIdentities caps the identities of one line.
	maxIdentities = 16
)

// Options of one import.
type Options struct {
	Format Format // default FormatGatehouse
	// Upsert updates users whose email exists (the fields the line gives); otherwise they are
	// reported as Exists and left untouched.
	Upsert bool
	// DryRun checks every line against the store as a real import would, and writes
	// nothing (each batch's transaction is rolled back).
	DryRun bool
	// Issuer is the issuer of the identities of Auth0 (required) and Firebase lines.
	Issuer string
	// Firebase are the project's password hash parameters (FormatFirebase).
	Firebase password.FirebaseScryptParams
	// BatchSize and MaxLineBytes default to DefaultBatchSize and DefaultMaxLineBytes.
	BatchSize    int
	MaxLineBytes int
}

// ErrOptions is returned by Run, before reading anything, for unusable Options.
var ErrOptions = errors.New("userimport: invalid options")

func (o *Options) check() error {
	var errs []error
	switch o.Format {
	case "":
		o.Format = FormatGatehouse
	case FormatGatehouse, FormatAuth0, FormatFirebase:
	default:
		errs = append(errs, fmt.Errorf("format %q: want gatehouse, auth0 or firebase", o.Format))
	}
	if o.Format == FormatAuth0 && o.Issuer == "" {
		errs = append(errs, errors.New("format auth0 needs the issuer of the Auth0 tenant (the iss of its tokens) to link identities"))
	}
	if o.Issuer != "" {
		if err := checkText("issuer", o.Issuer, 2048); err != nil {
			errs = append(errs, err)
		}
	}
	if o.Format == FormatFirebase {
		if len(o.Firebase.SignerKey) == 0 || o.Firebase.Rounds == 0 || o.Firebase.MemCost == 0 {
			errs = append(errs, errors.New("format firebase needs the project's hash parameters: signer key, salt separator, rounds and mem_cost"))
		} else if _, err := password.FormatFirebaseScrypt(o.Firebase, make([]byte, 16), make([]byte, len(o.Firebase.SignerKey))); err != nil {
			errs = append(errs, fmt.Errorf("firebase hash parameters: %v", err))
		}
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.MaxLineBytes <= 0 {
		o.MaxLineBytes = DefaultMaxLineBytes
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrOptions, err)
	}
	return nil
}

// Result is the outcome of one input line, in input order.
type Result struct {
	Line   int    // from 1; for Firebase, the position in the users array
	Status Status // Created, Updated, Exists or Invalid
	ID     string // the user's id (not for Invalid, nor for Created in a dry run)
	Error  string // why the line is Invalid
	// Ignored names fields the line gave that Gatehouse accepted but did not store:
	// totp_secret when an upsert kept the user's own confirmed factor.
	Ignored []string
	// Raw is the input line (valid only during the callback), for a file of rejected lines.
	Raw []byte
}

// Summary counts the results.
type Summary struct {
	Created, Updated, Exists, Invalid int
}

// Total is the number of lines with a result.
func (s Summary) Total() int { return s.Created + s.Updated + s.Exists + s.Invalid }

func (s *Summary) add(st Status) {
	switch st {
	case Created:
		s.Created++
	case Updated:
		s.Updated++
	case Exists:
		s.Exists++
	case Invalid:
		s.Invalid++
	}
}

// Hasher hashes plaintext passwords of import lines (*password.Hasher).
type Hasher interface {
	Hash(ctx context.Context, pw string) (string, error)
}

// Revoker ends every session of a user whose credentials an upsert changed
// (*sessions.Manager).
type Revoker interface {
	RevokeUser(ctx context.Context, userID, except string) ([]string, error)
}

// TOTPSealer makes the sealed, confirmed TOTP factor of an imported totp_secret
// (*mfa.SeedSealer).
type TOTPSealer interface {
	Factor(seedBase32 string) (*mfa.Factor, error)
}

// Importer runs imports. It is safe for concurrent use.
type Importer struct {
	store   Store
	hasher  Hasher
	revoker Revoker
	totp    TOTPSealer
	now     func() time.Time
}

// WithTOTP lets imports carry TOTP seeds (totp_secret), sealed by s; without it a line with
// a totp_secret is invalid. It returns im.
func (im *Importer) WithTOTP(s TOTPSealer) *Importer {
	im.totp = s
	return im
}

// New returns an Importer.
func New(s Store, h Hasher, r Revoker, now func() time.Time) *Importer {
	return &Importer{store: s, hasher: h, revoker: r, now: now}
}

// StoreError is returned by Run when the store failed: the import stopped, and Written lines
// before the failing batch had been written (none of that batch). Running the same input again
// finishes the job: the lines written are then reported as Exists.
type StoreError struct {
	Written int
	Err     error
}

func (e *StoreError) Error() string {
	return fmt.Sprintf("import stopped after %d lines were written: %v", e.Written, e.Err)
}

func (e *StoreError) Unwrap() error { return e.Err }

// pending is one line of the current batch.
type pending struct {
	res Result
	row *Row // nil when the line was invalid before reaching the store
	raw []byte
}

// batch accumulates lines until it is written.
type batch struct {
	lines []pending
	rows  []*Row
	bytes int
}

// full reports whether b should be written: BatchSize rows, maxBatchBytes of input, or
// 4 × BatchSize lines (invalid lines are cheap, but their results wait for the batch too).
func (b *batch) full(o *Options) bool {
	return len(b.rows) >= o.BatchSize || b.bytes >= maxBatchBytes || len(b.lines) >= 4*o.BatchSize
}

func (b *batch) add(p pending) {
	b.lines = append(b.lines, p)
	if p.row != nil {
		b.rows = append(b.rows, p.row)
	}
	b.bytes += len(p.raw)
}

func (b *batch) reset() {
	clear(b.lines) // drop the references to the lines' bytes
	clear(b.rows)
	b.lines, b.rows, b.bytes = b.lines[:0], b.rows[:0], 0
}

// writer writes batches, one at a time, and emits their results in order.
type writer struct {
	im      *Importer
	opts    *Options
	emit    func(Result) error
	sum     Summary
	written int
}

// flush writes b's rows in one transaction and emits its results in order.
func (w *writer) flush(ctx context.Context, b *batch) error {
	if len(b.rows) > 0 {
		if err := w.im.store.ImportUsers(ctx, b.rows, w.opts.Upsert, w.opts.DryRun); err != nil {
			return &StoreError{Written: w.written, Err: err}
		}
	}
	for i := range b.lines {
		p := &b.lines[i]
		if r := p.row; r != nil {
			p.res.Status, p.res.ID = r.Status, r.ID
			switch {
			case r.Status == Invalid:
				p.res.Error, p.res.ID, p.res.Ignored = describeStoreRefusal(r.Err), "", nil
			case r.Status == Created && w.opts.DryRun:
				p.res.ID = ""
			case r.TOTPKept:
				p.res.Ignored = append(p.res.Ignored, "totp_secret")
			}
			if r.CredentialsChanged && !w.opts.DryRun && w.im.revoker != nil {
				if _, err := w.im.revoker.RevokeUser(ctx, r.ID, ""); err != nil {
					return &StoreError{Written: w.written + len(b.lines), Err: fmt.Errorf("ending the sessions of updated user %s: %w", r.ID, err)}
				}
			}
		}
		p.res.Raw = p.raw
		w.sum.add(p.res.Status)
		if err := w.emit(p.res); err != nil {
			return err
		}
	}
	if !w.opts.DryRun {
		w.written += len(b.lines)
	}
	return nil
}

// Run reads r in opts.Format and imports every user, calling emit with each line's Result in
// input order (a batch at a time, after its transaction; never concurrently, but not
// necessarily on the caller's goroutine). A bad line is an Invalid result and never stops the
// import. Run returns the summary and, when it stopped early, why: the context ended, emit
// failed, the input could not be read on (ErrInput), or the store failed (*StoreError).
//
// Reading and parsing one batch overlaps with writing the previous one, so that an import
// uses two cores; at most two batches are in memory.
func (im *Importer) Run(ctx context.Context, r io.Reader, opts Options, emit func(Result) error) (Summary, error) {
	if err := opts.check(); err != nil {
		return Summary{}, err
	}
	w := &writer{im: im, opts: &opts, emit: emit}
	next := im.lineSource(r, &opts)
	cur, spare := &batch{}, &batch{}
	var inflight chan error // the previous batch's flush, if any
	wait := func() error {
		if inflight == nil {
			return nil
		}
		err := <-inflight
		inflight = nil
		return err
	}
	for {
		if err := ctx.Err(); err != nil {
			return w.summary(wait), err
		}
		p, err := next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return w.summary(wait), err
		}
		cur.add(p)
		if !cur.full(&opts) {
			continue
		}
		if err := wait(); err != nil {
			return w.sum, err
		}
		done := make(chan error, 1)
		go func(b *batch) { done <- w.flush(ctx, b) }(cur)
		inflight = done
		cur, spare = spare, cur
		cur.reset()
	}
	if err := wait(); err != nil {
		return w.sum, err
	}
	err := w.flush(ctx, cur)
	return w.sum, err
}

// summary waits for the batch being written and returns the summary so far.
func (w *writer) summary(wait func() error) Summary {
	_ = wait()
	return w.sum
}

func describeStoreRefusal(err error) string {
	switch {
	case err == nil:
		return "refused by the store"
	default:
		return err.Error()
	}
}
