package userimport

import (
	"sort"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/secret"
)

// TestImportIDsSortByTime: imported user ids have the shape of every id (secret.ValidID),
// sort as their creation times (so inserts append to the primary-key index), and differ in 80
// random bits within one millisecond.
func TestImportIDsSortByTime(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	var ids []string
	seen := map[string]bool{}
	for i := range 2000 {
		id := newImportID(t0.Add(time.Duration(i/4) * 7 * time.Millisecond))
		if !secret.ValidID(id) {
			t.Fatalf("%q is not a valid id", id)
		}
		if seen[id] {
			t.Fatalf("id %q made twice", id)
		}
		seen[id] = true
		ids = append(ids, id)
	}
	for i := 4; i < len(ids); i++ {
		if ids[i-4] >= ids[i] {
			t.Fatalf("id %d (%s) does not sort after id %d (%s) of 7 ms earlier", i, ids[i], i-4, ids[i-4])
		}
	}
	// Four ids of one millisecond come out in order by chance 1 time in 24: far more would
	// mean the suffix is not random.
	inOrder := 0
	for i := 0; i+3 < len(ids); i += 4 {
		if sort.StringsAreSorted(ids[i : i+4]) {
			inOrder++
		}
	}
	if inOrder > 60 {
		t.Fatalf("%d of 500 groups of same-millisecond ids are in order: the suffix is not random", inOrder)
	}
	// Times far apart: the prefix is the milliseconds (1000 = 31×32 + 8: "zc"), so later
	// means greater.
	if a, b := newImportID(time.Unix(1, 0)), newImportID(time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)); a >= b || a[:10] != "22222222zc" {
		t.Fatalf("prefixes %s %s", a[:10], b[:10])
	}
}
