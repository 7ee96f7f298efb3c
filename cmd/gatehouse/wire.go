package main

import (
	"context"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-auth/gatehouse/internal/accesskeys"
	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/keys"
	"github.com/gatehouse-auth/gatehouse/internal/legacy"
	"github.com/gatehouse-auth/gatehouse/internal/mail"
	"github.com/gatehouse-auth/gatehouse/internal/mfa"
	"github.com/gatehouse-auth/gatehouse/internal/oidc"
	"github.com/gatehouse-auth/gatehouse/internal/onetime"
	"github.com/gatehouse-auth/gatehouse/internal/outbox"
	"github.com/gatehouse-auth/gatehouse/internal/passkeys"
	"github.com/gatehouse-auth/gatehouse/internal/password"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/roles"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/postgres"
	"github.com/gatehouse-auth/gatehouse/internal/store/redis"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-auth/gatehouse/internal/tokens"
	"github.com/gatehouse-auth/gatehouse/internal/userimport"
	"github.com/gatehouse-auth/gatehouse/internal/users"
	"github.com/gatehouse-auth/gatehouse/internal/web"
	"github.com/gatehouse-auth/gatehouse/internal/webhooks"
	"github.com/gatehouse-auth/gatehouse/jws"
)

// storage is everything the components need from a backend; SQLite and PostgreSQL both
// provide it.
type storage interface {
	users.Store
	sessions.Store
	audit.Store
	audit.RetentionStore
	keys.Store
	accesskeys.Store
	legacy.Store
	legacy.Identities
	passkeys.Store
	onetime.Store
	oidc.Store
	mfa.Store
	mfa.UsedCodes
	mfa.ChallengeStore
	DeleteExpiredChallenges(ctx context.Context, now time.Time) (int, error)
	DeleteExpiredOneTimeCodes(ctx context.Context, now time.Time, limit int) (int, error)
	users.IdentityStore
	userimport.Store
	store.Settings
	outbox.Store
	accounts.TokenStore
	roles.Store
	Ping(ctx context.Context) error
	// Ready reports whether the store accepts writes (GET /readyz).
	Ready(ctx context.Context) error
	Migrate(ctx context.Context) ([]int, error)
	Close() error
}

// checkpointer is a store with a write-ahead log to truncate now and then (SQLite).
type checkpointer interface {
	Checkpoint(ctx context.Context) error
}

// openStorage opens the configured backend: PostgreSQL when a database URL is set (migrated
// at start under an advisory lock, so instances may start together), else SQLite in the data
// directory (migrated on open).
func openStorage(ctx context.Context, cfg Config) (storage, error) {
	if cfg.DatabaseURL == "" {
		return sqlite.Open(ctx, filepath.Join(cfg.DataDir, "gatehouse.db"))
	}
	db, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if !cfg.AutoMigrate {
		return db, nil
	}
	if _, err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return db, nil
}

// app is the wired set of components shared by the subcommands.
type app struct {
	cfg      Config
	log      *slog.Logger
	db       storage
	kek      []byte
	hasher   *password.Hasher
	keys     *keys.Manager
	tokens   *tokens.Service
	sessions *sessions.Manager
	audit    *audit.Log
	// retention deletes old audit events; nil when events_retention is 0 (keep for ever).
	retention *audit.Retention
	accounts  *accounts.Service
	limiter   *ratelimit.Limiter
	redis     *redis.Client // nil without --redis-url
	buckets   ratelimit.Store
	// accessKeys are the machine credentials.
	accessKeys *accesskeys.Service
	// legacy exchanges the tokens of legacy issuers (migration from another provider).
	legacy *legacy.Service
	// passkeys is nil when the issuer makes no WebAuthn relying party (see Config.passkeys).
	passkeys *passkeys.Service
	// oidc and oidcCodes run the authorization code flow for registered clients (docs/oidc.md).
	oidc      *oidc.Service
	oidcCodes *oidc.Codes
	// backchannel queues logout tokens for clients when their sessions end (run by serve).
	backchannel *oidc.Backchannel
	// importer runs bulk user imports (HTTP and `gatehouse import users`).
	importer *userimport.Importer
	// roles grants scopes to users (docs/roles.md).
	roles *roles.Service
	// mail queues and sends emails; nil without smtp_url (outside --insecure-dev).
	mail *mail.Outbox
	// webhooks delivers audit events to the configured endpoints; nil without any.
	webhooks *webhooks.Dispatcher
	// outboxOutcomes counts delivery outcomes by queue (registered by serve).
	outboxOutcomes *prometheus.CounterVec
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

// open creates the data directory, the key-encryption key and the store, and builds the
// domain components.
func open(ctx context.Context, cfg Config, log *slog.Logger) (*app, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	kek := cfg.kek
	if kek == nil {
		var err error
		if kek, err = loadOrCreateKEK(filepath.Join(cfg.DataDir, "kek")); err != nil {
			return nil, err
		}
	}
	db, err := openStorage(ctx, cfg)
	if err != nil {
		return nil, err
	}
	hasher, err := password.New(password.Config{Params: password.DefaultParams, Concurrency: cfg.HashConcurrency, QueueSize: cfg.HashQueue})
	if err != nil {
		db.Close()
		return nil, err
	}
	now := time.Now
	accessTTL := time.Duration(cfg.AccessTokenTTL)
	sm := sessions.NewManager(db, sessions.Config{
		IdleTimeout:     time.Duration(cfg.SessionIdleTimeout),
		AbsoluteTimeout: time.Duration(cfg.SessionAbsoluteTimeout),
		// Revocation entries outlive the longest access token, plus verifiers' leeway.
		RevocationRetention: accessTTL + 5*time.Minute,
	}, now)
	// The refresh-token MAC key is derived from the key-encryption key: never in the database.
	refreshKey, err := hkdf.Key(sha256.New, kek, nil, "gatehouse refresh-token key v1", 32)
	if err != nil {
		db.Close()
		return nil, err
	}
	sm.WithRefresh(refreshKey, time.Duration(cfg.RefreshGrace))
	km, err := keys.NewManager(db, kek, keys.Config{
		Algorithm:        jws.Algorithm(cfg.SigningAlgorithm),
		RotateEvery:      time.Duration(cfg.KeyRotation),
		MaxTokenLifetime: accessTTL + 5*time.Minute, // access and ID tokens, plus leeway
	}, now)
	if err != nil {
		db.Close()
		return nil, err
	}
	ts := tokens.New(km, km, sm, sm, tokens.Config{Issuer: cfg.Issuer, AccessTTL: accessTTL, IDTTL: accessTTL}, now)
	outcomes := newOutboxCounter()
	hooks, err := openWebhooks(cfg, db, observer(outcomes), log, now)
	if err != nil {
		db.Close()
		return nil, err
	}
	var auditStore audit.Store = db
	if hooks != nil {
		auditStore = webhooks.AuditStore{Store: db, Dispatcher: hooks}
	}
	al := audit.NewLog(auditStore, now)
	var buckets ratelimit.Store = ratelimit.NewMemory(0)
	var rc *redis.Client
	if cfg.RedisURL != "" {
		if rc, err = redis.New(cfg.RedisURL, cfg.RedisPrefix); err != nil {
			db.Close()
			return nil, err
		}
		if err := rc.Ping(ctx); err != nil {
			log.Warn("redis unreachable at start; rate limits fall back to this instance until it answers", "err", err)
		}
		buckets = &ratelimit.Fallback{Primary: rc, Local: buckets, OnError: func(err error) {
			log.Warn("redis rate-limit store failed; using this instance's counters", "err", err)
		}}
		// Tell the other instances at once that the revocation log has news; never wait on it.
		sm.WithFanout(func() {
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				if err := rc.Announce(ctx); err != nil {
					log.Warn("revocation announcement failed; other instances learn within 250 ms", "err", err)
				}
			}()
		})
	}
	policy := ratelimit.DefaultPolicy()
	policy.SignupAll = cfg.signupLimit()
	limiter, err := ratelimit.NewLimiter(buckets, policy, now)
	if err != nil {
		db.Close()
		return nil, err
	}
	acc := accounts.New(db, sm, hasher, limiter, al, log, now)
	if err := wireMFA(cfg, acc, db, rc, buckets, kek, now); err != nil {
		db.Close()
		return nil, err
	}
	// Handoff codes live in the database's one-time codes (consumed atomically, shared by
	// every instance).
	if err := acc.WithHandoff(cfg.HandoffTargets, db); err != nil {
		db.Close()
		return nil, err
	}
	if cfg.BreachedPasswordsFile != "" {
		pf, err := password.OpenPwnedFile(cfg.BreachedPasswordsFile)
		if err != nil {
			db.Close()
			return nil, err
		}
		acc.WithPasswordPolicy(&password.Policy{Breached: pf}) // open for the life of the process
	}
	mailer, err := openMail(cfg, db, kek, observer(outcomes), log, now)
	if err != nil {
		db.Close()
		return nil, err
	}
	ec, err := emailConfig(cfg, db, mailer, buckets, kek)
	if err == nil {
		err = acc.WithEmail(ec)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	var retention *audit.Retention
	if cfg.EventsRetention > 0 {
		retention = audit.NewRetention(db, time.Duration(cfg.EventsRetention), audit.RetentionBatch, now)
	}
	lg, err := legacy.New(db, db, db, acc, al, log, legacy.Config{}, now)
	if err != nil {
		db.Close()
		return nil, err
	}
	var pks *passkeys.Service
	if pcfg, explicit, err := cfg.passkeys(); err == nil {
		// Challenges live in the database's one-time codes: consumed atomically there, and
		// shared by every instance.
		if pks, err = passkeys.New(pcfg, db, db, al, now); err != nil {
			db.Close()
			return nil, err
		}
		acc.WithPasskeyFactor(pks) // a passkey is also a second factor after a password
	} else if !explicit {
		log.Warn("passkeys disabled: the issuer makes no valid WebAuthn relying party; set webauthn_rp_id and webauthn_origins", "err", err.Error())
	}
	ak := accesskeys.New(db, now)
	ts.WithClients(ak.ClientLookup)
	if cfg.LegacyPasswordEndpoint != "" {
		acc.WithLegacyPasswords(userimport.NewPasswordEndpoint(cfg.LegacyPasswordEndpoint, []byte(cfg.LegacyPasswordSecret), nil, now))
	}
	seeds, err := mfa.NewSeedSealer(kek, now) // imported TOTP seeds (totp_secret)
	if err != nil {
		db.Close()
		return nil, err
	}
	clients := oidc.NewService(db, now)
	bcl, err := oidc.NewBackchannel(clients, db, ts, oidc.BackchannelConfig{}, now, observer(outcomes), log)
	if err != nil {
		db.Close()
		return nil, err
	}
	sm.WithEndHook(bcl.SessionsEnded)
	return &app{
		cfg: cfg, log: log, db: db, kek: kek, hasher: hasher, keys: km, tokens: ts, sessions: sm, audit: al,
		retention:  retention,
		legacy:     lg,
		accounts:   acc,
		limiter:    limiter,
		redis:      rc,
		buckets:    buckets,
		accessKeys: ak,
		passkeys:   pks,
		oidc:       clients,
		oidcCodes:  oidc.NewCodes(db, now),
		roles:      roles.New(db, al, now),
		importer:   userimport.New(db, hasher, sm, now).WithTOTP(seeds),
		mail:       mailer,
		webhooks:   hooks,

		backchannel:    bcl,
		outboxOutcomes: outcomes,
	}, nil
}

func (a *app) Close() error {
	if a.redis != nil {
		a.redis.Close()
	}
	return a.db.Close()
}

// loadOrCreateKEK reads the 32-byte key-encryption key, creating it (mode 0600) on first
// start. It lives beside the database but not in it, so a copy of the database alone does not
// decrypt the signing keys.
func loadOrCreateKEK(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) != 32 {
			return nil, fmt.Errorf("key-encryption key %s: want 32 bytes, found %d", path, len(b))
		}
		return b, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("key-encryption key: %w", err)
	}
	b = make([]byte, 32)
	rand.Read(b)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return loadOrCreateKEK(path) // another process made it first
	}
	if err != nil {
		return nil, fmt.Errorf("key-encryption key: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, fmt.Errorf("key-encryption key: %w", err)
	}
	return b, f.Close()
}

const adminKeySetting = "admin_key_sha256"

// adminKeyHash returns SHA-256 of the management key. A configured key wins; otherwise the
// first start generates one, stores only its hash, and returns the key itself (to be printed
// once). Later starts return an empty key.
func adminKeyHash(ctx context.Context, st store.Settings, configured string) (hash []byte, newKey string, err error) {
	if configured != "" {
		return secret.Hash(configured), "", nil
	}
	h, err := st.Setting(ctx, adminKeySetting)
	if err == nil {
		return h, "", nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, "", err
	}
	key := "gh_mk_" + secret.NewToken()
	mine := secret.Hash(key)
	stored, err := st.PutSettingIfAbsent(ctx, adminKeySetting, mine)
	if err != nil {
		return nil, "", err
	}
	if !secret.Equal(stored, mine) {
		return stored, "", nil // another instance generated it first
	}
	return mine, key, nil
}

// adminKeyFile is where a generated management key goes when no terminal can show it.
const adminKeyFile = "management-key"

// announceAdminKey hands a newly generated management key to the operator exactly once: on
// the terminal when standard output is one, else (output captured by a service manager or a
// container runtime, where it would end up in log storage) in a 0600 file in the data
// directory, and the log says where. The key never goes to the log itself.
func announceAdminKey(stdout io.Writer, dataDir, key string, log *slog.Logger) error {
	if f, ok := stdout.(*os.File); ok && isTerminal(f) {
		banner(stdout, key)
		return nil
	}
	path := filepath.Join(dataDir, adminKeyFile)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(f, key); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	log.Warn("a management key was generated; it is in this file (only its hash is kept): read it, store it safely, then delete the file",
		"path", path)
	return nil
}

// isTerminal reports whether f is a character device (a terminal), without a dependency.
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func banner(w io.Writer, key string) {
	line := strings.Repeat("=", 78)
	fmt.Fprintf(w, "%s\nManagement key (shown once; store it now, only its hash is kept):\n\n    %s\n\nUse it as: Authorization: Bearer <key>  on /v1/admin/*\n%s\n", line, key, line)
}

// webConfig is the hosted pages' part of the configuration (docs/hosted-pages.md); the API
// server fills in the services and the cookie logic.
func (c *Config) webConfig() *web.Config {
	wc := &web.Config{Issuer: c.Issuer, Name: c.UIName, LogoURL: c.UILogoURL, Theme: c.UITheme}
	if wc.Name == "" {
		wc.Name = c.BrandName
	}
	if wc.LogoURL == "" {
		wc.LogoURL = c.BrandLogoURL
	}
	for _, o := range c.ReturnToOrigins {
		wc.ReturnToOrigins = append(wc.ReturnToOrigins, strings.TrimSpace(o))
	}
	return wc
}
