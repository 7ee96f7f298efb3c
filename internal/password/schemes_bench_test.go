package password

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// zeroB64 returns the PHC B64 of n zero bytes.
func zeroB64(n int) string { return b64.EncodeToString(make([]byte, n)) }

// capHashes returns, per scheme, a well-formed stored hash exactly at that scheme's cost cap
// (extra = 0) or just above it (extra = 1). No password matches them; verifying one costs the
// most a stored hash of that scheme can cost.
func capHashes(extra int) map[string]string {
	z16, z32, z64 := zeroB64(16), zeroB64(32), zeroB64(64)
	sha := func(id string, rounds int) string {
		n := 43
		if id == "6" {
			n = 86
		}
		return fmt.Sprintf("$%s$rounds=%d$saltsaltsaltsalt$%s", id, rounds+extra, strings.Repeat(".", n))
	}
	pb := func(d string, work, size int) string {
		return fmt.Sprintf("$pbkdf2-%s$i=%d,l=%d$%s$%s", d, work+extra, size, z16, zeroB64(size))
	}
	ln := 17
	if extra > 0 {
		ln = 18
	}
	return map[string]string{
		"argon2id":             fmt.Sprintf("$argon2id$v=19$m=%d,t=2,p=1$%s$%s", MaxLegacyArgon2Work/2+extra, z16, z32),
		"argon2i":              fmt.Sprintf("$argon2i$v=19$m=%d,t=2,p=1$%s$%s", MaxLegacyArgon2Work/2+extra, z16, z32),
		"bcrypt":               fmt.Sprintf("$2b$%02d$%s", MaxLegacyBcryptCost+extra, strings.Repeat(".", 53)),
		"scrypt":               fmt.Sprintf("$scrypt$ln=%d,r=8,p=1$%s$%s", ln, z16, z32),
		"firebase-scrypt":      fmt.Sprintf("$fbscrypt$v=1,n=%d,r=8,p=1,ss=Bw,sk=%s$%s$%s", ln, z64, z16, z64),
		"pbkdf2-sha1":          pb("sha1", MaxLegacyPBKDF2SHA1Work, 20),
		"pbkdf2-sha256":        pb("sha256", MaxLegacyPBKDF2SHA256Work, 32),
		"pbkdf2-sha512":        pb("sha512", MaxLegacyPBKDF2SHA512Work, 64),
		"django-pbkdf2-sha256": fmt.Sprintf("pbkdf2_sha256$%d$saltsalt$%s=", MaxLegacyPBKDF2SHA256Work+extra, z32),
		"sha256-crypt":         sha("5", MaxLegacySHA256CryptRounds),
		"sha512-crypt":         sha("6", MaxLegacySHA512CryptRounds),
		"auth0-scrypt": mustImportAuth0Str(fmt.Sprintf(`{"algorithm":"scrypt","hash":{"value":%q,"encoding":"base64"},`+
			`"salt":{"value":"salt"},"cost":%d,"blockSize":8}`, z32, 1<<ln), extra > 0),
	}
}

// mustImportAuth0Str returns ImportAuth0's result, or for a refused object (expected when
// over) a stored form built without its checks.
func mustImportAuth0Str(obj string, over bool) string {
	s, err := ImportAuth0([]byte(obj))
	if err != nil {
		if !over {
			panic(err)
		}
		return auth0Prefix + b64url(obj)
	}
	return s
}

// BenchmarkLegacyAtCap is one VerifyLegacy of the most expensive hash each scheme accepts:
// an imported hash must never make a sign-in cost more than a few hundred milliseconds. The
// development machine is shared, so besides ns/op each case reports x-default, its time as a
// multiple of one argon2id hash with DefaultParams measured right after it (about 28 ms on an
// idle core of this machine class, BenchmarkHashDefault): that ratio survives a noisy
// neighbour. Measured (go test -bench LegacyAtCap -benchtime=3x, 2 shared cores):
//
//	TABLE
func BenchmarkLegacyAtCap(b *testing.B) {
	hashes := capHashes(0)
	for _, name := range []string{"argon2id", "argon2i", "bcrypt", "scrypt", "firebase-scrypt", "auth0-scrypt",
		"pbkdf2-sha1", "pbkdf2-sha256", "pbkdf2-sha512", "django-pbkdf2-sha256", "sha256-crypt", "sha512-crypt"} {
		enc := hashes[name]
		b.Run(name, func(b *testing.B) {
			if err := CheckImported(enc); err != nil {
				b.Fatal(err)
			}
			t0 := time.Now()
			for b.Loop() {
				if ok, err := VerifyLegacy(benchPassword, enc); ok || err != nil {
					b.Fatal(ok, err)
				}
			}
			per := time.Since(t0) / time.Duration(b.N)
			const refRuns = 5
			t0 = time.Now()
			for range refRuns {
				argon2idKey([]byte(benchPassword), make([]byte, 16), DefaultParams)
			}
			ref := time.Since(t0) / refRuns
			b.ReportMetric(float64(per)/float64(ref), "x-default")
		})
	}
}
