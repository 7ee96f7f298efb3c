package password

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writePwned writes a Pwned Passwords style file for the given passwords and returns its path.
func writePwned(t *testing.T, eol string, passwords ...string) string {
	t.Helper()
	var lines []string
	for i, pw := range passwords {
		sum := sha1.Sum([]byte(pw))
		lines = append(lines, fmt.Sprintf("%s:%d", strings.ToUpper(hex.EncodeToString(sum[:])), 1+i%100000))
	}
	slices.Sort(lines)
	path := filepath.Join(t.TempDir(), "pwned-passwords-sha1-ordered-by-hash.txt")
	if err := os.WriteFile(path, []byte(strings.Join(lines, eol)+eol), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPwnedFile(t *testing.T) {
	var in, out []string
	for i := range 1000 {
		in = append(in, fmt.Sprintf("leaked-%d", i))
		out = append(out, fmt.Sprintf("fresh-%d", i))
	}
	for _, eol := range []string{"\r\n", "\n"} {
		t.Run(fmt.Sprintf("%q", eol), func(t *testing.T) {
			p, err := OpenPwnedFile(writePwned(t, eol, in...))
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			for _, pw := range in {
				if ok, err := p.Contains(pw); !ok || err != nil {
					t.Fatalf("Contains(%q) = %v, %v; want true", pw, ok, err)
				}
			}
			for _, pw := range out {
				if ok, err := p.Contains(pw); ok || err != nil {
					t.Fatalf("Contains(%q) = %v, %v; want false", pw, ok, err)
				}
			}
		})
	}
	for _, n := range []int{1, 2, 3, 7} {
		t.Run(fmt.Sprint("small ", n), func(t *testing.T) {
			p, err := OpenPwnedFile(writePwned(t, "\r\n", in[:n]...))
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			for _, pw := range in[:n] {
				if ok, err := p.Contains(pw); !ok || err != nil {
					t.Fatalf("Contains(%q) = %v, %v", pw, ok, err)
				}
			}
			if ok, err := p.Contains("fresh"); ok || err != nil {
				t.Fatalf("Contains(fresh) = %v, %v", ok, err)
			}
		})
	}
}

func TestPwnedFileRefusesOtherFiles(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"empty":    "",
		"words":    "password\nletmein\n",
		"ntlm":     "00000011059407D743D40689940F858C:3\r\n",
		"unsorted": "FFFFF00000000000000000000000000000000000:1\r\n00000000000000000000000000000000000000AA:2\r\n",
		"lower":    "0000000000000000000000000000000000000aaa:1\r\n",
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if p, err := OpenPwnedFile(path); err == nil {
			p.Close()
			t.Errorf("%s: OpenPwnedFile accepted it", name)
		}
	}
	if _, err := OpenPwnedFile(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing file was accepted")
	}
}

func TestPolicyCheck(t *testing.T) {
	// A strong-looking password that only the operator's file knows, and one it does not.
	pf, err := OpenPwnedFile(writePwned(t, "\r\n", "Tr0ub4dor&3-but-leaked", "another one"))
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	p := &Policy{Breached: pf}
	for _, tt := range []struct {
		pw   string
		want error
	}{
		{"Tr0ub4dor&3-but-leaked", ErrCommon},
		{"tr0ub4dor&3-but-leaked", nil}, // the list is of exact passwords
		{"q7#Vt9!mWz2p", nil},
		{"password123", ErrCommon}, // the embedded set still applies
		{"short", ErrTooShort},
	} {
		if err := p.Check(tt.pw); !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
			t.Errorf("Check(%q) = %v, want %v", tt.pw, err, tt.want)
		}
	}
	if err := (*Policy)(nil).Check("Tr0ub4dor&3-but-leaked"); err != nil {
		t.Errorf("a nil Policy must apply Check alone: %v", err)
	}
	pf.Close()
	if err := p.Check("q7#Vt9!mWz2p-closed"); err == nil || errors.Is(err, ErrCommon) {
		t.Errorf("a file that cannot be read must fail the check, got %v", err)
	}
}
