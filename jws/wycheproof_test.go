package jws

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

// The Wycheproof vectors come from the module github.com/c2sp/wycheproof. The test asks the go
// command where the module lives rather than importing the package, which would embed 100 MB
// of vectors in the test binary. It uses the version in go.mod when there is one, and otherwise
// (say, after a go mod tidy that dropped the unused requirement) downloads the pinned version
// below from a scratch directory, which leaves go.mod and go.sum alone. A module that cannot
// be found fails the test: these vectors are a security invariant (docs/security.md).

const (
	wycheproofModule  = "github.com/c2sp/wycheproof"
	wycheproofVersion = "v0.0.0-20260902155932-3fa63dd0344a"
)

var (
	wycheproofOnce sync.Once
	wycheproofDir  string
	wycheproofErr  error
)

func wycheproofPath(tb testing.TB, name string) string {
	tb.Helper()
	wycheproofOnce.Do(func() { wycheproofDir, wycheproofErr = findWycheproof() })
	if wycheproofDir == "" {
		tb.Fatalf("cannot locate module %s: %v", wycheproofModule, wycheproofErr)
	}
	return filepath.Join(wycheproofDir, "testvectors_v1", name)
}

func findWycheproof() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", wycheproofModule).Output()
	if dir := strings.TrimSpace(string(out)); err == nil && dir != "" {
		return dir, nil
	}
	scratch, err := os.MkdirTemp("", "jws-wycheproof")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(scratch)
	cmd := exec.Command("go", "mod", "download", "-json", wycheproofModule+"@"+wycheproofVersion)
	cmd.Dir = scratch
	cmd.Env = append(os.Environ(), "GOWORK=off", "GO111MODULE=on")
	out, err = cmd.Output()
	if err != nil {
		return "", err
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil {
		return "", err
	}
	if info.Dir == "" {
		return "", errors.New(info.Error)
	}
	return info.Dir, nil
}

func loadWycheproof(tb testing.TB, name string, v any) {
	tb.Helper()
	b, err := os.ReadFile(wycheproofPath(tb, name))
	if err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
}

type wpTest struct {
	TcID    int      `json:"tcId"`
	Comment string   `json:"comment"`
	Flags   []string `json:"flags"`
	Result  string   `json:"result"`
	JWS     string   `json:"jws"`
	Msg     string   `json:"msg"`
	Sig     string   `json:"sig"`
}

// counter tallies vectors per algorithm and outcome for the log.
type counter map[string]int

func (c counter) log(tb testing.TB, what string) {
	tb.Helper()
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "\n  %s: %d", k, c[k])
	}
	tb.Logf("%s:%s", what, b.String())
}

// headerAlg returns the alg of a compact JWS header if it can be read, for bookkeeping only.
func headerAlg(jws string) string {
	seg, _, _ := strings.Cut(jws, ".")
	b, err := enc.DecodeString(seg)
	if err != nil {
		return "?"
	}
	var h struct{ Alg string }
	if json.Unmarshal(b, &h) != nil || h.Alg == "" {
		return "?"
	}
	return h.Alg
}

// checkResult asserts one vector's outcome. Supported algorithms must match Wycheproof's
// verdict; a "valid" vector of an algorithm we do not support must be rejected; "acceptable"
// (legal but discouraged encodings) may go either way and is only logged.
func checkResult(t *testing.T, c counter, tc wpTest, alg string, err error) {
	t.Helper()
	supported := Algorithm(alg).Supported()
	label := alg
	if !supported {
		label = "unsupported"
	}
	switch {
	case tc.Result == "acceptable":
		c[fmt.Sprintf("%s acceptable (accepted: %v)", label, err == nil)]++
		return
	case tc.Result == "valid" && supported:
		if err != nil {
			t.Errorf("tcId %d (%s, %s): valid vector rejected: %v", tc.TcID, alg, tc.Comment, err)
		}
	case tc.Result == "valid":
		if err == nil {
			t.Errorf("tcId %d (%s, %s): unsupported algorithm accepted", tc.TcID, alg, tc.Comment)
		}
	case tc.Result == "invalid":
		if err == nil {
			t.Errorf("tcId %d (%s, %s %v): invalid vector accepted", tc.TcID, alg, tc.Comment, tc.Flags)
		}
	default:
		t.Fatalf("tcId %d: unknown result %q", tc.TcID, tc.Result)
	}
	c[label+" "+tc.Result]++
}

// requireRan fails unless vectors of each algorithm in algs were checked.
func requireRan(t *testing.T, c counter, algs ...Algorithm) {
	t.Helper()
	for _, alg := range algs {
		n := 0
		for k, v := range c {
			if strings.HasPrefix(k, string(alg)+" ") {
				n += v
			}
		}
		if n == 0 {
			t.Errorf("no %s vectors ran", alg)
		}
	}
}

// TestWycheproofJWS runs json_web_signature_test.json: each group has one key (a public JWK,
// or only a private one), each test a compact JWS. The payloads are not claim sets, so the
// JWS layer (ParseJWS + Token.Verify) is what is exercised. The file has no EdDSA vectors; see
// TestWycheproofSignatures for Ed25519.
func TestWycheproofJWS(t *testing.T) {
	var file struct {
		TestGroups []struct {
			Comment string          `json:"comment"`
			Public  json.RawMessage `json:"public"`
			Private json.RawMessage `json:"private"`
			Tests   []wpTest        `json:"tests"`
		} `json:"testGroups"`
	}
	loadWycheproof(t, "json_web_signature_test.json", &file)
	c := counter{}
	for _, g := range file.TestGroups {
		// A private JWK must never be accepted as a verification key.
		if len(g.Private) > 0 {
			if _, err := ParsePublicJWK(g.Private); err == nil {
				t.Errorf("group %s: private JWK accepted", g.Comment)
			}
		}
		var key PublicKey
		keyErr := error(ErrUnknownKey) // only a private key: nothing to verify with
		if len(g.Public) > 0 {
			key, keyErr = ParsePublicJWK(g.Public)
		}
		for _, tc := range g.Tests {
			alg := headerAlg(tc.JWS)
			err := keyErr
			if err == nil {
				var tok *Token
				if tok, err = ParseJWS(tc.JWS); err == nil {
					err = tok.Verify(key)
				}
			}
			checkResult(t, c, tc, alg, err)
		}
	}
	c.log(t, "json_web_signature_test.json")
	requireRan(t, c, ES256, RS256)
}

// TestWycheproofJWK runs json_web_key_test.json: each group has a JWK Set (public, or only
// private), each test a JWS to check against it by kid.
func TestWycheproofJWK(t *testing.T) {
	var file struct {
		TestGroups []struct {
			Comment string          `json:"comment"`
			Public  json.RawMessage `json:"public"`
			Private json.RawMessage `json:"private"`
			Tests   []wpTest        `json:"tests"`
		} `json:"testGroups"`
	}
	loadWycheproof(t, "json_web_key_test.json", &file)
	c := counter{}
	for _, g := range file.TestGroups {
		if len(g.Private) > 0 {
			if _, err := ParseJWKSet(g.Private); err == nil {
				t.Errorf("group %s: set with private keys accepted", g.Comment)
			}
		}
		set := g.Public
		if len(set) == 0 {
			set = g.Private
		}
		keys, keyErr := ParseJWKSet(set)
		for _, tc := range g.Tests {
			alg := headerAlg(tc.JWS)
			err := keyErr
			if err == nil {
				var tok *Token
				if tok, err = ParseJWS(tc.JWS); err == nil {
					key, ok := Keys(keys).Key(tok.Header.Kid)
					if !ok {
						err = ErrUnknownKey
					} else {
						err = tok.Verify(key)
					}
				}
			}
			checkResult(t, c, tc, alg, err)
		}
	}
	c.log(t, "json_web_key_test.json")
	requireRan(t, c, RS256)
}

// TestWycheproofSignatures runs the raw signature vectors of our three algorithms through the
// package's own verifier, with keys parsed from the vectors' JWKs (which carry no "alg", so the
// algorithm is inferred). This is where EdDSA is covered, and it adds ECDSA P1363 (the R||S
// form JWS uses) and PKCS #1 v1.5 edge cases.
func TestWycheproofSignatures(t *testing.T) {
	c := counter{}
	for _, f := range []struct {
		file string
		alg  Algorithm
	}{
		{"ed25519_test.json", EdDSA},
		{"ecdsa_secp256r1_sha256_p1363_test.json", ES256},
		{"rsa_signature_2048_sha256_test.json", RS256},
		{"rsa_signature_3072_sha256_test.json", RS256},
		{"rsa_signature_4096_sha256_test.json", RS256},
	} {
		var file struct {
			TestGroups []struct {
				PublicKeyJwk json.RawMessage `json:"publicKeyJwk"`
				KeyJwk       json.RawMessage `json:"keyJwk"`
				PublicKey    struct {
					Uncompressed string `json:"uncompressed"`
				} `json:"publicKey"`
				Tests []wpTest `json:"tests"`
			} `json:"testGroups"`
		}
		loadWycheproof(t, f.file, &file)
		for i, g := range file.TestGroups {
			jwk := g.PublicKeyJwk
			if len(jwk) == 0 {
				jwk = g.KeyJwk
			}
			var key PublicKey
			var err error
			if len(jwk) > 0 {
				key, err = ParsePublicJWK(jwk)
			} else {
				// A few ECDSA groups give the key only as an uncompressed point.
				key, err = ecdsaKeyFromPoint(g.PublicKey.Uncompressed)
			}
			if err != nil {
				t.Fatalf("%s group %d: key: %v", f.file, i, err)
			}
			if key.Algorithm != f.alg {
				t.Fatalf("%s group %d: key algorithm %s", f.file, i, key.Algorithm)
			}
			for _, tc := range g.Tests {
				msg, err1 := hex.DecodeString(tc.Msg)
				sig, err2 := hex.DecodeString(tc.Sig)
				if err1 != nil || err2 != nil {
					t.Fatalf("%s tcId %d: bad hex", f.file, tc.TcID)
				}
				checkResult(t, c, tc, string(f.alg), verifySignature(key, msg, sig))
			}
		}
	}
	c.log(t, "raw signature vectors")
	requireRan(t, c, EdDSA, ES256, RS256)
}

func ecdsaKeyFromPoint(hexPoint string) (PublicKey, error) {
	b, err := hex.DecodeString(hexPoint)
	if err != nil {
		return PublicKey{}, err
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), b)
	if err != nil {
		return PublicKey{}, err
	}
	return NewPublicKey("", ES256, pub)
}
