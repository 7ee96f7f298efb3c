package accounts_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/mfa"
)

const (
	uaChrome120Win = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
	uaChrome131Win = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.86 Safari/537.36"
	uaFirefoxLinux = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
	uaSafariIOS    = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
	uaChromeIOS    = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1"
	uaEdgeWin      = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.70"
	uaChromeDroid  = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36"
	uaSafariMac    = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15"
)

func TestUserAgentFamily(t *testing.T) {
	tests := []struct{ name, ua, want string }{
		{"chrome windows", uaChrome120Win, "chrome/windows"},
		{"chrome windows, new version", uaChrome131Win, "chrome/windows"},
		{"firefox linux", uaFirefoxLinux, "firefox/linux"},
		{"safari ios", uaSafariIOS, "safari/ios"},
		{"chrome ios", uaChromeIOS, "chrome/ios"},
		{"edge says chrome too", uaEdgeWin, "edge/windows"},
		{"android says linux too", uaChromeDroid, "chrome/android"},
		{"safari mac", uaSafariMac, "safari/macos"},
		{"empty", "", "other"},
		{"garbage", "\x00\xff<script>;;;", "other"},
		{"a tool", "curl/8.5.0", "other"},
		{"huge", strings.Repeat("A", 1<<20) + " Firefox/1.0", "other"},
	}
	for _, tc := range tests {
		if got := accounts.UserAgentFamily(tc.ua); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func FuzzUserAgentFamily(f *testing.F) {
	f.Add(uaChrome120Win)
	f.Add("")
	f.Fuzz(func(t *testing.T, ua string) {
		got := accounts.UserAgentFamily(ua)
		if got == "" || len(got) > 32 {
			t.Fatalf("%q: family %q", ua, got)
		}
	})
}

// TestMFAAdaptiveUserAgent: the new-user-agent signal alone asks for a second factor, and an
// update of the same browser does not fire it.
func TestMFAAdaptiveUserAgent(t *testing.T) {
	f := newMFAFixture(t, openSQLite(t), accounts.MFAAdaptive)
	ctx := context.Background()
	u := f.mustUser(t, "browsers@example.com", testPassword)
	seed, _ := f.enrol(t, u)
	home := client("198.51.100.21")
	home.UserAgent = uaChrome120Win

	mr := mustMFARequired(t, nil, errOf(f.svc.Login(ctx, u.Email, testPassword, home)))
	res, err := f.svc.LoginMFA(ctx, string(mr.Token), accounts.Proof{Code: mfa.Code(seed, f.clock.Now())}, home)
	if err != nil {
		t.Fatal(err)
	}
	home.Device = res.Device

	withUA := func(ua string) accounts.Client { c := home; c.UserAgent = ua; return c }
	tests := []struct {
		name string
		c    accounts.Client
		want string // reasons of login.risk
	}{
		{"same browser", home, "none"},
		{"same browser, new version", withUA(uaChrome131Win), "none"},
		{"another browser", withUA(uaFirefoxLinux), accounts.RiskNewUserAgent},
		{"another device", withUA(uaSafariIOS), accounts.RiskNewUserAgent},
		// Garbage is "other", the family the enrolling sign-in (User-Agent "test") made known.
		{"garbage", withUA("\x01garbage"), "none"},
	}
	for _, tc := range tests {
		res, err := f.svc.Login(ctx, u.Email, testPassword, tc.c)
		ev := f.events(t, audit.LoginRisk)
		if got := ev[len(ev)-1].Reason; got != tc.want {
			t.Errorf("%s: login.risk reason %q, want %q", tc.name, got, tc.want)
		}
		if tc.want == "none" && (err != nil || res.Session == nil) {
			t.Errorf("%s: %v, want a session", tc.name, err)
		}
		if tc.want != "none" {
			mustMFARequired(t, res, err)
		}
	}

	// Once a full sign-in from the new browser succeeded, it is known.
	ff := withUA(uaFirefoxLinux)
	f.clock.Add(mfa.Period * 3)
	mr = mustMFARequired(t, nil, errOf(f.svc.Login(ctx, u.Email, testPassword, ff)))
	if _, err := f.svc.LoginMFA(ctx, string(mr.Token), accounts.Proof{Code: mfa.Code(seed, f.clock.Now())}, ff); err != nil {
		t.Fatal(err)
	}
	if res, err := f.svc.Login(ctx, u.Email, testPassword, ff); err != nil || res.Session == nil {
		t.Fatalf("known browser after a full sign-in: %v", err)
	}
}
