package store

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Observer receives the duration of one store operation under a short, stable name (see
// OpName). Backends call it for every statement they time; it must be cheap and safe for
// concurrent use (a Prometheus histogram's Observe is).
type Observer func(op string, d time.Duration)

// opNames caches OpName per statement text. Statements are constants of the backends, so the
// cache stays small; maxOpNames bounds it should a backend ever build statements dynamically.
var (
	opNames    sync.Map // query string -> op name
	opNamesLen atomic.Int64
)

const maxOpNames = 4096

// OpName names a SQL statement for metrics by its verb and first table, such as
// "select_sessions", "update_sessions" or "insert_revocations": a label with few values that
// stays the same when the statement's text is edited, unlike the SQL itself. A statement it
// cannot name is "other".
func OpName(query string) string {
	if v, ok := opNames.Load(query); ok {
		return v.(string)
	}
	name := opName(query)
	if opNamesLen.Load() < maxOpNames {
		if _, loaded := opNames.LoadOrStore(query, name); !loaded {
			opNamesLen.Add(1)
		}
	}
	return name
}

func opName(query string) string {
	words := strings.Fields(query)
	if len(words) == 0 {
		return "other"
	}
	verb := strings.ToLower(words[0])
	table := ""
	switch verb {
	case "select", "delete", "with":
		table = after(words, "from")
	case "insert":
		table = after(words, "into")
	case "update":
		if len(words) > 1 {
			table = words[1]
		}
	case "begin", "commit", "rollback", "pragma":
		return verb
	default:
		return "other"
	}
	table = strings.ToLower(strings.TrimFunc(table, func(r rune) bool {
		return !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}))
	if i := strings.IndexAny(table, "("); i >= 0 {
		table = table[:i]
	}
	if table == "" {
		return verb
	}
	return verb + "_" + table
}

// after returns the word following the first keyword kw (case-insensitive).
func after(words []string, kw string) string {
	for i, w := range words[:len(words)-1] {
		if strings.EqualFold(w, kw) {
			return words[i+1]
		}
	}
	return ""
}
