package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/gatehouse-auth/gatehouse/internal/connlimit"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
)

func serve(ctx context.Context, e runEnv) error {
	cfg, _, err := loadConfig("serve", e.args, e.getenv)
	if err != nil {
		return err
	}
	log := newLogger(e.stderr, cfg.LogLevel)
	if cfg.InsecureDev {
		log.Warn("INSECURE DEVELOPMENT MODE: session cookies lack Secure and the __Host- prefix; never use this in production")
	}
	a, err := open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.keys.Maintain(ctx); err != nil {
		return fmt.Errorf("signing keys: %w", err)
	}
	hash, newKey, err := adminKeyHash(ctx, a.db, cfg.AdminKey)
	if err != nil {
		return fmt.Errorf("management key: %w", err)
	}
	if newKey != "" {
		if err := announceAdminKey(e.stdout, cfg.DataDir, newKey, log); err != nil {
			return fmt.Errorf("management key: %w", err)
		}
	}

	logEmailMode(cfg, a)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gatehouse_password_hash_queue_depth", Help: "Sign-ins waiting for a password hashing slot."},
			func() float64 { return float64(a.hasher.QueueDepth()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gatehouse_password_hash_in_flight", Help: "Password hashes being computed."},
			func() float64 { return float64(a.hasher.InFlight()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gatehouse_active_sessions", Help: "Live sessions."},
			func() float64 {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				n, err := a.sessions.CountActive(ctx)
				if err != nil {
					return -1
				}
				return float64(n)
			}),
	)
	reg.MustRegister(a.outboxOutcomes)
	registerLatency(reg, a)
	for _, limit := range ratelimit.Limits {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "gatehouse_ratelimit_refused_total", Help: "Sign-in and sign-up attempts refused by a rate limit (audited only when sampled).",
			ConstLabels: prometheus.Labels{"limit": limit},
		}, func() float64 { return float64(a.limiter.Refused(limit)) }))
	}
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gatehouse_revocation_feed_lag_seconds",
			Help: "Time since this instance last read the revocation log successfully; -1 when its copy is not usable (checks then go to the store)."},
			func() float64 {
				lag, ok := a.sessions.FeedLag()
				if !ok {
					return -1
				}
				return lag.Seconds()
			}),
	)
	metrics := httpapi.NewMetrics(reg)
	api := httpapi.New(httpapi.Config{
		Accounts:            a.accounts,
		Sessions:            a.sessions,
		Audit:               a.audit,
		Tokens:              a.tokens,
		Keys:                a.keys,
		AccessKeys:          a.accessKeys,
		UserAccessKeyScopes: cfg.UserAccessKeyScopes,
		Legacy:              a.legacy,
		UserImport:          a.importer,
		Roles:               a.roles,
		Passkeys:            a.passkeys,
		OIDC:                a.oidc,
		OIDCCodes:           a.oidcCodes,
		Ready:               newReadiness(a.db.Ready, time.Second, time.Now).Ready,
		AdminKeyHash:        hash,
		Proxies:             ratelimit.ProxyPolicy{Trusted: cfg.trusted},
		Buckets:             a.buckets,
		InsecureDevCookies:  cfg.InsecureDev,
		CORSOrigins:         cfg.CORSOrigins,
		Metrics:             metrics,
		MetricsElsewhere:    cfg.MetricsAddr != "",
		Logger:              log,
		Web:                 cfg.webConfig(),
	})

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	maxConns := connectionLimit(cfg.MaxConnections)
	conns := connlimit.New(maxConns, cfg.MaxIdleConnections)
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gatehouse_http_open_connections", Help: "Open client connections."},
			func() float64 { return float64(conns.Open()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gatehouse_http_idle_connections", Help: "Idle keep-alive client connections."},
			func() float64 { return float64(conns.Idle()) }),
	)
	ln = conns.Listener(ln)
	srv := &http.Server{
		Handler:           api,
		ConnState:         conns.ConnState,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          nil,
	}
	log.Info("gatehouse listening", "addr", ln.Addr().String(), "issuer", cfg.Issuer, "data_dir", cfg.DataDir, "max_connections", maxConns)
	if e.listening != nil {
		e.listening(ln.Addr())
	}

	go every(ctx, 10*time.Minute, func() { sweep(ctx, a) })
	go every(ctx, time.Minute, func() { maintainKeys(ctx, a) })
	if c, ok := a.db.(checkpointer); ok {
		go every(ctx, time.Minute, func() { checkpoint(ctx, a, c) })
	}
	go a.sessions.FollowRevocations(ctx, 250*time.Millisecond)
	// The outbox workers: a message queued by a request (or left by a previous run) is
	// delivered from here, with retries; a worker never stops on a failure.
	if a.mail != nil {
		go a.mail.Run(ctx)
	}
	if a.webhooks != nil {
		go a.webhooks.Run(ctx)
	}
	go a.backchannel.Run(ctx)
	if a.redis != nil {
		go a.redis.Listen(ctx, a.sessions.Poke)
	}
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	if cfg.MetricsAddr != "" {
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			return fmt.Errorf("metrics_addr: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", metrics.Handler())
		msrv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
		go msrv.Serve(mln)
		defer msrv.Close()
		log.Info("metrics listening", "addr", mln.Addr().String())
		if e.metricsListening != nil {
			e.metricsListening(mln.Addr())
		}
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), time.Duration(cfg.ShutdownTimeout))
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	a.accounts.Wait() // forgot-password and email sign-in requests answered before finishing
	log.Info("stopped")
	return nil
}

// connectionLimit is the configured connection cap, or one derived from the open-file limit:
// that limit less a reserve for the database, logs and key files, at most 16384.
func connectionLimit(configured int) int {
	if configured > 0 {
		return configured
	}
	const reserve, ceiling = 128, 16384
	if n, ok := openFileLimit(); ok && n > 2*reserve {
		return int(min(n-reserve, ceiling))
	}
	return 1024 - reserve
}

// every runs fn every d until ctx ends.
func every(ctx context.Context, d time.Duration, fn func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

// sweep deletes expired sessions, revocation entries, one-time codes and legacy-token replay marks, and
// audit events past their retention. Expiry itself is enforced on every check; this only keeps the tables small.
func sweep(ctx context.Context, a *app) {
	if a.retention != nil {
		start := time.Now()
		n, err := a.retention.Run(ctx)
		if err != nil {
			a.log.Warn("audit event retention failed", "err", err, "deleted", n)
		} else if n > 0 {
			a.log.Info("old audit events removed", "count", n, "took", time.Since(start).String())
		}
	}
	purgeOutbox(ctx, a)
	if _, err := a.sessions.SweepRevocations(ctx); err != nil {
		a.log.Warn("revocation sweep failed", "err", err)
	}
	if _, err := a.db.DeleteExpiredChallenges(ctx, time.Now()); err != nil {
		a.log.Warn("mfa_token sweep failed", "err", err)
	}
	// One-time codes never redeemed (parked authorization requests, handoff codes, used-code
	// marks): 1,000 rows a statement, so no sweep holds the writer for long.
	for {
		n, err := a.db.DeleteExpiredOneTimeCodes(ctx, time.Now(), 1000)
		if err != nil {
			a.log.Warn("one-time code sweep failed", "err", err)
		}
		if err != nil || n < 1000 || ctx.Err() != nil {
			break
		}
	}
	if _, err := a.legacy.SweepMarks(ctx); err != nil {
		a.log.Warn("legacy token replay-mark sweep failed", "err", err)
	}
	if n, err := a.sessions.Sweep(ctx); err != nil {
		a.log.Warn("session sweep failed", "err", err)
	} else if n > 0 {
		a.log.Info("expired sessions removed", "count", n)
	}
}

// checkpoint truncates SQLite's write-ahead log, so that it shrinks back after a burst of
// writes (the store also bounds it under load, see internal/store/sqlite/wal.go).
func checkpoint(ctx context.Context, a *app, c checkpointer) {
	if err := c.Checkpoint(ctx); err != nil {
		a.log.Debug("WAL checkpoint incomplete; retrying in a minute", "err", err)
	}
}

// maintainKeys runs the staged key rotation.
func maintainKeys(ctx context.Context, a *app) {
	if err := a.keys.Maintain(ctx); err != nil {
		a.log.Error("signing-key maintenance failed", "err", err)
	}
}
