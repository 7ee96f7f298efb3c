package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/audit"
)

func TestEventsRetentionConfig(t *testing.T) {
	tests := []struct {
		name    string
		file    string // config file body; "" for none
		env     string // GATEHOUSE_EVENTS_RETENTION
		want    time.Duration
		wantErr string
	}{
		{name: "default is 90 days", want: 2160 * time.Hour},
		{name: "from the file", file: `{"events_retention":"720h"}`, want: 720 * time.Hour},
		{name: "environment beats the file", file: `{"events_retention":"720h"}`, env: "48h", want: 48 * time.Hour},
		{name: "0s keeps events for ever", env: "0s", want: 0},
		{name: "too short", file: `{"events_retention":"1h"}`, wantErr: "events_retention must be at least 24h"},
		{name: "negative", env: "-48h", wantErr: "events_retention must be at least 24h"},
		{name: "not a duration in the environment", env: "90d", wantErr: "GATEHOUSE_EVENTS_RETENTION"},
		{name: "not a duration in the file", file: `{"events_retention":"90d"}`, wantErr: "config file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var args []string
			if tt.file != "" {
				file := filepath.Join(t.TempDir(), "g.json")
				if err := os.WriteFile(file, []byte(tt.file), 0o600); err != nil {
					t.Fatal(err)
				}
				args = []string{"--config", file}
			}
			cfg, _, err := loadConfig("serve", args, func(k string) string {
				if k == "GATEHOUSE_EVENTS_RETENTION" {
					return tt.env
				}
				return ""
			})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := time.Duration(cfg.EventsRetention); got != tt.want {
				t.Fatalf("events_retention = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestSweepAppliesEventsRetention wires the server's components on SQLite and checks that the
// periodic sweep deletes events older than events_retention, and only those.
func TestSweepAppliesEventsRetention(t *testing.T) {
	ctx := context.Background()
	cfg := defaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.EventsRetention = Duration(48 * time.Hour)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a, err := open(ctx, cfg, newLogger(os.Stderr, "error"))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	now := time.Now()
	for _, at := range []time.Time{now.Add(-72 * time.Hour), now.Add(-49 * time.Hour), now.Add(-47 * time.Hour), now} {
		if err := a.db.AppendEvent(ctx, &audit.Event{Type: audit.LoginFailed, Time: at}); err != nil {
			t.Fatal(err)
		}
	}
	sweep(ctx, a)
	left, err := a.db.ListEvents(ctx, audit.Filter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 2 {
		t.Fatalf("%d events left after the sweep, want the 2 younger than 48h", len(left))
	}
	for _, e := range left {
		if now.Sub(e.Time) > 48*time.Hour {
			t.Fatalf("event of %v survived the sweep", e.Time)
		}
	}
}
