package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/oidc"
)

const clientUsage = `usage: gatehouse client create --name NAME --redirect-uri URI [--redirect-uri URI...] [--public] [--first-party] [--scopes "openid email"] [serve flags]
       gatehouse client list [serve flags]
       gatehouse client delete CLIENT_ID [serve flags]
`

// listFlag collects a repeated flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// clientCmd is `gatehouse client`: OpenID Connect clients, like /v1/admin/clients.
func clientCmd(ctx context.Context, e runEnv) error {
	if len(e.args) == 0 || (e.args[0] != "create" && e.args[0] != "list" && e.args[0] != "delete") {
		fmt.Fprint(e.stderr, clientUsage)
		return errors.New("client: want create, list or delete")
	}
	sub := e.args[0]
	var name, scopes string
	var public, firstParty bool
	var redirects, logouts listFlag
	a, fs, err := openFor(ctx, e, "client "+sub, e.args[1:], func(fs *flag.FlagSet) {
		fs.SetOutput(e.stderr)
		fs.StringVar(&name, "name", "", "client name (create)")
		fs.Var(&redirects, "redirect-uri", "a redirect URI, exact (create; repeat for several)")
		fs.Var(&logouts, "post-logout-redirect-uri", "a post-logout redirect URI (create; repeatable)")
		fs.BoolVar(&public, "public", false, "a public client (native or browser app, PKCE, no secret) (create)")
		fs.BoolVar(&firstParty, "first-party", false, "skip the consent page (create)")
		fs.StringVar(&scopes, "scopes", "", `allowed scopes, space-separated (create; default "openid email profile")`)
	})
	if err != nil {
		return err
	}
	defer a.Close()
	event := func(typ, id string) error {
		return a.audit.Record(ctx, audit.Event{Type: typ, ClientID: id, Actor: "admin", IP: "cli", UserAgent: "gatehouse-cli", Outcome: audit.Success})
	}
	switch sub {
	case "create":
		typ := oidc.Confidential
		if public {
			typ = oidc.Public
		}
		c, sec, err := a.oidc.CreateClient(ctx, oidc.ClientSpec{Name: name, Type: typ, RedirectURIs: redirects,
			PostLogoutRedirectURIs: logouts, AllowedScopes: strings.Fields(scopes), FirstParty: firstParty})
		if err != nil {
			return err
		}
		if err := event(audit.OAuthClientCreated, c.ID); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "client_id: %s\n", c.ID)
		if sec != "" {
			fmt.Fprintf(e.stdout, "client_secret: %s\n(shown once: store it now)\n", string(sec))
		}
		return nil
	case "list":
		list, err := a.oidc.Clients(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CLIENT_ID\tNAME\tTYPE\tFIRST_PARTY\tREDIRECT_URIS")
		for _, c := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%t\t%s\n", c.ID, c.Name, c.Type, c.FirstParty, strings.Join(c.RedirectURIs, " "))
		}
		return tw.Flush()
	default:
		if len(fs.Args()) != 1 {
			return errors.New("client delete: give one client id")
		}
		if err := a.oidc.DeleteClient(ctx, fs.Args()[0]); err != nil {
			return err
		}
		if err := event(audit.OAuthClientDeleted, fs.Args()[0]); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "deleted client %s\n", fs.Args()[0])
		return nil
	}
}
