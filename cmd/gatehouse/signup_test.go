package main

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
)

// TestSignupRateConfig checks the global sign-up cap's keys: defaults, environment, and
// validation.
func TestSignupRateConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    ratelimit.Limit
		wantErr string
	}{
		{"default", nil, ratelimit.Limit{Burst: 60, Per: 500 * time.Millisecond}, ""},
		{"env", map[string]string{"GATEHOUSE_SIGNUP_RATE": "0.5", "GATEHOUSE_SIGNUP_BURST": "5"}, ratelimit.Limit{Burst: 5, Per: 2 * time.Second}, ""},
		{"zero rate", map[string]string{"GATEHOUSE_SIGNUP_RATE": "0"}, ratelimit.Limit{}, "signup_rate"},
		{"not a number", map[string]string{"GATEHOUSE_SIGNUP_RATE": "fast"}, ratelimit.Limit{}, "GATEHOUSE_SIGNUP_RATE"},
		{"NaN", map[string]string{"GATEHOUSE_SIGNUP_RATE": "NaN"}, ratelimit.Limit{}, "signup_rate"},
		{"zero burst", map[string]string{"GATEHOUSE_SIGNUP_BURST": "0"}, ratelimit.Limit{}, "signup_burst"},
		{"refill above ten years", map[string]string{"GATEHOUSE_SIGNUP_RATE": "0.001", "GATEHOUSE_SIGNUP_BURST": "1000000"}, ratelimit.Limit{}, "signup_rate and signup_burst"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _, err := loadConfig("serve", nil, func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.signupLimit(); got != tt.want {
				t.Fatalf("signup limit %v, want %v", got, tt.want)
			}
		})
	}
}
