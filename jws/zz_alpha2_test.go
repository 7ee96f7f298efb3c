package jws
import "encoding/json"
func jsonUnmarshalForBench(b []byte, v any) error { return json.Unmarshal(b, v) }
