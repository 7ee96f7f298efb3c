// Command gatehouse is the Gatehouse server and its operator tools. It is the one place that
// reads configuration and wires the components together, by hand.
//
//	gatehouse serve     run the server
//	gatehouse migrate   apply database migrations
//	gatehouse user      create, list and disable users
//	gatehouse role      create, list and delete roles (scopes granted to users)
//	gatehouse keys      list signing keys, rotate them now
//	gatehouse import    import users from another identity provider
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, runEnv{args: os.Args[1:], getenv: os.Getenv, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}); err != nil {
		fmt.Fprintln(os.Stderr, "gatehouse:", err)
		os.Exit(1)
	}
}

// runEnv is everything the program takes from its process, so tests can run it in-process.
type runEnv struct {
	args           []string
	getenv         func(string) string
	stdin          io.Reader
	stdout, stderr io.Writer
	// listening, if set, is told the address the server listens on.
	listening func(net.Addr)
	// metricsListening, if set, is told the address of the metrics listener (metrics_addr).
	metricsListening func(net.Addr)
}

const usage = `usage: gatehouse <command> [flags]

commands:
  serve     run the server (see "gatehouse serve -h")
  migrate   apply pending database migrations
  user      manage users: create, list, disable
  client    OpenID Connect clients: create, list, delete (docs/oidc.md)
  role      roles granting scopes: create, list, delete (and "user roles EMAIL ROLE...")
  keys      signing keys: list, rotate (emergency: old keys stop verifying at once)
  doctor    check the configuration, store, Redis, clocks and signing keys; print what is wrong
  import    import users in bulk: import users [--format gatehouse|auth0|firebase] FILE
  version   print the version, commit and Go version (also --version)
`

func run(ctx context.Context, e runEnv) error {
	if len(e.args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return fmt.Errorf("no command given")
	}
	cmd, rest := e.args[0], e.args[1:]
	e.args = rest
	switch cmd {
	case "serve":
		return serve(ctx, e)
	case "migrate":
		return migrate(ctx, e)
	case "user":
		return userCmd(ctx, e)
	case "keys":
		return keysCmd(ctx, e)
	case "client":
		return clientCmd(ctx, e)
	case "role":
		return roleCmd(ctx, e)
	case "doctor":
		return doctor(ctx, e)
	case "import":
		return importCmd(ctx, e)
	case "version", "--version", "-version":
		return printVersion(e.stdout)
	case "help", "-h", "--help":
		fmt.Fprint(e.stdout, usage)
		return nil
	default:
		fmt.Fprint(e.stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}
