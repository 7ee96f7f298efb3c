package main

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// registerLatency registers the latency histograms of the store and of the password hashing
// queue, and makes the store and the hasher feed them.
func registerLatency(reg prometheus.Registerer, a *app) {
	storeOps := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "gatehouse_store_duration_seconds",
		Help:    "Duration of store statements, by operation (SQL verb and first table, such as select_sessions).",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"op"})
	hashWait := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "gatehouse_password_hash_wait_seconds",
		Help:    "Time from asking for a password hashing slot to getting one, by admission lane (priority or normal).",
		Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2, 5},
	}, []string{"lane"})
	reg.MustRegister(storeOps, hashWait)
	if db, ok := a.db.(interface{ ObserveOps(store.Observer) }); ok {
		db.ObserveOps(func(op string, d time.Duration) { storeOps.WithLabelValues(op).Observe(d.Seconds()) })
	}
	a.hasher.ObserveWait(func(lane string, d time.Duration) { hashWait.WithLabelValues(lane).Observe(d.Seconds()) })
}
