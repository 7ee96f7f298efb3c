package password

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

// breachedSource regenerates breached-passwords.gcs from a frequency-ordered password list:
//
//	go test ./internal/password -run TestGenerateBreached -breached-source=10-million-password-list-top-1000000.txt
var breachedSource = flag.String("breached-source", "", "regenerate breached-passwords.gcs from this list")

// Parameters of the embedded set (see breachedData).
const (
	breachedEntries = 200_000
	breachedK       = 15
)

func TestGenerateBreached(t *testing.T) {
	if *breachedSource == "" {
		t.Skip("set -breached-source to regenerate breached-passwords.gcs")
	}
	list, err := os.ReadFile(*breachedSource)
	if err != nil {
		t.Fatal(err)
	}
	words := breachedWords(string(list), breachedEntries)
	if len(words) != breachedEntries {
		t.Fatalf("the list has %d usable entries, want %d", len(words), breachedEntries)
	}
	data := buildGCS(words, breachedK)
	if err := os.WriteFile("breached-passwords.gcs", data, 0o644); err != nil {
		t.Fatal(err)
	}
	g, err := parseGCS(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range words {
		if !g.has(w) {
			t.Fatalf("%q missing from the set just built", w)
		}
	}
	t.Logf("%d entries, %d bytes (%.2f bits each), last entry %q", len(words), len(data), float64(8*len(data))/float64(len(words)), words[len(words)-1])
}

func TestBreachedSet(t *testing.T) {
	g := breached()
	if g.n != breachedEntries || g.k != breachedK {
		t.Fatalf("embedded set has n=%d k=%d, want %d and %d", g.n, g.k, breachedEntries, breachedK)
	}
	if len(breachedData) > 450_000 {
		t.Fatalf("embedded set is %d bytes; keep it under 450 KB", len(breachedData))
	}
	// Entries from the top, the middle and the very end of the 200,000 kept (kept entry
	// number and line of the source list, which also holds shorter passwords, in comments).
	for _, pw := range []string{
		"password", "qwertyuiop", "iloveyou", "password123", "P@ssw0rd", // lines 2 to 31,841
		"trek5500",     // 50,000th, line 132,150
		"smokey24",     // 100,000th, line 263,956
		"vidaloka2009", // 150,000th, line 386,574
		"maxomaxo",     // 199,999th, line 490,257
		"maxno1998",    // 200,000th, line 490,260
	} {
		if !g.has(strings.ToLower(pw)) {
			t.Errorf("%q not in the breached set", pw)
		}
	}
}

// TestBreachedFalsePositives measures the false-positive rate on 50,000 random passwords
// (fixed seed, so the count is deterministic): 2^-15 predicts about 1.5.
func TestBreachedFalsePositives(t *testing.T) {
	g := breached()
	r := rand.New(rand.NewPCG(1, 2))
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789!#%&*"
	fp := 0
	const trials = 50_000
	for range trials {
		var b [14]byte
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		if g.has(string(b[:])) {
			fp++
		}
	}
	t.Logf("false positives: %d of %d (%.5f%%; 2^-15 = %.5f%%)", fp, trials, 100*float64(fp)/trials, 100.0/32768)
	if fp > 10 {
		t.Fatalf("%d false positives in %d, far above 2^-15", fp, trials)
	}
}

func TestGCSRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 255, 256, 257, 5000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var in, out []string
			for i := range n {
				in = append(in, fmt.Sprintf("member-%d", i))
				out = append(out, fmt.Sprintf("outsider-%d", i))
			}
			g, err := parseGCS(buildGCS(in, 12))
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range in {
				if !g.has(w) {
					t.Fatalf("member %q not found", w)
				}
			}
			fp := 0
			for _, w := range out {
				if g.has(w) {
					fp++
				}
			}
			if fp > n/100+2 {
				t.Fatalf("%d of %d outsiders found with k=12", fp, n)
			}
		})
	}
	for _, bad := range [][]byte{nil, []byte("GHBP"), []byte("XXXX\x01\x0f\x00\x00\x00\x00\x00\x00\x00\x00"),
		[]byte("GHBP\x01\x0f\x01\x00\x00\x00\x05\x00\x00\x00")} {
		if _, err := parseGCS(bad); err == nil {
			t.Fatalf("parseGCS(%q) accepted", bad)
		}
	}
}

func BenchmarkBreachedLookup(b *testing.B) {
	g := breached()
	for i := 0; b.Loop(); i++ {
		g.has(fmt.Sprintf("candidate-%d", i))
	}
}
