package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
)

// TestClientCommands registers, lists and deletes OpenID Connect clients from the CLI.
func TestClientCommands(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	runCmd := func(args ...string) error {
		out.Reset()
		args = append([]string{args[0], args[1], "--data-dir", dir}, args[2:]...)
		return run(context.Background(), runEnv{args: args, getenv: func(string) string { return "" },
			stdin: strings.NewReader(""), stdout: &out, stderr: io.Discard})
	}
	if err := runCmd("client", "create", "--name", "Billing", "--redirect-uri", "https://billing.example/cb"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "client_secret: ghcs_") {
		t.Fatalf("confidential client without a secret: %s", out.String())
	}
	id := strings.Fields(out.String())[1]
	if err := runCmd("client", "create", "--name", "Evil", "--redirect-uri", "http://evil.example/cb"); err == nil {
		t.Fatal("an http redirect URI off loopback was accepted")
	}
	if err := runCmd("client", "create", "--name", "CLI", "--public", "--redirect-uri", "http://127.0.0.1/cb"); err != nil || strings.Contains(out.String(), "client_secret") {
		t.Fatalf("public client: %v %s", err, out.String())
	}
	if err := runCmd("client", "list"); err != nil || !strings.Contains(out.String(), id) || !strings.Contains(out.String(), "public") {
		t.Fatalf("list: %v %s", err, out.String())
	}
	if err := runCmd("client", "delete", id); err != nil {
		t.Fatal(err)
	}
	if err := runCmd("client", "list"); err != nil || strings.Contains(out.String(), id) {
		t.Fatalf("after delete: %v %s", err, out.String())
	}
}
