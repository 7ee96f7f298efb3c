package jws

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestScanObject(t *testing.T) {
	many := func(n int, last string) string {
		var b strings.Builder
		b.WriteString("{")
		for i := range n {
			fmt.Fprintf(&b, `"m%d":%d,`, i, i)
		}
		b.WriteString(last + "}")
		return b.String()
	}
	for _, tc := range []struct {
		name string
		in   string
		want error
	}{
		{"empty object", `{}`, nil},
		{"whitespace", " \t\r\n{ \"a\" : [ 1 , 2 ] , \"b\" : { } } \n", nil},
		{"all value kinds", `{"s":"x","n":-1.5e+3,"z":0,"t":true,"f":false,"u":null,"a":[],"o":{"p":[{"q":1}]}}`, nil},
		{"escapes", `{"s":"\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"}`, nil},
		{"same name at different levels", `{"a":{"a":{"a":1}}}`, nil},
		{"same name in sibling objects", `{"a":[{"x":1},{"x":2}]}`, nil},
		{"distinct names that look alike", `{"sub":1,"sub_":2,"su":3,"İd":4,"id":5}`, nil},
		{"many members", many(100, `"last":1`), nil},
		{"depth at limit", strings.Repeat(`{"a":`, maxJSONDepth) + "1" + strings.Repeat("}", maxJSONDepth), nil},

		{"exact duplicate", `{"a":1,"a":2}`, errJSONDuplicate},
		{"case duplicate", `{"alg":1,"ALG":2}`, errJSONDuplicate},
		{"mixed-case duplicate", `{"typ":1,"tYp":2}`, errJSONDuplicate},
		{"escaped duplicate", `{"alg":1,"\u0061lg":2}`, errJSONDuplicate},
		{"escaped upper-case duplicate", `{"alg":1,"\u0041LG":2}`, errJSONDuplicate},
		{"Kelvin sign folds to k", `{"kid":1,"\u212aid":2}`, errJSONDuplicate},
		{"long s folds to s", `{"sub":1,"ſub":2}`, errJSONDuplicate},
		{"nested duplicate", `{"a":{"b":1,"B":2}}`, errJSONDuplicate},
		{"duplicate in array object", `{"a":[{"x":1,"x":2}]}`, errJSONDuplicate},
		{"duplicate after 16 members", many(30, `"M7":1`), errJSONDuplicate},
		{"Kelvin duplicate after 16 members", many(30, `"\u212a":1,"k":2`), errJSONDuplicate},
		{"lone surrogates collide as U+FFFD", `{"\ud800":1,"\udc00":2}`, errJSONDuplicate},

		{"array", `[]`, errJSONNotObject},
		{"string", `"a"`, errJSONNotObject},
		{"empty", ``, errJSONNotObject},
		{"trailing comma", `{"a":1,}`, errJSONSyntax},
		{"trailing data", `{"a":1}{}`, errJSONSyntax},
		{"single quotes", `{'a':1}`, errJSONSyntax},
		{"unquoted name", `{a:1}`, errJSONSyntax},
		{"leading zero", `{"a":01}`, errJSONSyntax},
		{"bare dot", `{"a":1.}`, errJSONSyntax},
		{"plus sign", `{"a":+1}`, errJSONSyntax},
		{"NaN", `{"a":NaN}`, errJSONSyntax},
		{"bad literal", `{"a":tru}`, errJSONSyntax},
		{"literal with suffix", `{"a":truex}`, errJSONSyntax},
		{"control char in string", "{\"a\":\"x\ty\"}", errJSONSyntax},
		{"bad escape", `{"a":"\x"}`, errJSONSyntax},
		{"short unicode escape", `{"a":"\u12"}`, errJSONSyntax},
		{"unterminated string", `{"a":"x}`, errJSONSyntax},
		{"unterminated object", `{"a":1`, errJSONSyntax},
		{"missing colon", `{"a" 1}`, errJSONSyntax},
		{"invalid UTF-8", "{\"a\":\"\xff\"}", errJSONUTF8},
		{"overlong UTF-8", "{\"a\":\"\xc0\xaf\"}", errJSONUTF8},
		{"too deep", strings.Repeat(`{"a":`, maxJSONDepth+1) + "1" + strings.Repeat("}", maxJSONDepth+1), errJSONDepth},
		{"too deep arrays", `{"a":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "}", errJSONDepth},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := scanObject(tc.in, nil)
			if err != tc.want {
				t.Fatalf("scanObject(%q) = %v, want %v", tc.in, err, tc.want)
			}
			// Whatever we accept, encoding/json accepts.
			if err == nil && !json.Valid([]byte(tc.in)) {
				t.Errorf("accepted input that encoding/json rejects")
			}
		})
	}
}

// TestScanObjectAgreesWithEncodingJSON checks that the names and string values the scanner
// decodes are those encoding/json decodes.
func TestScanObjectAgreesWithEncodingJSON(t *testing.T) {
	for _, in := range []string{
		`{"a":"plain"}`,
		`{"\u0073ub":"x\u0000y"}`,
		`{"e":"\ud83d\ude00 \ud83d x \udc00 \ud800\u0041 \\ \/ \" \b\f\n\r\t"}`,
		`{"é":"\u00e9","ü":"ü"}`,
	} {
		t.Run(in, func(t *testing.T) {
			var want map[string]any
			if err := json.Unmarshal([]byte(in), &want); err != nil {
				t.Fatal(err)
			}
			got := map[string]any{}
			err := scanObject(in, func(name, raw string) error {
				s, err := jsonString(raw)
				got[name] = s
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("scanner decoded %q, encoding/json %q", got, want)
			}
		})
	}
}

// TestFoldNameMatchesEqualFold checks the map path of nameSet against strings.EqualFold,
// over every rune that has a case fold and a few strings.
func TestFoldNameMatchesEqualFold(t *testing.T) {
	var runes []rune
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if r < 0x80 || unicode.SimpleFold(r) != r {
			runes = append(runes, r)
		}
	}
	for _, r := range runes {
		for _, s := range []rune{unicode.SimpleFold(r), unicode.ToUpper(r), unicode.ToLower(r), 'k', 's'} {
			a, b := string(r), string(s)
			if (foldName(a) == foldName(b)) != strings.EqualFold(a, b) {
				t.Fatalf("foldName disagrees with EqualFold on %q vs %q", a, b)
			}
		}
	}
	for _, p := range [][2]string{{"alg", "ALG"}, {"kid", "\u212aID"}, {"ſub", "SUB"}, {"a\uFFFD", "A\uFFFD"}, {"ab", "abc"}} {
		if (foldName(p[0]) == foldName(p[1])) != strings.EqualFold(p[0], p[1]) {
			t.Errorf("foldName disagrees with EqualFold on %q vs %q", p[0], p[1])
		}
	}
	if !utf8.ValidString(foldName("\u212a")) {
		t.Error("foldName produced invalid UTF-8")
	}
}

func TestNumericDate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want NumericDate
		ok   bool
	}{
		{"1700000000", 1700000000, true},
		{"0", 0, true},
		{"-0", 0, true},
		{"1.7e9", 1700000000, true},
		{"1700000000.9", 1700000000, true},
		{"253402300799", 253402300799, true},
		{"253402300800", 0, false},
		{"-1", 0, false},
		{"-0.5", 0, false},
		{"1e400", 0, false},
		{"9223372036854775808", 0, false},
		{`"1700000000"`, 0, false},
		{"null", 0, false},
		{"true", 0, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := jsonNumericDate(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Fatalf("jsonNumericDate(%s) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
			}
			// encoding/json decoding via UnmarshalJSON agrees.
			var d NumericDate
			err = json.Unmarshal([]byte(tc.in), &d)
			if (err == nil) != tc.ok || d != tc.want {
				t.Errorf("UnmarshalJSON(%s) = %d, %v", tc.in, d, err)
			}
		})
	}
	if got := NewNumericDate(testNow).Time(); !got.Equal(testNow) {
		t.Errorf("NumericDate round trip = %v", got)
	}
}

func TestAudienceJSON(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Audience
		ok   bool
		out  string
	}{
		{`"a"`, Audience{"a"}, true, `"a"`},
		{`["a","b"]`, Audience{"a", "b"}, true, `["a","b"]`},
		{`["a"]`, Audience{"a"}, true, `"a"`},
		{`[]`, Audience{}, true, `[]`},
		{`5`, nil, false, ""},
		{`[5]`, nil, false, ""},
		{`["a",null]`, nil, false, ""},
		{`{"a":1}`, nil, false, ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			var aud Audience
			err := json.Unmarshal([]byte(tc.in), &aud)
			if (err == nil) != tc.ok {
				t.Fatalf("Unmarshal(%s) error = %v", tc.in, err)
			}
			if !tc.ok {
				return
			}
			if fmt.Sprint(aud) != fmt.Sprint(tc.want) || len(aud) != len(tc.want) {
				t.Errorf("Unmarshal(%s) = %q, want %q", tc.in, aud, tc.want)
			}
			if out := string(mustJSON(t, aud)); out != tc.out {
				t.Errorf("Marshal = %s, want %s", out, tc.out)
			}
		})
	}
}

func TestTypeMatches(t *testing.T) {
	for _, tc := range []struct {
		got, want string
		match     bool
	}{
		{"at+jwt", "at+jwt", true},
		{"application/at+jwt", "at+jwt", true},
		{"at+jwt", "application/at+jwt", true},
		{"AT+JWT", "at+jwt", true},
		{"Application/AT+JWT", "at+jwt", true},
		{"JWT", "JWT", true},
		{"jwt", "JWT", true},
		{"application/jwt", "JWT", true},
		{"JWT", "at+jwt", false},
		{"", "at+jwt", false},
		{"", "", false},
		{"application/", "", false},
		{"application/x/at+jwt", "at+jwt", false},
		{"text/at+jwt", "at+jwt", false},
		{"at+jwt ", "at+jwt", false},
	} {
		t.Run(tc.got+"~"+tc.want, func(t *testing.T) {
			if got := typeMatches(tc.got, tc.want); got != tc.match {
				t.Errorf("typeMatches(%q, %q) = %v, want %v", tc.got, tc.want, got, tc.match)
			}
		})
	}
}

func TestClaimsFromParse(t *testing.T) {
	ed := mustSigner(t, EdDSA)
	for _, tc := range []struct {
		name   string
		claims string
		want   Claims
	}{
		{"all registered", `{"iss":"i","sub":"s","aud":["a","b"],"exp":100,"nbf":50,"iat":60,"jti":"j"}`,
			Claims{Issuer: "i", Subject: "s", Audience: Audience{"a", "b"}, Expiry: ptr(100), NotBefore: ptr(50), IssuedAt: ptr(60), ID: "j"}},
		{"escaped values", `{"iss":"https:\/\/x","sub":"\u0061"}`, Claims{Issuer: "https://x", Subject: "a"}},
		{"upper-case names are not registered claims", `{"ISS":"i","Exp":1}`, Claims{}},
		{"escaped name is the registered claim", `{"\u0069ss":"i"}`, Claims{Issuer: "i"}},
		{"fractional exp", `{"exp":100.75}`, Claims{Expiry: ptr(100)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := Parse(mustSign(t, ed, "JWT", []byte(tc.claims)))
			if err != nil {
				t.Fatal(err)
			}
			got := tok.Claims
			if string(got.Raw) != tc.claims {
				t.Errorf("Raw = %s", got.Raw)
			}
			got.Raw = nil
			if fmt.Sprintf("%+v", deref(got)) != fmt.Sprintf("%+v", deref(tc.want)) {
				t.Errorf("claims = %+v, want %+v", deref(got), deref(tc.want))
			}
		})
	}
}

func ptr(v int64) *NumericDate { d := NumericDate(v); return &d }

// deref renders the pointer claims by value for comparison.
func deref(c Claims) string {
	f := func(d *NumericDate) string {
		if d == nil {
			return "nil"
		}
		return fmt.Sprint(int64(*d))
	}
	return fmt.Sprintf("iss=%q sub=%q aud=%q exp=%s nbf=%s iat=%s jti=%q", c.Issuer, c.Subject, []string(c.Audience), f(c.Expiry), f(c.NotBefore), f(c.IssuedAt), c.ID)
}
