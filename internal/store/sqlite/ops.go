package sqlite

import (
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// ObserveOps makes the store report the duration of each statement run through its query
// helpers (every single-statement read and write; statements inside an explicit transaction
// are not timed one by one) to o, named by store.OpName. nil stops reporting. Safe to call
// while the store is in use.
func (db *DB) ObserveOps(o store.Observer) {
	if o == nil {
		db.observe.Store(nil)
		return
	}
	db.observe.Store(&o)
}

func observe(o store.Observer, query string, start time.Time) {
	o(store.OpName(query), time.Since(start))
}
