package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/password"
	"github.com/gatehouse-auth/gatehouse/internal/userimport"
)

const importUsage = `usage:
  gatehouse import users [--format gatehouse|auth0|firebase] [--mode create|upsert] [--dry-run]
                         [--identity-issuer ISS] [--rejected FILE] [firebase flags] [serve flags] FILE

FILE is NDJSON (gatehouse, auth0) or a "firebase auth:export" JSON file; "-" reads standard
input. Each line's result is counted; rejected lines are copied, as they were, to --rejected
(default FILE.rejected) so they can be fixed and imported again. Running the same file again
is safe: users already imported are reported as existing. See docs/migration.md.

firebase flags (the project's "Password hash parameters" in the Firebase console):
  --firebase-hash-key-file FILE   a file holding base64_signer_key (secret: not a flag value)
  --firebase-salt-separator B64   base64_salt_separator
  --firebase-rounds N             rounds
  --firebase-mem-cost N           mem_cost
`

// importCmd imports users into the store directly (the server need not run).
func importCmd(ctx context.Context, e runEnv) error {
	if len(e.args) == 0 || e.args[0] != "users" {
		fmt.Fprint(e.stderr, importUsage)
		return errors.New("import: want `import users`")
	}
	var format, mode, issuer, rejected, keyFile, saltSep string
	var dryRun bool
	var rounds, memCost int
	a, fs, err := openFor(ctx, e, "import users", e.args[1:], func(fs *flag.FlagSet) {
		fs.SetOutput(e.stderr)
		fs.StringVar(&format, "format", "gatehouse", "gatehouse, auth0 or firebase")
		fs.StringVar(&mode, "mode", "create", "create (existing emails are left untouched) or upsert")
		fs.BoolVar(&dryRun, "dry-run", false, "check every line against the store, write nothing")
		fs.StringVar(&issuer, "identity-issuer", "", "issuer of the imported identities: the iss of the old provider's tokens (auth0; default: the only registered legacy issuer)")
		fs.StringVar(&rejected, "rejected", "", "file for the rejected lines (default FILE.rejected)")
		fs.StringVar(&keyFile, "firebase-hash-key-file", "", "file holding the Firebase base64_signer_key")
		fs.StringVar(&saltSep, "firebase-salt-separator", "", "Firebase base64_salt_separator")
		fs.IntVar(&rounds, "firebase-rounds", 0, "Firebase rounds")
		fs.IntVar(&memCost, "firebase-mem-cost", 0, "Firebase mem_cost")
	})
	if err != nil {
		return err
	}
	defer a.Close()
	if fs.NArg() != 1 {
		fmt.Fprint(e.stderr, importUsage)
		return errors.New("import users: give one FILE (or - for standard input)")
	}
	opts := userimport.Options{Format: userimport.Format(format), Issuer: issuer, DryRun: dryRun}
	switch mode {
	case "create":
	case "upsert":
		opts.Upsert = true
	default:
		return fmt.Errorf("import users: --mode %q: want create or upsert", mode)
	}
	if opts.Format == userimport.FormatAuth0 && opts.Issuer == "" && a.legacy != nil {
		// Default: the only registered legacy issuer, as over HTTP.
		if list, err := a.legacy.List(ctx); err != nil {
			return err
		} else if len(list) == 1 {
			opts.Issuer = list[0].Issuer
		}
	}
	if opts.Format == userimport.FormatFirebase {
		if opts.Firebase, err = firebaseParams(keyFile, saltSep, rounds, memCost, e.getenv); err != nil {
			return err
		}
	}
	name := fs.Arg(0)
	var in io.Reader = e.stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
		if rejected == "" {
			rejected = name + ".rejected"
		}
	}

	var rej *os.File
	defer func() {
		if rej != nil {
			rej.Close()
		}
	}()
	term := false
	if f, ok := e.stderr.(*os.File); ok {
		term = isTerminal(f)
	}
	var (
		sum        userimport.Summary
		lastShown  time.Time
		shownError int
	)
	progress := func(final bool) {
		if !term {
			return
		}
		fmt.Fprintf(e.stderr, "\r%d lines: %d created, %d updated, %d exist, %d invalid", sum.Total(), sum.Created, sum.Updated, sum.Exists, sum.Invalid)
		if final {
			fmt.Fprintln(e.stderr)
		}
	}
	start := time.Now()
	final, runErr := a.importer.Run(ctx, in, opts, func(r userimport.Result) error {
		switch r.Status {
		case userimport.Created:
			sum.Created++
		case userimport.Updated:
			sum.Updated++
		case userimport.Exists:
			sum.Exists++
		case userimport.Invalid:
			sum.Invalid++
			if shownError < 20 {
				shownError++
				if term {
					fmt.Fprint(e.stderr, "\r\033[K")
				}
				fmt.Fprintf(e.stderr, "line %d: %s\n", r.Line, r.Error)
			}
			if rejected != "" && r.Raw != nil {
				if rej == nil {
					var err error
					if rej, err = os.OpenFile(rejected, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600); err != nil {
						return err
					}
				}
				if _, err := rej.Write(append(r.Raw, '\n')); err != nil {
					return err
				}
			}
		}
		if now := time.Now(); now.Sub(lastShown) > 200*time.Millisecond {
			lastShown = now
			progress(false)
		}
		return nil
	})
	progress(true)
	reason, outcome := "completed", audit.Success
	if dryRun {
		reason = "dry_run"
	}
	if runErr != nil {
		reason, outcome = "stopped", audit.Failure
	}
	if err := a.audit.Record(context.WithoutCancel(ctx), audit.Event{Type: audit.AdminUsersImported, Actor: "admin", IP: "cli", UserAgent: "gatehouse-cli",
		Outcome: outcome, Reason: reason}); err != nil && runErr == nil {
		runErr = err
	}
	if sum.Invalid > shownError {
		fmt.Fprintf(e.stderr, "… and %d more invalid lines\n", sum.Invalid-shownError)
	}
	verb := "imported"
	if dryRun {
		verb = "checked (dry run, nothing written)"
	}
	fmt.Fprintf(e.stdout, "%s %d lines in %s: %d created, %d updated, %d already existed, %d invalid\n",
		verb, final.Total(), time.Since(start).Round(time.Millisecond), final.Created, final.Updated, final.Exists, final.Invalid)
	if rej != nil {
		fmt.Fprintf(e.stdout, "rejected lines written to %s\n", rejected)
	}
	if runErr != nil {
		return fmt.Errorf("import users stopped: %w (run it again to finish: imported users are reported as existing)", runErr)
	}
	return nil
}

// firebaseParams reads the Firebase project's hash parameters; the signer key comes from a
// file or GATEHOUSE_FIREBASE_HASH_KEY, never from a flag value (flags show in `ps`).
func firebaseParams(keyFile, saltSep string, rounds, memCost int, getenv func(string) string) (password.FirebaseScryptParams, error) {
	var p password.FirebaseScryptParams
	key := getenv("GATEHOUSE_FIREBASE_HASH_KEY")
	if keyFile != "" {
		b, err := os.ReadFile(keyFile)
		if err != nil {
			return p, fmt.Errorf("--firebase-hash-key-file: %w", err)
		}
		key = strings.TrimSpace(string(b))
	}
	var errs []error
	var err error
	if p.SignerKey, err = base64.StdEncoding.DecodeString(key); err != nil || len(p.SignerKey) == 0 {
		errs = append(errs, errors.New("firebase: the signer key (--firebase-hash-key-file or GATEHOUSE_FIREBASE_HASH_KEY) must be base64"))
	}
	if p.SaltSeparator, err = base64.StdEncoding.DecodeString(saltSep); err != nil {
		errs = append(errs, errors.New("firebase: --firebase-salt-separator must be base64"))
	}
	if rounds <= 0 || memCost <= 0 {
		errs = append(errs, errors.New("firebase: --firebase-rounds and --firebase-mem-cost are required"))
	}
	p.Rounds, p.MemCost = rounds, memCost
	return p, errors.Join(errs...)
}
