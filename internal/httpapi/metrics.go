package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
)

// Metrics is the Prometheus registry of one server and the collectors the HTTP layer feeds.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	logins   *prometheus.CounterVec
	shed     *prometheus.CounterVec
	refresh  *prometheus.CounterVec
	streams  prometheus.Gauge
	rotation prometheus.Counter
	// clientCreds counts client_credentials grants by outcome: exchanges are too frequent to
	// audit each one.
	clientCreds *prometheus.CounterVec
	mfa         *prometheus.CounterVec
	mfaPasskey  *prometheus.CounterVec

	handles sync.Map // route+status -> routeMetrics: label hashing once per series, not per request
}

type routeMetrics struct {
	count   prometheus.Counter
	latency prometheus.Observer
}

// NewMetrics creates the HTTP collectors in reg (a fresh registry with Go and process
// collectors when reg is nil).
func NewMetrics(reg *prometheus.Registry) *Metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_http_requests_total", Help: "HTTP requests by route and status.",
		}, []string{"route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gatehouse_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_logins_total", Help: "Sign-in attempts by outcome.",
		}, []string{"outcome"}),
		shed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_requests_shed_total", Help: "Requests turned away before their work was done, by reason (hash_queue: no password-hashing slot; rate_limited).",
		}, []string{"reason"}),
		clientCreds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_client_credentials_total", Help: "Access-key exchanges at the token endpoint by outcome (issued, invalid_client, invalid_scope, invalid_request, rate_limited).",
		}, []string{"outcome"}),
	}
	m.refresh = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_refresh_grants_total", Help: "Refresh-token grants by outcome: rotated, grace_replay (the previous token within the grace interval), reused (theft detected: session revoked), invalid, error.",
	}, []string{"outcome"})
	m.streams = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "gatehouse_revocation_stream_readers", Help: "Open revocation-feed event streams (GET /v1/revocations/stream).",
	})
	m.rotation = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "gatehouse_signing_key_emergency_rotations_total", Help: "Emergency signing-key rotations through the management API.",
	})
	m.mfa = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_mfa_total", Help: "Second-factor events by path (login, step_up) and outcome (challenged, enrolment_required, success, invalid_code, invalid_token, rate_limited, error).",
	}, []string{"path", "outcome"})
	m.mfaPasskey = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_mfa_passkey_total", Help: "Passkey second factors by path (login, step_up: the second step, also counted in gatehouse_mfa_total; login_begin, step_up_begin: the request options) and outcome (success, invalid_code, invalid_token, not_enrolled, rate_limited, error).",
	}, []string{"path", "outcome"})
	reg.MustRegister(m.requests, m.latency, m.logins, m.shed, m.refresh, m.streams, m.rotation, m.clientCreds, m.mfa, m.mfaPasskey)
	return m
}

// Registry returns the registry, for other components' collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (m *Metrics) observe(route string, status int, d time.Duration) {
	if status == 0 {
		status = http.StatusOK
	}
	type key struct {
		route  string
		status int
	}
	k := key{route, status}
	h, ok := m.handles.Load(k)
	if !ok {
		h, _ = m.handles.LoadOrStore(k, routeMetrics{
			count:   m.requests.WithLabelValues(route, strconv.Itoa(status)),
			latency: m.latency.WithLabelValues(route),
		})
	}
	rm := h.(routeMetrics)
	rm.count.Inc()
	rm.latency.Observe(d.Seconds())
}

// Login outcomes.
const (
	loginSuccess     = "success"
	loginFailure     = "failure"
	loginRateLimited = "rate_limited"
	loginError       = "error"
)

func (m *Metrics) login(outcome string) { m.logins.WithLabelValues(outcome).Inc() }

// refreshed counts one refresh grant by its outcome.
func (m *Metrics) refreshed(res *accounts.Result, err error) {
	outcome := "error"
	switch {
	case errors.Is(err, sessions.ErrRefreshReused):
		outcome = "reused"
	case errors.Is(err, sessions.ErrInvalid):
		outcome = "invalid"
	case err == nil && res.RefreshOutcome == sessions.Replayed:
		outcome = "grace_replay"
	case err == nil:
		outcome = "rotated"
	}
	m.refresh.WithLabelValues(outcome).Inc()
}
