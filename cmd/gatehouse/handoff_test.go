package main

import (
	"slices"
	"strings"
	"testing"
)

func TestHandoffConfig(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "GATEHOUSE_HANDOFF_TARGETS" {
				return v
			}
			return ""
		}
	}
	cfg, _, err := loadConfig("serve", nil, env("https://auth.a.example/v1/handoff/complete,https://auth.b.example/v1/handoff/complete"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.HandoffTargets, []string{"https://auth.a.example/v1/handoff/complete", "https://auth.b.example/v1/handoff/complete"}) {
		t.Fatalf("handoff_targets %v", cfg.HandoffTargets)
	}
	// Every bad target is reported, at once.
	_, _, err = loadConfig("serve", nil, env("http://auth.a.example/v1/handoff/complete,https://auth.b.example/v1/handoff/complete?x=1"))
	if err == nil || strings.Count(err.Error(), "handoff_targets") != 2 {
		t.Fatalf("loadConfig: %v, want two handoff_targets problems", err)
	}
}
