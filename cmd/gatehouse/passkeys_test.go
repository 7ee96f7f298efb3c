package main

import (
	"slices"
	"strings"
	"testing"
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
