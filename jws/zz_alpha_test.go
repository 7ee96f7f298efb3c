package jws
import ("testing";"strings")
func BenchmarkAlphabetLoop(b *testing.B) {
	fx := newBenchFixture(b, EdDSA); tok := fx.token
	for b.Loop() { n:=0; for i := 0; i < len(tok); i++ { if !b64Alphabet[tok[i]] { n++ } }; if n != 2 { b.Fatal(n) } }
}
func BenchmarkScanClaims(b *testing.B) {
	s := string(mustJSON(b, typicalClaims()))
	for b.Loop() { var c Claims; if err := scanObject(s, c.visit); err != nil { b.Fatal(err) } }
}
func BenchmarkJSONUnmarshalClaims(b *testing.B) {
	s := mustJSON(b, typicalClaims())
	for b.Loop() { var c Claims; if err := jsonUnmarshalForBench(s, &c); err != nil { b.Fatal(err) } }
}
var _ = strings.Count
