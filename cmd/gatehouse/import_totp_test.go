package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/mfa"
)

// TestImportTOTPSecretSignsIn imports a user with a totp_secret and a name with the CLI, then
// signs in on the server: the password alone asks for the second factor, and a code the
// user's authenticator app computes from the imported seed completes the sign-in.
func TestImportTOTPSecretSignsIn(t *testing.T) {
	dir := t.TempDir()
	// passlib 1.7.4 bcrypt of "correct horse battery staple" (internal/password/testdata).
	const bcryptVector = "$2b$05$sTcTyUBskOX/R1LwlqPu9ehqQkmT.jhE3bPybXidVXhRCSik8zTb6"
	const seed = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP" // 160 bits, as authenticator apps show it
	file := filepath.Join(t.TempDir(), "users.ndjson")
	body := `{"email":"ann@example.com","name":"Ann Lee","password_hash":"` + bcryptVector + `","totp_secret":"` + strings.ToLower(seed) + `"}` + "\n"
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	err := run(context.Background(), runEnv{args: []string{"import", "users", "--data-dir", dir, file}, getenv: func(string) string { return "" },
		stdin: strings.NewReader(""), stdout: &out, stderr: &errOut})
	if err != nil || !strings.Contains(out.String(), "1 created") {
		t.Fatalf("import: %v %s %s", err, out.String(), errOut.String())
	}

	s := startServer(t, dir, nil)
	login := func() string {
		t.Helper()
		res, body := postJSON(t, http.DefaultClient, s.url+"/v1/login", map[string]string{"email": "ann@example.com", "password": "correct horse battery staple", "delivery": "token"})
		if res.StatusCode != 403 || body["error"] != "mfa_required" {
			t.Fatalf("password alone: %d %v; want mfa_required (the imported factor is confirmed)", res.StatusCode, body)
		}
		return body["mfa_token"].(string)
	}
	raw, err := mfa.ParseSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	// A code of another seed is refused; the code of the imported seed signs in.
	other, _ := mfa.ParseSeed("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
	res, b := postJSON(t, http.DefaultClient, s.url+"/v1/login/mfa", map[string]string{"mfa_token": login(), "code": mfa.Code(other, time.Now()), "delivery": "token"})
	if res.StatusCode == 200 {
		t.Fatalf("a code of another seed was accepted: %v", b)
	}
	res, b = postJSON(t, http.DefaultClient, s.url+"/v1/login/mfa", map[string]string{"mfa_token": login(), "code": mfa.Code(raw, time.Now()), "delivery": "token"})
	if res.StatusCode != 200 || b["access_token"] == nil {
		t.Fatalf("password + imported TOTP: %d %v", res.StatusCode, b)
	}
	tok := b["access_token"].(string)
	req, _ := http.NewRequest("GET", s.url+"/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var me bytes.Buffer
	me.ReadFrom(res.Body)
	if res.StatusCode != 200 || !strings.Contains(me.String(), `"Ann Lee"`) {
		t.Fatalf("/v1/me after import: %d %s", res.StatusCode, me.String())
	}
}
