package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportUsersCommand imports a file with the CLI, writes its rejected lines to a file,
// runs again safely, and signs an imported user in on the server.
func TestImportUsersCommand(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	runCmd := func(args ...string) error {
		out.Reset()
		errOut.Reset()
		return run(context.Background(), runEnv{args: args, getenv: func(string) string { return "" },
			stdin: strings.NewReader(""), stdout: &out, stderr: &errOut})
	}
	// passlib 1.7.4 bcrypt of "correct horse battery staple" (internal/password/testdata).
	const bcryptVector = "$2b$05$sTcTyUBskOX/R1LwlqPu9ehqQkmT.jhE3bPybXidVXhRCSik8zTb6"
	file := filepath.Join(t.TempDir(), "users.ndjson")
	body := `{"email":"ann@example.com","password_hash":"` + bcryptVector + `"}
{"email":"broken"}
{"email":"bob@example.com"}
`
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := runCmd("import", "users", "--data-dir", dir, "--dry-run", file); err != nil || !strings.Contains(out.String(), "2 created") {
		t.Fatalf("dry run: %v\n%s%s", err, out.String(), errOut.String())
	}
	if err := runCmd("import", "users", "--data-dir", dir, file); err != nil {
		t.Fatal(err, errOut.String())
	}
	if !strings.Contains(out.String(), "2 created, 0 updated, 0 already existed, 1 invalid") || !strings.Contains(errOut.String(), "line 2: email") {
		t.Fatalf("summary: %s / %s", out.String(), errOut.String())
	}
	if rej, err := os.ReadFile(file + ".rejected"); err != nil || string(rej) != "{\"email\":\"broken\"}\n" {
		t.Fatalf("rejected file %q %v", rej, err)
	}
	if err := runCmd("import", "users", "--data-dir", dir, file); err != nil || !strings.Contains(out.String(), "0 created, 0 updated, 2 already existed") {
		t.Fatalf("second run: %v %s", err, out.String())
	}
	if err := runCmd("import", "users", "--data-dir", dir, "--format", "auth0", file); err == nil || !strings.Contains(err.Error(), "issuer") {
		t.Fatalf("auth0 without issuer: %v", err)
	}
	if err := runCmd("import", "users", "--data-dir", dir, "--format", "firebase", file); err == nil || !strings.Contains(err.Error(), "firebase") {
		t.Fatalf("firebase without parameters: %v", err)
	}

	s := startServer(t, dir, nil)
	res, _ := postJSON(t, http.DefaultClient, s.url+"/v1/login", map[string]string{"email": "ann@example.com", "password": "correct horse battery staple", "delivery": "token"})
	if res.StatusCode != 200 {
		t.Fatalf("imported user sign-in: %d", res.StatusCode)
	}
}

// TestImportFirebaseCommand imports the example user of github.com/firebase/scrypt's README
// from an auth:export file with the project's parameters given as flags.
func TestImportFirebaseCommand(t *testing.T) {
	dir, tmp := t.TempDir(), t.TempDir()
	key := filepath.Join(tmp, "key")
	os.WriteFile(key, []byte("jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==\n"), 0o600)
	export := filepath.Join(tmp, "users.json")
	os.WriteFile(export, []byte(`{"users":[{"localId":"u1","email":"user1@example.com","passwordHash":"lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==","salt":"42xEC+ixf3L2lw=="}]}`), 0o600)
	var out bytes.Buffer
	err := run(context.Background(), runEnv{args: []string{"import", "users", "--data-dir", dir, "--format", "firebase",
		"--firebase-hash-key-file", key, "--firebase-salt-separator", "Bw==", "--firebase-rounds", "8", "--firebase-mem-cost", "14",
		"--identity-issuer", "https://securetoken.google.com/demo", export},
		getenv: func(string) string { return "" }, stdin: strings.NewReader(""), stdout: &out, stderr: io.Discard})
	if err != nil || !strings.Contains(out.String(), "1 created") {
		t.Fatalf("%v %s", err, out.String())
	}
	s := startServer(t, dir, nil)
	if res, _ := postJSON(t, http.DefaultClient, s.url+"/v1/login", map[string]string{"email": "user1@example.com", "password": "user1password", "delivery": "token"}); res.StatusCode != 200 {
		t.Fatalf("firebase user sign-in: %d", res.StatusCode)
	}
}

func TestLegacyPasswordConfig(t *testing.T) {
	for _, tt := range []struct {
		env  map[string]string
		want string // "" for valid
	}{
		{map[string]string{"GATEHOUSE_LEGACY_PASSWORD_ENDPOINT": "https://old.example/check", "GATEHOUSE_LEGACY_PASSWORD_SECRET": strings.Repeat("s", 32)}, ""},
		{map[string]string{"GATEHOUSE_LEGACY_PASSWORD_ENDPOINT": "http://127.0.0.1:9/check", "GATEHOUSE_LEGACY_PASSWORD_SECRET": strings.Repeat("s", 32)}, ""},
		{map[string]string{"GATEHOUSE_LEGACY_PASSWORD_ENDPOINT": "http://old.example/check", "GATEHOUSE_LEGACY_PASSWORD_SECRET": strings.Repeat("s", 32)}, "must be https"},
		{map[string]string{"GATEHOUSE_LEGACY_PASSWORD_ENDPOINT": "https://old.example/check", "GATEHOUSE_LEGACY_PASSWORD_SECRET": "short"}, "legacy_password_secret"},
		{map[string]string{"GATEHOUSE_LEGACY_PASSWORD_SECRET": strings.Repeat("s", 32)}, "legacy_password_endpoint is not"},
		{map[string]string{"GATEHOUSE_LEGACY_PASSWORD_ENDPOINT": "https://u:p@old.example/", "GATEHOUSE_LEGACY_PASSWORD_SECRET": strings.Repeat("s", 32)}, "without credentials"},
	} {
		_, _, err := loadConfig("serve", nil, func(k string) string { return tt.env[k] })
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%v: %v, want %q", tt.env, err, tt.want)
		}
	}
}
