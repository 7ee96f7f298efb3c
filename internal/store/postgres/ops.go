package postgres

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// tracer is the pool's pgx.QueryTracer: it times every query (inside transactions too) for
// the Observer set with ObserveOps, and costs one atomic load per query when none is set.
type tracer struct {
	observe atomic.Pointer[store.Observer]
}

type traceKey struct{}

type traceStart struct {
	op    string
	start time.Time
}

// TraceQueryStart implements pgx.QueryTracer.
func (t *tracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if t.observe.Load() == nil {
		return ctx
	}
	return context.WithValue(ctx, traceKey{}, traceStart{op: store.OpName(data.SQL), start: time.Now()})
}

// TraceQueryEnd implements pgx.QueryTracer.
func (t *tracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryEndData) {
	o := t.observe.Load()
	if o == nil {
		return
	}
	if s, ok := ctx.Value(traceKey{}).(traceStart); ok {
		(*o)(s.op, time.Since(s.start))
	}
}

// ObserveOps makes the store report the duration of each query to o, named by
// store.OpName. nil stops reporting. Safe to call while the store is in use.
func (db *DB) ObserveOps(o store.Observer) {
	if o == nil {
		db.tracer.observe.Store(nil)
		return
	}
	db.tracer.observe.Store(&o)
}
