package web

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func newTestHandler(t *testing.T, cfg Config) *Handler {
	t.Helper()
	if cfg.Issuer == "" {
		cfg.Issuer = "https://auth.example.com"
	}
	return New(cfg)
}

func TestSafeReturnTo(t *testing.T) {
	h := newTestHandler(t, Config{ReturnToOrigins: []string{"https://app.example.com", "http://localhost:3000"}})
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"/", true},
		{"/ui/account", true},
		{"/a/b?c=d#e", true},
		{"/%2F/evil.example", true}, // a path on this server: browsers do not decode %2F into an authority
		{"https://auth.example.com/x", true},
		{"https://AUTH.example.com:443/x", true},
		{"https://app.example.com", true},
		{"https://app.example.com/cb?state=1", true},
		{"http://localhost:3000/cb", true},

		{"", false},
		{"//evil.example", false},
		{"///evil.example", false},
		{`/\evil.example`, false},
		{`/\/evil.example`, false},
		{`\/evil.example`, false},
		{"/\t/evil.example", false},
		{"/\n/evil.example", false},
		{"/\r/evil.example", false},
		{" /x", false},
		{"/x y", false},
		{"https://evil.example", false},
		{"evil.example", false},
		{"javascript:alert(1)", false},
		{"JavaScript:alert(1)", false},
		{"data:text/html,<script>alert(1)</script>", false},
		{"https://app.example.com.evil.example/", false},
		{"https://app.example.com@evil.example/", false},
		{"https://user:pass@app.example.com/", false},
		{"https://evil.example#@app.example.com", false},
		{"https://evil.example?@app.example.com", false},
		{"http://app.example.com/", false}, // scheme differs
		{"https://app.example.com:8443/", false},
		{"https:app.example.com", false},
		{"https:/app.example.com", false},
		{"%2F%2Fevil.example", false},
		{"%2f%2fevil.example", false},
		{"https%3A%2F%2Fevil.example", false},
		{"/" + strings.Repeat("a", maxReturnTo), false},
	} {
		got := h.safeReturnTo(tc.in)
		if (got != "") != tc.ok || (tc.ok && got != tc.in) {
			t.Errorf("safeReturnTo(%q) = %q, want ok=%v", tc.in, got, tc.ok)
		}
	}
}

func FuzzSafeReturnTo(f *testing.F) {
	for _, s := range []string{"/x", "//evil", `/\evil`, "https://app.example.com/", "https://evil@app.example.com"} {
		f.Add(s)
	}
	h := New(Config{Issuer: "https://auth.example.com", ReturnToOrigins: []string{"https://app.example.com"}})
	f.Fuzz(func(t *testing.T, s string) {
		got := h.safeReturnTo(s)
		if got == "" {
			return
		}
		// Whatever is accepted is a same-server path or names an allowed origin, read the way
		// a browser reads it (leading "/" once; no backslash, control or space).
		if strings.ContainsAny(got, "\\\t\r\n ") {
			t.Fatalf("accepted %q", got)
		}
		if strings.HasPrefix(got, "//") {
			t.Fatalf("accepted %q", got)
		}
		if !strings.HasPrefix(got, "/") && !strings.HasPrefix(strings.ToLower(got), "https://app.example.com") && !strings.HasPrefix(strings.ToLower(got), "https://auth.example.com") {
			t.Fatalf("accepted %q", got)
		}
	})
}

func TestCheckTheme(t *testing.T) {
	if err := CheckTheme(map[string]string{"accent": "#0a7d36", "radius": "4px", "font": "Inter, sans-serif", "bg": "rgb(250, 250, 250)"}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []map[string]string{
		{"accent": "red;} body{display:none"},
		{"accent": "</style><script>alert(1)</script>"},
		{"accent": `url("https://evil.example/x")`},
		{"accent": `\31 23`},
		{"nonsense": "red"},
	} {
		if CheckTheme(bad) == nil {
			t.Errorf("CheckTheme(%v) accepted", bad)
		}
	}
}

func TestThemeAndBrandRendered(t *testing.T) {
	h := newTestHandler(t, Config{Name: "Acme <Corp>", LogoURL: "https://cdn.example.com/logo.svg",
		Theme: map[string]string{"accent": "#0a7d36", "fg": "red;}</style><script>alert(1)</script>"}})
	w := httptest.NewRecorder()
	h.Error(w, httptest.NewRequest("GET", "/ui/x", nil), http.StatusNotFound, "Gone", "It is <gone>.")
	body := w.Body.String()
	if w.Code != http.StatusNotFound || !strings.Contains(body, "It is &lt;gone&gt;.") || !strings.Contains(body, "Acme &lt;Corp&gt;") {
		t.Fatalf("%d %s", w.Code, body)
	}
	if !strings.Contains(body, ":root{--gh-accent:#0a7d36;}") || strings.Contains(body, "alert(1)") {
		t.Fatalf("theme: %s", body)
	}
	csp := w.Header().Get("Content-Security-Policy")
	if !strings.Contains(csp, "img-src 'self' data: https://cdn.example.com;") {
		t.Fatalf("logo origin not allowed for images: %s", csp)
	}
}

// pageData is data of a page another package renders with Page.
type pageData struct{ Title string }

func (d pageData) PageTitle() string { return d.Title }

func TestPageUnknownTemplate(t *testing.T) {
	h := newTestHandler(t, Config{})
	w := httptest.NewRecorder()
	h.Page(w, httptest.NewRequest("GET", "/ui/x", nil), http.StatusOK, "no-such-page", pageData{Title: "x"})
	if w.Code != http.StatusInternalServerError || !strings.Contains(w.Body.String(), "Something went wrong") {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}

var (
	inputTag = regexp.MustCompile(`<input\b[^>]*>`)
	idAttr   = regexp.MustCompile(`\bid="([^"]+)"`)
)

// TestEveryInputHasALabel renders each form and checks that every visible input has a
// <label for> and that each aria-describedby names an element of the page.
func TestEveryInputHasALabel(t *testing.T) {
	h := newTestHandler(t, Config{})
	for _, tc := range []struct {
		name string
		data *form
	}{
		{"login", &form{Title: "Sign in", Errors: map[string]string{"email": "x", "password": "y"}, Passkeys: true}},
		{"signup", &form{Title: "Sign up", Errors: map[string]string{"email": "x", "password": "y"}}},
		{"mfa", &form{Title: "MFA", MFAToken: "t", Errors: map[string]string{"code": "x"}}},
		{"mfa", &form{Title: "MFA", MFAToken: "t", Recovery: true, Errors: map[string]string{"recovery_code": "x"}}},
		{"logout", &form{Title: "Sign out", Errors: map[string]string{}}},
	} {
		w := httptest.NewRecorder()
		h.Page(w, httptest.NewRequest("GET", "/ui/"+tc.name, nil), http.StatusOK, tc.name, tc.data)
		body := w.Body.String()
		for _, in := range inputTag.FindAllString(body, -1) {
			if strings.Contains(in, `type="hidden"`) {
				continue
			}
			m := idAttr.FindStringSubmatch(in)
			if m == nil || !strings.Contains(body, `<label for="`+m[1]+`">`) {
				t.Errorf("%s: input without a label: %s", tc.name, in)
			}
		}
		for _, m := range regexp.MustCompile(`aria-describedby="([^"]+)"`).FindAllStringSubmatch(body, -1) {
			for _, id := range strings.Fields(m[1]) {
				if !strings.Contains(body, `id="`+id+`"`) {
					t.Errorf("%s: aria-describedby names %q, which is not on the page", tc.name, id)
				}
			}
		}
		if tc.name != "logout" && !strings.Contains(body, `role="alert"`) {
			t.Errorf("%s: no alert region", tc.name)
		}
	}
}

func TestHumanWait(t *testing.T) {
	for secs, want := range map[int]string{1: "1 second", 45: "45 seconds", 60: "1 minute", 61: "2 minutes", 3600: "1 hour", 7201: "3 hours"} {
		if got := humanWait(secs); got != want {
			t.Errorf("humanWait(%d) = %q, want %q", secs, got, want)
		}
	}
}

func TestLinksKeepReturnTo(t *testing.T) {
	h := newTestHandler(t, Config{ReturnToOrigins: []string{"https://app.example.com"}, Accounts: nil})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/ui/login?prompt=login&return_to=https://app.example.com/cb%3Fa%3D1%26b%3D2", nil))
	body := w.Body.String()
	if !strings.Contains(body, `href="/ui/signup?return_to=https%3a%2f%2fapp.example.com%2fcb%3fa%3d1%26b%3d2"`) &&
		!strings.Contains(body, `href="/ui/signup?return_to=https%3A%2F%2Fapp.example.com%2Fcb%3Fa%3D1%26b%3D2"`) {
		t.Fatalf("sign-up link: %s", body)
	}
	if !strings.Contains(body, `name="return_to" value="https://app.example.com/cb?a=1&amp;b=2"`) {
		t.Fatalf("hidden return_to: %s", body)
	}
}
