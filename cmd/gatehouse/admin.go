package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

// openFor loads the configuration of an operator command (with its own flags, if any) and
// opens the store and components it works on.
func openFor(ctx context.Context, e runEnv, name string, args []string, extra ...func(*flag.FlagSet)) (*app, *flag.FlagSet, error) {
	cfg, fs, err := loadConfig(name, args, e.getenv, extra...)
	if err != nil {
		return nil, nil, err
	}
	a, err := open(ctx, cfg, newLogger(e.stderr, cfg.LogLevel))
	return a, fs, err
}

func migrate(ctx context.Context, e runEnv) error {
	a, _, err := openFor(ctx, e, "migrate", append([]string{"--auto-migrate", "false"}, e.args...))
	if err != nil {
		return err
	}
	defer a.Close()
	applied, err := a.db.Migrate(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "database is up to date (applied now: %v)\n", applied)
	return nil
}

const userUsage = `usage:
  gatehouse user create --email EMAIL [--password-stdin] [--verified] [serve flags]
  gatehouse user list [--email-prefix P] [--limit N] [serve flags]
  gatehouse user disable [serve flags] EMAIL|ID
  gatehouse user enable [serve flags] EMAIL|ID
  gatehouse user roles [serve flags] EMAIL|ID [ROLE...]

On a terminal, "user create" without --password-stdin asks for the password (not echoed);
an empty answer creates a password-less user.
`

// userCmd is the operator's tool for accounts; it works on the store directly, so the server
// need not be running.
func userCmd(ctx context.Context, e runEnv) error {
	if len(e.args) == 0 {
		fmt.Fprint(e.stderr, userUsage)
		return errors.New("user: no subcommand")
	}
	sub := e.args[0]
	var email, prefix string
	var pwStdin, verified bool
	var limit int
	a, fs, err := openFor(ctx, e, "user "+sub, e.args[1:], func(fs *flag.FlagSet) {
		fs.SetOutput(e.stderr)
		fs.StringVar(&email, "email", "", "email address (create)")
		fs.BoolVar(&pwStdin, "password-stdin", false, "read the password from the first line of standard input (create)")
		fs.BoolVar(&verified, "verified", false, "mark the email as verified (create)")
		fs.StringVar(&prefix, "email-prefix", "", "list only emails starting with this (list)")
		fs.IntVar(&limit, "limit", 100, "list at most this many (list)")
	})
	if err != nil {
		return err
	}
	defer a.Close()
	positional := fs.Args()
	cli := accounts.Client{IP: "cli", RateKey: "cli", UserAgent: "gatehouse-cli"}

	switch sub {
	case "create":
		var pw string
		if pwStdin {
			line, err := bufio.NewReader(e.stdin).ReadString('\n')
			if err != nil && line == "" {
				return fmt.Errorf("reading password from stdin: %w", err)
			}
			pw = strings.TrimRight(line, "\r\n")
		} else if f, ok := e.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			if pw, err = promptPassword(e, int(f.Fd())); err != nil {
				return err
			}
		}
		u, err := a.accounts.CreateUser(ctx, accounts.NewUser{Email: email, Password: pw, EmailVerified: verified}, cli)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "created user %s <%s>\n", u.ID, u.Email)
		return nil
	case "list":
		list, err := a.db.ListUsers(ctx, users.ListFilter{EmailPrefix: strings.ToLower(prefix), Limit: limit})
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tEMAIL\tVERIFIED\tDISABLED\tCREATED")
		for _, u := range list {
			fmt.Fprintf(tw, "%s\t%s\t%t\t%t\t%s\n", u.ID, u.Email, u.EmailVerified, u.Disabled, u.CreatedAt.Format("2006-01-02 15:04"))
		}
		return tw.Flush()
	case "roles":
		return userRolesCmd(ctx, e, a, positional)
	case "disable", "enable":
		if len(positional) != 1 {
			return fmt.Errorf("user %s: give one email or user id", sub)
		}
		id := positional[0]
		if !secret.ValidID(id) {
			norm, err := users.NormalizeEmail(id)
			if err != nil {
				return err
			}
			u, err := a.db.UserByEmail(ctx, norm)
			if err != nil {
				return err
			}
			id = u.ID
		}
		disable := sub == "disable"
		u, err := a.accounts.UpdateUser(ctx, id, accounts.UserPatch{Disabled: &disable}, cli)
		if err != nil {
			return err
		}
		if !disable {
			fmt.Fprintf(e.stdout, "enabled user %s <%s>\n", u.ID, u.Email)
			return nil
		}
		// The user's access keys stop authenticating at once (their owner is checked on every
		// use); the tokens already minted from them end through the revocation feed.
		keyIDs, err := a.accessKeys.OwnedIDs(ctx, id)
		if err != nil {
			return err
		}
		if err := a.sessions.RevokeClients(ctx, id, keyIDs); err != nil {
			return err
		}
		for _, k := range keyIDs {
			if err := a.audit.Record(ctx, audit.Event{Type: audit.AccessKeyRevoked, UserID: id, ClientID: k, Actor: "admin",
				IP: cli.IP, UserAgent: cli.UserAgent, Outcome: audit.Success, Reason: "owner_disabled"}); err != nil {
				return err
			}
		}
		fmt.Fprintf(e.stdout, "disabled user %s <%s>; all its sessions and the tokens of its %d access keys ended\n", u.ID, u.Email, len(keyIDs))
		return nil
	default:
		fmt.Fprint(e.stderr, userUsage)
		return fmt.Errorf("user: unknown subcommand %q", sub)
	}
}

// promptPassword asks twice on the terminal fd, without echo.
func promptPassword(e runEnv, fd int) (string, error) {
	fmt.Fprint(e.stderr, "Password (empty: no password): ")
	a, err := term.ReadPassword(fd)
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", fmt.Errorf("reading password: %w", err)
	}
	if len(a) == 0 {
		return "", nil
	}
	fmt.Fprint(e.stderr, "Again: ")
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", fmt.Errorf("reading password: %w", err)
	}
	if string(a) != string(b) {
		return "", errors.New("the passwords do not match")
	}
	return string(a), nil
}

// keysCmd lists the signing keys or rotates them at once (the emergency rotation: tokens
// signed by the old keys stop verifying; users refresh or sign in again).
func keysCmd(ctx context.Context, e runEnv) error {
	if len(e.args) == 0 || (e.args[0] != "list" && e.args[0] != "rotate") {
		fmt.Fprint(e.stderr, "usage: gatehouse keys list|rotate [serve flags]\n")
		return errors.New("keys: want list or rotate")
	}
	a, _, err := openFor(ctx, e, "keys "+e.args[0], e.args[1:])
	if err != nil {
		return err
	}
	defer a.Close()
	if e.args[0] == "rotate" {
		kid, err := a.keys.RotateNow(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "new active key %s; every other key is retired (running servers pick this up within 30 s)\n", kid)
		return nil
	}
	if err := a.keys.Maintain(ctx); err != nil {
		return err
	}
	list, err := a.keys.List(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tALG\tSTATE\tACTIVE FROM\tRETIRES")
	for _, k := range list {
		ret := "-"
		if k.RetireAt != nil {
			ret = k.RetireAt.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Algorithm, k.State, k.ActiveAt.Format(time.RFC3339), ret)
	}
	return tw.Flush()
}
