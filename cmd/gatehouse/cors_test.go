package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestCORSOriginsConfig(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	cfg, _, err := loadConfig("serve", nil, env(map[string]string{"GATEHOUSE_CORS_ORIGINS": "https://app.example,http://localhost:5173"}))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"https://app.example", "http://localhost:5173"}; !slices.Equal(cfg.CORSOrigins, want) {
		t.Fatalf("CORSOrigins = %q, want %q", cfg.CORSOrigins, want)
	}

	file := filepath.Join(t.TempDir(), "c.json")
	if err := os.WriteFile(file, []byte(`{"cors_origins": ["https://spa.example"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _, err = loadConfig("serve", []string{"--config", file}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.CORSOrigins, []string{"https://spa.example"}) {
		t.Fatalf("CORSOrigins from the file = %q", cfg.CORSOrigins)
	}

	for _, bad := range []string{"https://app.example/", "null", "app.example", "https://APP.example"} {
		_, _, err := loadConfig("serve", nil, env(map[string]string{"GATEHOUSE_CORS_ORIGINS": bad}))
		if err == nil || !strings.Contains(err.Error(), "cors_origins") {
			t.Errorf("GATEHOUSE_CORS_ORIGINS=%q: %v, want a cors_origins error", bad, err)
		}
	}
}
