package users

import "testing"

func TestNormalizeEmail(t *testing.T) {
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"plain", "alice@example.com", "alice@example.com", true},
		{"case and space", "  Alice@Example.COM ", "alice@example.com", true},
		{"plus", "a+tag@example.co.uk", "a+tag@example.co.uk", true},
		{"unicode domain", "bob@exämple.de", "bob@exämple.de", true},
		{"empty", "", "", false},
		{"no at", "alice.example.com", "", false},
		{"no domain dot", "alice@localhost", "", false},
		{"display name", "Alice <alice@example.com>", "", false},
		{"quoted local", `"a b"@example.com`, "", false},
		{"two ats", "a@b@example.com", "", false},
		{"trailing dot", "a@example.com.", "", false},
		{"double dot", "a@example..com", "", false},
		{"control char", "a\x01@example.com", "", false},
		{"inner space", "a b@example.com", "", false},
		{"invalid utf8", "a\xff@example.com", "", false},
		{"too long", string(make([]byte, 250)) + "@e.com", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeEmail(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("NormalizeEmail(%q) err = %v, want ok=%v", tt.in, err, tt.ok)
			}
			if got != tt.want {
				t.Fatalf("NormalizeEmail(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"a@b.c", "A <a@b.c>", "\"x\"@y.z", "@", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := NormalizeEmail(s)
		if err != nil {
			return
		}
		again, err := NormalizeEmail(got)
		if err != nil || again != got {
			t.Fatalf("normal form not stable: %q -> %q -> %q (%v)", s, got, again, err)
		}
	})
}
