package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/passkeys/passkeystest"
)

func TestPasskeyConfig(t *testing.T) {
	tests := []struct {
		name       string
		env        map[string]string
		args       []string
		wantRPID   string
		wantOrigin []string
		wantErr    string // in loadConfig's error
		disabled   bool   // no passkeys, no error
	}{
		{name: "defaults from the local issuer", wantRPID: "localhost", wantOrigin: []string{"http://localhost:8080"}},
		{name: "defaults from an https issuer", env: map[string]string{"GATEHOUSE_ISSUER": "https://auth.example.com"},
			wantRPID: "auth.example.com", wantOrigin: []string{"https://auth.example.com"}},
		{name: "parent domain and two origins", env: map[string]string{"GATEHOUSE_ISSUER": "https://auth.example.com",
			"GATEHOUSE_WEBAUTHN_RP_ID": "example.com", "GATEHOUSE_WEBAUTHN_ORIGINS": "https://auth.example.com, https://www.example.com"},
			wantRPID: "example.com", wantOrigin: []string{"https://auth.example.com", "https://www.example.com"}},
		{name: "origin outside the RP ID", env: map[string]string{"GATEHOUSE_ISSUER": "https://auth.example.com",
			"GATEHOUSE_WEBAUTHN_ORIGINS": "https://auth.example.org"}, wantErr: "neither the RP ID"},
		{name: "RP ID with a scheme", env: map[string]string{"GATEHOUSE_WEBAUTHN_RP_ID": "https://localhost"}, wantErr: "webauthn_rp_id"},
		{name: "insecure http issuer: passkeys off, not an error", args: []string{"--insecure-dev", "--issuer", "http://10.0.0.5:8080"}, disabled: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _, err := loadConfig("serve", tt.args, func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("loadConfig: %v, want an error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			pc, explicit, err := cfg.passkeys()
			if tt.disabled {
				if err == nil || explicit {
					t.Fatalf("want passkeys disabled: %+v %v", pc, err)
				}
				return
			}
			if err != nil || pc.RPID != tt.wantRPID || !slices.Equal(pc.Origins, tt.wantOrigin) {
				t.Fatalf("passkeys config: %+v %v", pc, err)
			}
		})
	}
}

// TestPasskeyEndToEnd runs the real server with its default relying party (the issuer
// http://localhost:8080) and a software authenticator: sign up, register a passkey with the
// access token, then sign in with the passkey alone.
func TestPasskeyEndToEnd(t *testing.T) {
	s := startServer(t, filepath.Join(t.TempDir(), "data"), nil)
	c := &http.Client{}
	res, m := postJSON(t, c, s.url+"/v1/signup", map[string]string{"email": "e2e-pk@example.com", "password": "correct horse battery staple", "delivery": "token"})
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("signup: %d %v", res.StatusCode, m)
	}
	auth := []string{"Authorization", "Bearer " + m["access_token"].(string)}
	a := passkeystest.New("localhost", "http://localhost:8080")

	opts := rawPost(t, c, s.url+"/v1/passkeys/register/begin", "{}", http.StatusOK, auth...)
	cred, err := a.Create(opts)
	if err != nil {
		t.Fatal(err)
	}
	rawPost(t, c, s.url+"/v1/passkeys/register/finish", string(cred), http.StatusCreated, auth...)

	opts = rawPost(t, c, s.url+"/v1/login/passkey/begin", "", http.StatusOK)
	cred, err = a.Get(opts)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"credential": json.RawMessage(cred), "delivery": "token"})
	out := rawPost(t, c, s.url+"/v1/login/passkey/finish", string(body), http.StatusOK)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.Unmarshal(out, &tok)
	res, m = get(t, c, s.url+"/v1/session", "Authorization", "Bearer "+tok.AccessToken)
	sess, _ := m["session"].(map[string]any)
	if res.StatusCode != http.StatusOK || fmt.Sprint(sess["amr"]) != "[hwk]" {
		t.Fatalf("session of the passkey sign-in: %d %v", res.StatusCode, m)
	}
}

func rawPost(t *testing.T, c *http.Client, u, body string, want int, hdr ...string) []byte {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("POST %s: %d, want %d: %s", u, res.StatusCode, want, b)
	}
	return b
}
