package mfa

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"image/png"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	gozxingqr "github.com/makiuchi-d/gozxing/qrcode"
	qrcode "github.com/skip2/go-qrcode"
)

// rfcSeed is the SHA-1 secret of RFC 4226 Appendix D and RFC 6238 Appendix B.
var rfcSeed = []byte("12345678901234567890")

func TestHOTPRFC4226(t *testing.T) {
	// RFC 4226 Appendix D: the truncated 31-bit value and the 6-digit HOTP for counts 0..9.
	tests := []struct {
		truncated uint32
		hotp      string
	}{
		{1284755224, "755224"}, {1094287082, "287082"}, {137359152, "359152"},
		{1726969429, "969429"}, {1640338314, "338314"}, {868254676, "254676"},
		{1918287922, "287922"}, {82162583, "162583"}, {673399871, "399871"},
		{645520489, "520489"},
	}
	for count, tt := range tests {
		if got := truncated(rfcSeed, uint64(count)); got != tt.truncated {
			t.Errorf("count %d: truncated %d, want %d", count, got, tt.truncated)
		}
		if got := formatCode(hotp(rfcSeed, uint64(count))); got != tt.hotp {
			t.Errorf("count %d: HOTP %s, want %s", count, got, tt.hotp)
		}
	}
}

func TestTOTPRFC6238(t *testing.T) {
	// RFC 6238 Appendix B, SHA-1 rows: 8-digit TOTP. Our 6-digit code is the same truncated
	// value modulo 10^6, i.e. the last six digits.
	tests := []struct {
		unix  int64
		step  string // T in hex, as the RFC prints it
		totp8 string
	}{
		{59, "0000000000000001", "94287082"},
		{1111111109, "00000000023523EC", "07081804"},
		{1111111111, "00000000023523ED", "14050471"},
		{1234567890, "000000000273EF07", "89005924"},
		{2000000000, "0000000003F940AA", "69279037"},
		{20000000000, "0000000027BC86AA", "65353130"},
	}
	for _, tt := range tests {
		at := time.Unix(tt.unix, 0)
		wantStep, _ := hex.DecodeString(tt.step)
		var s uint64
		for _, b := range wantStep {
			s = s<<8 | uint64(b)
		}
		if got := step(at); got != s {
			t.Errorf("%d: step %d, want %d", tt.unix, got, s)
		}
		got8 := truncated(rfcSeed, step(at)) % 100_000_000
		if got := fmt.Sprintf("%08d", got8); got != tt.totp8 {
			t.Errorf("%d: 8-digit TOTP %s, want %s", tt.unix, got, tt.totp8)
		}
		if got, want := Code(rfcSeed, at), tt.totp8[2:]; got != want {
			t.Errorf("%d: 6-digit TOTP %s, want %s", tt.unix, got, want)
		}
	}
}

func TestMatchWindow(t *testing.T) {
	base := time.Unix(1_700_000_010, 0) // 10 s into a step
	cur := step(base)
	for _, tt := range []struct {
		name  string
		delta int64 // step of the code relative to now
		ok    bool
	}{
		{"current", 0, true}, {"previous", -1, true}, {"next", 1, true},
		{"two behind", -2, false}, {"two ahead", 2, false}, {"ten behind", -10, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := uint64(int64(cur) + tt.delta)
			got, ok := match(rfcSeed, hotp(rfcSeed, s), base)
			if ok != tt.ok || ok && got != s {
				t.Fatalf("match: step %d ok=%v, want step %d ok=%v", got, ok, s, tt.ok)
			}
		})
	}
	// Near the epoch there is no step -1 to look at.
	if _, ok := match(rfcSeed, hotp(rfcSeed, 0), time.Unix(5, 0)); !ok {
		t.Fatal("step 0 at t=5 refused")
	}
}

func TestParseCode(t *testing.T) {
	tests := []struct {
		in   string
		want uint32
		ok   bool
	}{
		{"123456", 123456, true},
		{"000042", 42, true},
		{"123 456", 123456, true},
		{" 123456 ", 123456, true},
		{"12345", 0, false},
		{"1234567", 0, false},
		{"12345a", 0, false},
		{"123-456", 0, false},
		{"１２３４５６", 0, false}, // full-width digits
		{"", 0, false},
		{"123456\x00", 0, false},
		{strings.Repeat(" ", 20) + "123456", 0, false},
	}
	for _, tt := range tests {
		got, ok := ParseCode(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("ParseCode(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseSeed(t *testing.T) {
	seed := bytes.Repeat([]byte{0xA5}, 20)
	enc := EncodeSeed(seed)
	if strings.Contains(enc, "=") || enc != strings.ToUpper(enc) || len(enc) != 32 {
		t.Fatalf("EncodeSeed = %q: want 32 upper-case characters, no padding", enc)
	}
	for _, tt := range []struct {
		name, in string
		ok       bool
	}{
		{"canonical", enc, true},
		{"lower case", strings.ToLower(enc), true},
		{"grouped", enc[:4] + " " + enc[4:8] + "-" + enc[8:], true},
		{"80 bits padded", "JBSWY3DPEHPK3PXP", true},
		{"too short", "JBSWY3DP", false},
		{"not base32", "JBSWY3DPEHPK3PX1", false},
		{"too long", strings.Repeat("A", 104), false},
		{"empty", "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSeed(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("ParseSeed(%q): %v", tt.in, err)
			}
			if tt.name == "canonical" && !bytes.Equal(got, seed) {
				t.Fatalf("round trip: %x, want %x", got, seed)
			}
		})
	}
}

func TestNewSeed(t *testing.T) {
	a, b := NewSeed(), NewSeed()
	if len(a) != 20 || bytes.Equal(a, b) {
		t.Fatalf("seeds %x %x: want 20 random bytes each", a, b)
	}
}

func TestURI(t *testing.T) {
	seed := rfcSeed
	got := URI("Example Co", "alice@example.com", seed)
	want := "otpauth://totp/Example%20Co:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Example%20Co&algorithm=SHA1&digits=6&period=30"
	if got != want {
		t.Fatalf("URI:\n got %s\nwant %s", got, want)
	}
	u, err := url.Parse(URI("a&b=c:d/e", "x:y&z", seed))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme != "otpauth" || u.Host != "totp" || q.Get("issuer") != "a&b=c:d/e" || q.Get("digits") != "6" ||
		q.Get("period") != "30" || q.Get("algorithm") != "SHA1" || q.Get("secret") != EncodeSeed(seed) {
		t.Fatalf("parsed URI %v", u)
	}
	// Exactly one unescaped ':' separates issuer and account, whatever they contain.
	if label := u.EscapedPath(); strings.Count(label, ":") != 1 {
		t.Fatalf("label %q: want exactly one ':'", label)
	}
	if u.Path != "/a&b=c:d/e:x:y&z" {
		t.Fatalf("decoded label %q", u.Path)
	}
}

func TestQRDataURL(t *testing.T) {
	// Random seeds, so that the QR content varies run to run; each must decode.
	for range 50 {
		checkQRDataURL(t, URI("Gatehouse", "alice@example.com", NewSeed()))
	}
}

func checkQRDataURL(t *testing.T, uri string) {
	t.Helper()
	dataURL, err := QRDataURL(uri)
	if err != nil {
		t.Fatal(err)
	}
	b64, ok := strings.CutPrefix(dataURL, "data:image/png;base64,")
	if !ok {
		t.Fatalf("not a PNG data URL: %.40s", dataURL)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("PNG does not decode: %v", err)
	}
	// The size is the symbol (with its 4-module quiet zone) at qrModule pixels a module.
	q, err := qrcode.New(uri, qrcode.Medium)
	if err != nil {
		t.Fatal(err)
	}
	modules := len(q.Bitmap())
	b := img.Bounds()
	if b.Dx() != modules*qrModule || b.Dy() != modules*qrModule {
		t.Fatalf("image %v, want %d×%d (%d modules)", b, modules*qrModule, modules*qrModule, modules)
	}
	if b.Dx() < 200 || b.Dx() > 400 {
		t.Fatalf("image %d px wide: want a size a page can show as is", b.Dx())
	}
	// Decode it back with an independent decoder (ZXing's Go port).
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	// The image is a generated symbol, not a photo: tell the decoder so (PURE_BARCODE), as
	// its locator is tuned for camera images and misses some pure symbols.
	hints := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true}
	res, err := gozxingqr.NewQRCodeReader().Decode(bmp, hints)
	if err != nil {
		t.Fatalf("QR code does not decode: %v", err)
	}
	if res.GetText() != uri {
		t.Fatalf("QR code decodes to %q, want %q", res.GetText(), uri)
	}
}

func TestSeal(t *testing.T) {
	kek := bytes.Repeat([]byte{1}, 32)
	s, err := newSealer(kek)
	if err != nil {
		t.Fatal(err)
	}
	seed := NewSeed()
	sealed := s.Seal("f1", seed)
	if bytes.Contains(sealed, seed) {
		t.Fatal("sealed seed contains the seed")
	}
	if again := s.Seal("f1", seed); bytes.Equal(again, sealed) {
		t.Fatal("two seals are equal: the nonce is not random")
	}
	got, err := s.Open("f1", sealed)
	if err != nil || !bytes.Equal(got, seed) {
		t.Fatalf("Open: %x %v", got, err)
	}
	other, _ := newSealer(bytes.Repeat([]byte{2}, 32))
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	for name, open := range map[string]func() ([]byte, error){
		"other factor": func() ([]byte, error) { return s.Open("f2", sealed) },
		"other KEK":    func() ([]byte, error) { return other.Open("f1", sealed) },
		"tampered":     func() ([]byte, error) { return s.Open("f1", tampered) },
		"truncated":    func() ([]byte, error) { return s.Open("f1", sealed[:10]) },
		"empty":        func() ([]byte, error) { return s.Open("f1", nil) },
	} {
		if _, err := open(); err == nil {
			t.Errorf("%s: opened", name)
		}
	}
	if _, err := newSealer(kek[:16]); err == nil {
		t.Fatal("a 16-byte KEK was accepted")
	}
}

func TestRecoveryCodeFormat(t *testing.T) {
	if len(recoveryAlphabet) != 32 {
		t.Fatalf("alphabet of %d letters, want 32 (5 bits each)", len(recoveryAlphabet))
	}
	seen := map[rune]bool{}
	for _, r := range recoveryAlphabet {
		if seen[r] || strings.ContainsRune("ilou", r) {
			t.Fatalf("alphabet letter %q repeated or a look-alike", r)
		}
		seen[r] = true
	}
	if bits := recoveryLen * 5; bits < 50 {
		t.Fatalf("%d bits per code, want at least 50", bits)
	}
	codes := map[string]bool{}
	for range 1000 {
		c := newRecoveryCode()
		if len(c) != 11 || c[5] != '-' {
			t.Fatalf("code %q: want xxxxx-xxxxx", c)
		}
		canon, ok := ParseRecoveryCode(c)
		if !ok || canon != c[:5]+c[6:] {
			t.Fatalf("ParseRecoveryCode(%q) = %q, %v", c, canon, ok)
		}
		codes[c] = true
	}
	if len(codes) < 1000 {
		t.Fatalf("%d distinct codes out of 1000", len(codes))
	}
}

func TestParseRecoveryCode(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"abcde-fghjk", "abcdefghjk", true},
		{"ABCDE-FGHJK", "abcdefghjk", true},
		{"abcdefghjk", "abcdefghjk", true},
		{" abc de fgh jk ", "abcdefghjk", true},
		{"a-b-c-d-e-f-g-h-j-k", "abcdefghjk", true},
		{"o1234-5678i", "0123456781", true}, // look-alikes read as digits
		{"OIL00-00000", "0110000000", true},
		{"abcde-fghj", "", false},
		{"abcde-fghjkm", "", false},
		{"abcde-fghju", "", false}, // u is not in the alphabet
		{"abcde_fghjk", "", false},
		{"abcdé-fghjk", "", false},
		{"", "", false},
		{strings.Repeat("-", 41), "", false},
	}
	for _, tt := range tests {
		got, ok := ParseRecoveryCode(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("ParseRecoveryCode(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzParseCode(f *testing.F) {
	for _, s := range []string{"123456", "123 456", "12345", "abcdef", "", "0000000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := ParseCode(s)
		if !ok {
			return
		}
		if n >= 1_000_000 {
			t.Fatalf("ParseCode(%q) = %d: more than 6 digits", s, n)
		}
		if strings.Trim(s, " 0123456789") != "" || len(strings.ReplaceAll(s, " ", "")) != Digits {
			t.Fatalf("ParseCode accepted %q", s)
		}
		if m, ok := ParseCode(formatCode(n)); !ok || m != n {
			t.Fatalf("round trip of %d: %d %v", n, m, ok)
		}
	})
}

func FuzzParseRecoveryCode(f *testing.F) {
	for _, s := range []string{"abcde-fghjk", "ABCDE FGHJK", "oil00-00000", "abcde", "", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, ok := ParseRecoveryCode(s)
		if !ok {
			return
		}
		if len(c) != recoveryLen || strings.Trim(c, recoveryAlphabet) != "" {
			t.Fatalf("ParseRecoveryCode(%q) = %q: not canonical", s, c)
		}
		if again, ok := ParseRecoveryCode(c); !ok || again != c {
			t.Fatalf("not idempotent on %q: %q %v", c, again, ok)
		}
	})
}

func BenchmarkTOTPVerify(b *testing.B) {
	s, err := newSealer(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		b.Fatal(err)
	}
	sealed := s.Seal("factor", NewSeed())
	seed, _ := s.Open("factor", sealed)
	now := time.Unix(1_700_000_000, 0)
	code := hotp(seed, step(now)-1) // the worst case for the constant-time loop is every case
	// The baseline: one HMAC-SHA-256 of 32 bytes, the unit of docs/performance.md's figures. A
	// verification computes three HMAC-SHA-1s (one per step of the window).
	b.Run("baseline-hmac-sha256", func(b *testing.B) {
		key, msg := make([]byte, 32), make([]byte, 32)
		for b.Loop() {
			m := hmac.New(sha256.New, key)
			m.Write(msg)
			m.Sum(nil)
		}
	})
	b.Run("match", func(b *testing.B) {
		for b.Loop() {
			if _, ok := match(seed, code, now); !ok {
				b.Fatal("refused")
			}
		}
	})
	b.Run("open+match", func(b *testing.B) {
		for b.Loop() {
			seed, err := s.Open("factor", sealed)
			if err != nil {
				b.Fatal(err)
			}
			if _, ok := match(seed, code, now); !ok {
				b.Fatal("refused")
			}
		}
	})
}
