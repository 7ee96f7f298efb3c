package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/users"
)

const roleUsage = `usage:
  gatehouse role create [serve flags] NAME [SCOPE...]
  gatehouse role list [serve flags]
  gatehouse role delete [serve flags] NAME
  gatehouse user roles [serve flags] EMAIL|ID [ROLE...]   (replaces the user's roles; none: removes all)

Roles grant scopes to users' access tokens when a sign-in asks for them (docs/roles.md).
`

// roleCmd is the operator's tool for roles; like userCmd it works on the store directly.
func roleCmd(ctx context.Context, e runEnv) error {
	if len(e.args) == 0 {
		fmt.Fprint(e.stderr, roleUsage)
		return errors.New("role: no subcommand")
	}
	sub := e.args[0]
	a, fs, err := openFor(ctx, e, "role "+sub, e.args[1:])
	if err != nil {
		return err
	}
	defer a.Close()
	args := fs.Args()
	switch sub {
	case "create":
		if len(args) < 1 {
			return errors.New("role create: give a name and its scopes")
		}
		r, err := a.roles.Create(ctx, args[0], args[1:])
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "created role %s with scopes %s\n", r.Name, strings.Join(r.Scopes, " "))
		return nil
	case "list":
		list, err := a.roles.List(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tSCOPES\tUPDATED")
		for _, r := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Name, strings.Join(r.Scopes, " "), r.UpdatedAt.Format("2006-01-02 15:04"))
		}
		return tw.Flush()
	case "delete":
		if len(args) != 1 {
			return errors.New("role delete: give one name")
		}
		if err := a.roles.Delete(ctx, args[0]); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "deleted role %s\n", args[0])
		return nil
	default:
		fmt.Fprint(e.stderr, roleUsage)
		return fmt.Errorf("role: unknown subcommand %q", sub)
	}
}

// userRolesCmd is "gatehouse user roles EMAIL|ID ROLE...", called by userCmd.
func userRolesCmd(ctx context.Context, e runEnv, a *app, args []string) error {
	if len(args) < 1 {
		return errors.New("user roles: give an email or user id, then the roles")
	}
	id := args[0]
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
	names, err := a.roles.SetUserRoles(ctx, id, args[1:])
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "user %s now has roles: %s\n", id, strings.Join(names, " "))
	return nil
}
