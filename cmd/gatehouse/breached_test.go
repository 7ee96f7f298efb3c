package main

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBreachedPasswordsFile: with breached_passwords_file set, a password in the operator's
// Pwned Passwords file is refused at sign-up, one outside it is accepted, and a file that is
// not such a list stops the server from starting.
func TestBreachedPasswordsFile(t *testing.T) {
	leaked := "correct horse battery staple, leaked"
	sum := sha1.Sum([]byte(leaked))
	line := strings.ToUpper(hex.EncodeToString(sum[:])) + ":42\r\n"
	path := filepath.Join(t.TempDir(), "pwned.txt")
	if err := os.WriteFile(path, []byte("0000000000000000000000000000000000000001:1\r\n"+line+"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:3\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, t.TempDir(), map[string]string{"GATEHOUSE_BREACHED_PASSWORDS_FILE": path})
	signup := func(email, pw string) (int, string) {
		body, _ := json.Marshal(map[string]string{"email": email, "password": pw})
		res, err := http.Post(s.url+"/v1/signup", "application/json", strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var e struct{ Error string }
		json.NewDecoder(res.Body).Decode(&e)
		return res.StatusCode, e.Error
	}
	if code, e := signup("a@example.com", leaked); code != 400 || e != "password_too_common" {
		t.Fatalf("leaked password: %d %q, want 400 password_too_common", code, e)
	}
	if code, e := signup("a@example.com", "correct horse battery staple, fresh"); code != 201 {
		t.Fatalf("fresh password: %d %q, want 201", code, e)
	}

	bad := filepath.Join(t.TempDir(), "words.txt")
	os.WriteFile(bad, []byte("password\nletmein\n"), 0o600)
	err := run(t.Context(), runEnv{args: []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir()},
		getenv: func(k string) string { return map[string]string{"GATEHOUSE_BREACHED_PASSWORDS_FILE": bad}[k] },
		stdin:  strings.NewReader(""), stdout: &lockedBuffer{}, stderr: &lockedBuffer{}})
	if err == nil || !strings.Contains(err.Error(), "Pwned Passwords") {
		t.Fatalf("serve with a file that is not a Pwned Passwords list: %v", err)
	}
}
