package main

import (
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

func TestHostedPagesConfig(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{name: "defaults"},
		{name: "origins and branding", env: map[string]string{"GATEHOUSE_RETURN_TO_ORIGINS": "https://app.example.com, http://localhost:3000", "GATEHOUSE_UI_NAME": "Acme", "GATEHOUSE_UI_LOGO_URL": "/logo.svg"}},
		{name: "origin with a path", env: map[string]string{"GATEHOUSE_RETURN_TO_ORIGINS": "https://app.example.com/cb"}, wantErr: "return_to_origins"},
		{name: "not an origin", env: map[string]string{"GATEHOUSE_RETURN_TO_ORIGINS": "app.example.com"}, wantErr: "return_to_origins"},
		{name: "origin with user info", env: map[string]string{"GATEHOUSE_RETURN_TO_ORIGINS": "https://u@app.example.com"}, wantErr: "return_to_origins"},
		{name: "http logo", env: map[string]string{"GATEHOUSE_UI_LOGO_URL": "http://cdn.example.com/logo.svg"}, wantErr: "ui_logo_url"},
		{name: "protocol-relative logo", env: map[string]string{"GATEHOUSE_UI_LOGO_URL": "//cdn.example.com/logo.svg"}, wantErr: "ui_logo_url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := loadConfig("serve", nil, func(k string) string { return tc.env[k] })
			if tc.wantErr == "" && err != nil {
				t.Fatal(err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.wantErr)
			}
		})
	}
}

// TestHostedPagesServed: the real server serves the sign-in page with the configured name,
// and sends a browser back to a configured return_to origin after signing in.
func TestHostedPagesServed(t *testing.T) {
	s := startServer(t, filepath.Join(t.TempDir(), "data"), map[string]string{
		"GATEHOUSE_UI_NAME": "Acme Login", "GATEHOUSE_RETURN_TO_ORIGINS": "https://app.example.com"}, "--insecure-dev")
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(s.url + "/ui/login")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(b), "Acme Login") || !strings.Contains(res.Header.Get("Content-Security-Policy"), "https://app.example.com") {
		t.Fatalf("%d %q %s", res.StatusCode, res.Header.Get("Content-Security-Policy"), b)
	}
	form := url.Values{"email": {"pages@example.com"}, "password": {"correct horse battery staple"}, "return_to": {"https://app.example.com/home"}}
	req, _ := http.NewRequest("POST", s.url+"/ui/signup", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	res, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "https://app.example.com/home" || len(res.Cookies()) == 0 {
		t.Fatalf("sign-up: %d to %q, cookies %v", res.StatusCode, res.Header.Get("Location"), res.Cookies())
	}
}
