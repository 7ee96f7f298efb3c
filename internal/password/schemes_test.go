package password

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

func b64url(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

type legacyVector struct {
	Scheme   string          `json:"scheme"`
	Tool     string          `json:"tool"`
	Password string          `json:"password"`
	Encoded  string          `json:"encoded"`
	Auth0    json.RawMessage `json:"auth0"`
}

// loadVectors reads testdata/legacy_vectors.json, made by gen_vectors.py with passlib,
// hashlib, mkpasswd, openssl passwd and htpasswd (never with this package's code).
func loadVectors(tb testing.TB) []legacyVector {
	tb.Helper()
	b, err := os.ReadFile("testdata/legacy_vectors.json")
	if err != nil {
		tb.Fatal(err)
	}
	var file struct{ Vectors []legacyVector }
	if err := json.Unmarshal(b, &file); err != nil {
		tb.Fatal(err)
	}
	for i, v := range file.Vectors {
		if v.Auth0 != nil {
			enc, err := ImportAuth0(v.Auth0)
			if err != nil {
				tb.Fatalf("ImportAuth0(%s): %v", v.Auth0, err)
			}
			file.Vectors[i].Encoded = enc
		}
	}
	return file.Vectors
}

// TestLegacyVectors checks every scheme against hashes made by independent implementations:
// the right password matches, wrong ones do not, and the scheme is named.
func TestLegacyVectors(t *testing.T) {
	vectors := loadVectors(t)
	seen := map[string]bool{}
	for _, v := range vectors {
		seen[v.Scheme] = true
		t.Run(v.Scheme+"/"+v.Tool, func(t *testing.T) {
			if got := Scheme(v.Encoded); got != v.Scheme {
				t.Errorf("Scheme(%q) = %q, want %q", v.Encoded, got, v.Scheme)
			}
			if err := CheckImported(v.Encoded); err != nil {
				t.Fatalf("CheckImported(%q): %v", v.Encoded, err)
			}
			for _, c := range []struct {
				pw   string
				want bool
			}{
				{v.Password, true},
				{v.Password + "!", v.Scheme == "bcrypt" && len(v.Password) >= 72}, // bcrypt reads 72 bytes
				{strings.ToUpper(v.Password[:1]) + v.Password[1:], false},
				{"", false},
			} {
				ok, err := VerifyLegacy(c.pw, v.Encoded)
				if err != nil || ok != c.want {
					t.Errorf("VerifyLegacy(%q, %q) = %v, %v; want %v", c.pw, v.Encoded, ok, err, c.want)
				}
			}
		})
	}
	for _, s := range []string{"argon2id", "argon2i", "bcrypt", "scrypt", "firebase-scrypt", "pbkdf2-sha1",
		"pbkdf2-sha256", "pbkdf2-sha512", "django-pbkdf2-sha256", "django-pbkdf2-sha1", "sha256-crypt",
		"sha512-crypt", "md5-crypt", "apr1-md5-crypt", "ldap-ssha", "ldap-ssha256", "ldap-ssha512",
		"auth0-md5", "auth0-sha1", "auth0-sha256", "auth0-sha512", "auth0-hmac-md5", "auth0-hmac-sha1",
		"auth0-hmac-sha256", "auth0-hmac-sha512", "auth0-scrypt"} {
		if !seen[s] {
			t.Errorf("no vector for %s", s)
		}
	}
}

// TestFirebaseReadmeVector checks the example of github.com/firebase/scrypt's README, given as
// the Firebase console shows it (padded base64), through FormatFirebaseScrypt.
func TestFirebaseReadmeVector(t *testing.T) {
	dec := func(s string) []byte {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	p := FirebaseScryptParams{
		SignerKey:     dec("jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA=="),
		SaltSeparator: dec("Bw=="),
		Rounds:        8,
		MemCost:       14,
	}
	enc, err := FormatFirebaseScrypt(p, dec("42xEC+ixf3L2lw=="),
		dec("lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ=="))
	if err != nil {
		t.Fatal(err)
	}
	for pw, want := range map[string]bool{"user1password": true, "user1Password": false, "user2password": false} {
		if ok, err := VerifyLegacy(pw, enc); err != nil || ok != want {
			t.Errorf("VerifyLegacy(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
	// The padded spelling of the same string verifies too.
	padded := "$fbscrypt$v=1,n=14,r=8,p=1,ss=Bw==,sk=jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==" +
		"$42xEC+ixf3L2lw==$lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ=="
	if ok, err := VerifyLegacy("user1password", padded); !ok || err != nil {
		t.Errorf("padded form: %v, %v", ok, err)
	}
	if _, err := FormatFirebaseScrypt(FirebaseScryptParams{SignerKey: p.SignerKey, Rounds: 8, MemCost: 30},
		[]byte("salt"), make([]byte, 64)); !errors.Is(err, ErrMalformedHash) {
		t.Errorf("FormatFirebaseScrypt over the cap: %v", err)
	}
}

func TestSchemeNames(t *testing.T) {
	for enc, want := range map[string]string{
		"":           "",
		"plaintext":  "unknown",
		"$2x$10$abc": "unknown",
		"$argon2d$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA": "unknown",
		"$md5$":                  "unknown",
		"{SHA}abc":               "unknown",
		"{ssha}abc":              "ldap-ssha",
		"$2y$99$":                "bcrypt",
		"$pbkdf2$1$":             "pbkdf2-sha1",
		"$pbkdf2-sha1$i=1":       "pbkdf2-sha1",
		"pbkdf2_sha1$":           "django-pbkdf2-sha1",
		"$auth0$junk":            "auth0-custom",
		"$5$":                    "sha256-crypt",
		"$apr1$":                 "apr1-md5-crypt",
		"$fbscrypt$":             "firebase-scrypt",
		"$argon2i$":              "argon2i",
		capHashes(0)["argon2id"]: "argon2id",
	} {
		if got := Scheme(enc); got != want {
			t.Errorf("Scheme(%q) = %q, want %q", enc, got, want)
		}
	}
}

// TestLegacyCaps checks that every capped scheme accepts a hash exactly at its cap and refuses
// one just above, without deriving anything.
func TestLegacyCaps(t *testing.T) {
	at, over := capHashes(0), capHashes(1)
	for name, enc := range at {
		if err := CheckImported(enc); err != nil {
			t.Errorf("%s at the cap: CheckImported(%q) = %v", name, enc, err)
		}
		if err := CheckImported(over[name]); !errors.Is(err, ErrMalformedHash) {
			t.Errorf("%s over the cap: CheckImported(%q) = %v, want ErrMalformedHash", name, over[name], err)
		}
		if ok, err := VerifyLegacy("x", over[name]); ok || !errors.Is(err, ErrMalformedHash) {
			t.Errorf("%s over the cap: VerifyLegacy = %v, %v", name, ok, err)
		}
	}
}

// TestLegacyMalformed feeds damaged variants of valid hashes of every scheme: each is
// ErrMalformedHash from CheckImported and VerifyLegacy, never a panic or a match.
func TestLegacyMalformed(t *testing.T) {
	z16, z32 := zeroB64(16), zeroB64(32)
	valid := map[string]string{}
	for _, v := range loadVectors(t) {
		if _, ok := valid[v.Scheme]; !ok && v.Auth0 == nil {
			valid[v.Scheme] = v.Encoded
		}
	}
	auth0 := func(obj string) string { return auth0Prefix + b64url(obj) }
	cases := map[string][]string{
		"generic": {"", "$", "$$$$", "x", strings.Repeat("$2b$", 2000)},
		"argon2": {
			"$argon2i$v=19$m=65536,t=3,p=4$" + z16, // truncated
			"$argon2i$v=16$m=64,t=1,p=1$" + z16 + "$" + z32,
			"$argon2i$v=19$m=64,t=1,p=1$" + z16 + "$" + z32[:10] + "!" + z32[11:],
			"$argon2i$v=19$m=4294967295,t=1,p=1$" + z16 + "$" + z32,
			"$argon2id$v=19$m=262144,t=1,p=1$" + z16 + "$" + z32, // within MaxParams, over the memory cap
			"$argon2id$v=19$m=65536,t=5,p=1$" + z16 + "$" + z32,  // over the work cap
		},
		"bcrypt": {
			valid["bcrypt"][:59], valid["bcrypt"] + "A",
			"$2b$03$" + strings.Repeat(".", 53), "$2b$1a$" + strings.Repeat(".", 53),
			"$2b$10$" + strings.Repeat("!", 53), "$2b$10x" + strings.Repeat(".", 53),
		},
		"scrypt": {
			valid["scrypt"][:strings.LastIndexByte(valid["scrypt"], '$')],
			"$scrypt$ln=0,r=8,p=1$" + z16 + "$" + z32, "$scrypt$ln=014,r=8,p=1$" + z16 + "$" + z32,
			"$scrypt$ln=14,r=8$" + z16 + "$" + z32, "$scrypt$ln=14,r=8,p=1$" + z16 + "$" + z32 + "=",
			"$scrypt$ln=14,r=8,p=1$" + z16 + "$" + z32[:20] + "\n" + z32[20:],
			"$scrypt$ln=14,r=8,p=1$c2FsdA$" + z32, // salt too short
			"$scrypt$ln=14,r=1073741824,p=1073741824$" + z16 + "$" + z32,
		},
		"firebase-scrypt": {
			valid["firebase-scrypt"][:strings.LastIndexByte(valid["firebase-scrypt"], '$')],
			"$fbscrypt$v=2,n=14,r=8,p=1,ss=Bw,sk=" + z32 + "$" + z16 + "$" + z32,
			"$fbscrypt$v=1,n=14,r=8,p=1,ss=Bw,sk=" + z32 + "$" + z16 + "$" + zeroB64(31), // hash ≠ key length
			"$fbscrypt$v=1,n=14,r=8,p=1,sk=" + z32 + "$" + z16 + "$" + z32,
			"$fbscrypt$v=1,n=14,r=8,p=1,ss=B!,sk=" + z32 + "$" + z16 + "$" + z32,
			"$fbscrypt$v=1,n=14,r=8,p=1,ss=Bw,sk=$" + z16 + "$",
		},
		"pbkdf2": {
			valid["pbkdf2-sha256"][:strings.LastIndexByte(valid["pbkdf2-sha256"], '$')],
			"$pbkdf2-sha256$i=0,l=32$" + z16 + "$" + z32, "$pbkdf2-sha256$i=1000,l=31$" + z16 + "$" + z32,
			"$pbkdf2-sha256$l=32,i=1000$" + z16 + "$" + z32, "$pbkdf2-md5$i=1000,l=32$" + z16 + "$" + z32,
			"$pbkdf2$i=1000,l=20$" + z16 + "$" + zeroB64(20), "$pbkdf2-sha1$1000$" + z16 + "$" + zeroB64(20),
			"$pbkdf2-sha256$1000$" + z16 + "$" + zeroB64(31), "$pbkdf2-sha256$1000$a+b$" + z32,
			"$pbkdf2-sha512$i=1,l=64$" + z16 + "$" + strings.Repeat("A", 85) + "B", // non-canonical last bits
			"$pbkdf2-sha256$i=1000001,l=64$" + z16 + "$" + zeroB64(64),             // 2 blocks over the cap
		},
		"django": {
			"pbkdf2_sha256$1000$salt", "pbkdf2_sha256$01000$salt$" + base64.StdEncoding.EncodeToString(make([]byte, 32)),
			"pbkdf2_sha256$1000$$" + base64.StdEncoding.EncodeToString(make([]byte, 32)),
			"pbkdf2_sha256$1000$salt$" + z32, // unpadded
			"pbkdf2_sha1$1000$salt$" + base64.StdEncoding.EncodeToString(make([]byte, 32)),
		},
		"sha-crypt": {
			valid["sha512-crypt"][:len(valid["sha512-crypt"])-1], valid["sha256-crypt"] + ".",
			"$5$rounds=999$salt$" + strings.Repeat(".", 43), "$5$rounds=05000$salt$" + strings.Repeat(".", 43),
			"$5$rounds=$salt$" + strings.Repeat(".", 43), "$5$salt!$" + strings.Repeat(".", 43),
			"$5$saltsaltsaltsalts$" + strings.Repeat(".", 43), "$5$salt$" + strings.Repeat(".", 42) + "z",
			"$6$salt$" + strings.Repeat(".", 85) + "z", "$6$rounds=5000$rounds=5000$salt$" + strings.Repeat(".", 86),
		},
		"md5-crypt": {
			valid["md5-crypt"][:len(valid["md5-crypt"])-1], "$1$saltsaltx$" + strings.Repeat(".", 22),
			"$1$salt$" + strings.Repeat(".", 21) + "z", "$apr1$salt$" + strings.Repeat("!", 22), "$1$salt",
		},
		"ldap": {
			"{SSHA}", "{SSHA}" + base64.StdEncoding.EncodeToString(make([]byte, 23)), // salt of 3 bytes
			"{SSHA256}" + base64.StdEncoding.EncodeToString(make([]byte, 32+65)),
			"{SSHA512}" + z32, "{SSHA}" + base64.StdEncoding.EncodeToString(make([]byte, 24))[:31] + "!",
		},
		"auth0": {
			"$auth0$v=1$", "$auth0$v=2$" + b64url(`{}`), "$auth0$v=1$" + b64url(`{}`) + "=",
			auth0(`{"algorithm":"md4","hash":{"value":"00","encoding":"hex"}}`),
			auth0(`{"algorithm":"sha256","hash":{"value":"00","encoding":"hex"}}`), // wrong length
			auth0(`{"algorithm":"sha256","hash":{"value":"` + strings.Repeat("0", 64) + `"}}`),
			auth0(`{"algorithm":"sha256","hash":{"value":"` + strings.Repeat("0", 64) + `","encoding":"hex"},"salt":{"value":"x"}}`),
			auth0(`{"algorithm":"sha256","hash":{"value":"` + strings.Repeat("0", 64) + `","encoding":"hex"},"pepper":1}`),
			auth0(`{"algorithm":"sha256","hash":{"value":"` + strings.Repeat("0", 64) + `","encoding":"hex"},"password":{"encoding":"utf32"}}`),
			auth0(`{"algorithm":"hmac","hash":{"value":"` + strings.Repeat("0", 64) + `","encoding":"hex","digest":"sha256"}}`),
			auth0(`{"algorithm":"hmac","hash":{"value":"` + strings.Repeat("0", 64) + `","encoding":"hex","digest":"whirlpool","key":{"value":"k"}}}`),
			auth0(`{"algorithm":"scrypt","hash":{"value":"` + z32 + `","encoding":"base64"},"salt":{"value":"s"},"cost":1000}`),
			auth0(`{"algorithm":"scrypt","hash":{"value":"` + z32 + `","encoding":"base64"},"salt":{"value":"s"},"keylen":16}`),
			auth0(`{"algorithm":"bcrypt","hash":{"value":"$1$salt$` + strings.Repeat(".", 22) + `"}}`),
			auth0(`{"algorithm":"bcrypt","hash":{"value":"` + valid["bcrypt"] + `"},"salt":{"value":"x","position":"prefix"}}`),
			auth0(`{"algorithm":"pbkdf2","hash":{"value":"$pbkdf2-sha256$i=0,l=32$` + z16 + "$" + z32 + `"}}`),
			auth0(`{"algorithm":"sha1"}`), auth0(`[]`), auth0(`{"algorithm":"sha1"} {}`),
		},
	}
	for group, encs := range cases {
		for _, enc := range encs {
			t.Run(group, func(t *testing.T) {
				if err := CheckImported(enc); !errors.Is(err, ErrMalformedHash) {
					t.Errorf("CheckImported(%q) = %v, want ErrMalformedHash", enc, err)
				}
				if ok, err := VerifyLegacy("x", enc); ok || !errors.Is(err, ErrMalformedHash) {
					t.Errorf("VerifyLegacy(%q) = %v, %v; want ErrMalformedHash", enc, ok, err)
				}
			})
		}
	}
	if err := CheckImported("plaintext"); !errors.Is(err, ErrUnsupportedScheme) {
		t.Errorf("unknown scheme: %v, want ErrUnsupportedScheme", err)
	}
}

// TestImportAuth0 checks the stored forms ImportAuth0 chooses.
func TestImportAuth0(t *testing.T) {
	bc := "$2b$04$" + strings.Repeat(".", 53)
	got, err := ImportAuth0([]byte(`{"algorithm":"bcrypt","hash":{"value":"` + bc + `"}}`))
	if err != nil || got != bc {
		t.Errorf("bcrypt: %q, %v; want the bcrypt string itself", got, err)
	}
	got, err = ImportAuth0([]byte(` {"algorithm":"md5","hash":{"value":"` + strings.Repeat("AB", 16) + `","encoding":"hex"}} `))
	if err != nil || !strings.HasPrefix(got, auth0Prefix) || Scheme(got) != "auth0-md5" {
		t.Errorf("md5: %q, %v", got, err)
	}
	for _, obj := range []string{"", "null", `{"algorithm":"ldap","hash":{"value":"` + bc + `"}}`,
		`{"algorithm":"argon2","hash":{"value":"$argon2id$v=19$m=64,t=1,p=1$` + zeroB64(16) + `$` + zeroB64(32) + `","encoding":"hex"}}`} {
		if _, err := ImportAuth0([]byte(obj)); !errors.Is(err, ErrMalformedHash) {
			t.Errorf("ImportAuth0(%s) = %v, want ErrMalformedHash", obj, err)
		}
	}
}

// TestNodePasswordEncodings pins the Node.js Buffer semantics Auth0's password encodings use.
func TestNodePasswordEncodings(t *testing.T) {
	for _, c := range []struct{ pw, enc, want string }{
		{"aé", "utf8", "61c3a9"},
		{"aé", "utf16le", "6100e900"},
		{"a😀", "ucs2", "61003dd800de"},
		{"aé", "latin1", "61e9"},
		{"a€", "binary", "61ac"}, // U+20AC keeps its low byte
		{"a😀", "ascii", "613d00"},
	} {
		b, ok := encodePassword(c.pw, c.enc)
		if got := base64.StdEncoding.EncodeToString(b); !ok || hexOf(b) != c.want {
			t.Errorf("encodePassword(%q, %s) = %x (%s), want %s", c.pw, c.enc, b, got, c.want)
		}
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// FuzzVerifyLegacy checks that no stored string makes Scheme, CheckImported or VerifyLegacy
// panic, that they agree (a hash CheckImported accepts never fails to verify, one it refuses
// never verifies), and that every refusal is ErrMalformedHash.
func FuzzVerifyLegacy(f *testing.F) {
	for _, v := range loadVectors(f) {
		if strings.Contains(v.Encoded, "rounds=") || strings.Contains(v.Encoded, "ln=12") {
			continue // keep the seed corpus fast
		}
		f.Add(v.Password, v.Encoded)
	}
	f.Add("x", "$auth0$v=1$"+b64url(`{"algorithm":"hmac","hash":{"value":"00","encoding":"hex","digest":"md5","key":{"value":"k"}}}`))
	f.Add("x", "$fbscrypt$v=1,n=1,r=1,p=1,ss=,sk=AA$AA$AA")
	f.Add("x", "$scrypt$ln=1,r=1,p=1$"+zeroB64(8)+"$"+zeroB64(16))
	f.Add("x", "$5$$"+strings.Repeat(".", 43))
	f.Fuzz(func(t *testing.T, password, encoded string) {
		_ = Scheme(encoded)
		checkErr := CheckImported(encoded)
		if checkErr != nil && !errors.Is(checkErr, ErrMalformedHash) {
			t.Fatalf("CheckImported(%q) = %v, not ErrMalformedHash", encoded, checkErr)
		}
		if checkErr == nil && legacyCostly(encoded) {
			return // within the caps, but too slow for a fuzzer's inner loop
		}
		ok, err := VerifyLegacy(password, encoded)
		if (err == nil) != (checkErr == nil) || (err != nil && ok) {
			t.Fatalf("VerifyLegacy(%q) = %v, %v but CheckImported = %v", encoded, ok, err, checkErr)
		}
	})
}

// legacyCostly reports whether a well-formed hash has parameters that make it slow to
// verify (above ~1 ms), so the fuzzer skips deriving it.
func legacyCostly(encoded string) bool {
	h, err := parseLegacy(encoded)
	if err != nil {
		return false
	}
	switch h := h.(type) {
	case argon2Hash:
		return h.p.Memory*h.p.Time > 1024
	case bcryptHash:
		cost, _ := parseCost(string(h.encoded[4:6]))
		return cost > 4
	case scryptHash:
		return h.params.logN+log2(h.params.r*h.params.p) > 10
	case fbScryptHash:
		return h.params.logN+log2(h.params.r*h.params.p) > 10
	case auth0ScryptHash:
		return h.params.logN+log2(h.params.r*h.params.p) > 10
	case pbkdf2Hash:
		return h.iterations > 2000 || len(h.key) > 64
	case shaCryptHash:
		return h.rounds > 5000
	}
	return false
}

func log2(n int) int {
	l := 0
	for n > 1 {
		n >>= 1
		l++
	}
	return l
}

// FuzzImportAuth0 checks that no custom_password_hash object makes ImportAuth0 panic, that
// every refusal is ErrMalformedHash, and that whatever it returns is a stored hash that
// CheckImported accepts and VerifyLegacy verifies without error.
func FuzzImportAuth0(f *testing.F) {
	for _, v := range loadVectors(f) {
		if v.Auth0 != nil && !strings.Contains(string(v.Auth0), "scrypt") {
			f.Add(string(v.Auth0))
		}
	}
	f.Add(`{"algorithm":"scrypt","hash":{"value":"` + zeroB64(16) + `","encoding":"base64"},"salt":{"value":"s"},"cost":2,"blockSize":1}`)
	f.Add(`{"algorithm":"hmac","hash":{"value":"00","encoding":"hex","digest":"md5","key":{"value":"k"}},"password":{"encoding":"ucs2"}}`)
	f.Fuzz(func(t *testing.T, obj string) {
		enc, err := ImportAuth0([]byte(obj))
		if err != nil {
			if !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("ImportAuth0(%s) = %v, not ErrMalformedHash", obj, err)
			}
			return
		}
		if err := CheckImported(enc); err != nil {
			t.Fatalf("ImportAuth0(%s) = %q, which CheckImported refuses: %v", obj, enc, err)
		}
		if s := Scheme(enc); s == "unknown" || s == "auth0-custom" {
			t.Fatalf("ImportAuth0(%s) = %q named %q", obj, enc, s)
		}
		if legacyCostly(enc) {
			return
		}
		if _, err := VerifyLegacy("x", enc); err != nil {
			t.Fatalf("VerifyLegacy(%q) = %v", enc, err)
		}
	})
}
