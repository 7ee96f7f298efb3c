package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/accesskeys"
	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi"
	"github.com/gatehouse-auth/gatehouse/internal/mail"
	"github.com/gatehouse-auth/gatehouse/internal/passkeys"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/web"
	"github.com/gatehouse-auth/gatehouse/internal/webhooks"
)

// Config is every setting of the server, from defaults, then an optional JSON file, then
// GATEHOUSE_* environment variables, then flags (later sources win).
type Config struct {
	Addr        string `json:"addr"`
	DataDir     string `json:"data_dir"`
	Issuer      string `json:"issuer"`
	DatabaseURL string `json:"database_url"`
	RedisURL    string `json:"redis_url"`
	// RedisPrefix starts every Redis key and channel (default "gatehouse:"), so deployments can
	// share a server.
	RedisPrefix string `json:"redis_prefix"`
	// AdminKey sets the management key instead of generating one. Only from the environment
	// (GATEHOUSE_ADMIN_KEY) or the file, never a flag (flags show in `ps`).
	AdminKey    string `json:"admin_key"`
	InsecureDev bool   `json:"insecure_dev"`
	// AutoMigrate applies PostgreSQL migrations at start (default true; SQLite always
	// migrates). Turn it off to run `gatehouse migrate` as a separate deployment step.
	AutoMigrate bool   `json:"auto_migrate"`
	LogLevel    string `json:"log_level"`

	SessionIdleTimeout     Duration `json:"session_idle_timeout"`
	SessionAbsoluteTimeout Duration `json:"session_absolute_timeout"`
	// TrustedProxies are CIDR prefixes whose X-Forwarded-For is believed.
	TrustedProxies []string `json:"trusted_proxies"`
	// UserAccessKeyScopes are the scopes users may give the access keys they create for
	// themselves (/v1/access-keys); empty (the default): users create none.
	UserAccessKeyScopes []string `json:"user_access_key_scopes"`
	// HashConcurrency bounds parallel password hashes (default: the number of CPUs).
	HashConcurrency int `json:"hash_concurrency"`
	// HashQueue is how many sign-ins may wait for a hashing slot before 503.
	HashQueue int `json:"hash_queue"`
	// BreachedPasswordsFile is an offline copy of the Pwned Passwords SHA-1 list ordered by
	// hash; new passwords found in it are refused (no network: binary search in the file).
	BreachedPasswordsFile string `json:"breached_passwords_file"`
	// MFA is the second-factor policy: optional (default), required or adaptive.
	MFA             string   `json:"mfa"`
	ShutdownTimeout Duration `json:"shutdown_timeout"`
	// MaxConnections bounds open client connections (default: the open-file limit less a
	// reserve for the database and files, at most 16384); idle keep-alive connections are
	// closed first to make room. MaxIdleConnections bounds idle keep-alives (default half).
	// MetricsAddr, when set, serves GET /metrics on its own listener (e.g. 127.0.0.1:9100)
	// and not on the public address.
	MetricsAddr        string `json:"metrics_addr"`
	MaxConnections     int    `json:"max_connections"`
	MaxIdleConnections int    `json:"max_idle_connections"`
	// SignupRate is the global cap on sign-ups, all clients together, in sign-ups per
	// second; SignupBurst is how many may come at once above that rate. Beyond them sign-up
	// answers 429 rate_limited with Retry-After.
	SignupRate  float64 `json:"signup_rate"`
	SignupBurst int     `json:"signup_burst"`

	// SigningAlgorithm is the algorithm of new signing keys: EdDSA (default), ES256 or RS256.
	SigningAlgorithm string `json:"signing_algorithm"`
	// AccessTokenTTL is the access-token lifetime (default 10m, at most 1h).
	AccessTokenTTL Duration `json:"access_token_ttl"`
	// RefreshGrace is how long a just-rotated refresh token still yields the same successor
	// (default 30s, at most 5m).
	RefreshGrace Duration `json:"refresh_grace"`
	// KeyRotation is how old the active signing key gets before a successor is published
	// (default 720h).
	KeyRotation Duration `json:"key_rotation"`
	// EventsRetention is how long audit events are kept (default 2160h, 90 days; also
	// GATEHOUSE_EVENTS_RETENTION); "0s" keeps them for ever.
	EventsRetention Duration `json:"events_retention"`

	// WebAuthnRPID and WebAuthnOrigins are the passkey relying party (internal/passkeys);
	// empty means the issuer's host and origin.
	WebAuthnRPID    string   `json:"webauthn_rp_id"`
	WebAuthnOrigins []string `json:"webauthn_origins"`
	// CORSOrigins are the exact origins of single-page apps that may call the API from
	// scripts with credentials (docs/browser-sdk.md); cross-origin protection trusts them.
	CORSOrigins []string `json:"cors_origins"`

	// HandoffTargets are the exact URLs of /v1/handoff/complete on each host that may
	// receive a cross-domain sign-in (docs/cross-domain.md); empty turns the handoff off.
	HandoffTargets []string `json:"handoff_targets"`

	// LegacyPasswordEndpoint is the URL of the old system's password check, for lazy password
	// migration (docs/migration.md): HTTPS, or HTTP to a loopback address (tests).
	// LegacyPasswordSecret signs the requests (at least 32 characters); only from the
	// environment or the file.
	LegacyPasswordEndpoint string `json:"legacy_password_endpoint"`
	LegacyPasswordSecret   string `json:"legacy_password_secret"`
	// SMTPURL is the mail server: smtp://user:pass@host:587 (STARTTLS) or smtps://…:465
	// (also GATEHOUSE_SMTP_URL, which keeps the password out of the file). Empty: no email,
	// except that --insecure-dev prints messages to the log (docs/email.md).
	SMTPURL string `json:"smtp_url"`
	// EmailFrom is the sender of every email, e.g. "Acme <no-reply@acme.example>".
	EmailFrom string `json:"email_from"`
	// RequireVerifiedEmail refuses sign-in to accounts whose address is not verified.
	RequireVerifiedEmail bool `json:"require_verified_email"`
	// EmailLogin enables sign-in with a 6-digit code sent by email.
	EmailLogin bool `json:"email_login"`
	// EmailTemplatesDir holds templates that replace the embedded ones, file by file.
	EmailTemplatesDir string `json:"email_templates_dir"`
	// BrandName and BrandLogoURL present the deployment in its emails.
	BrandName    string `json:"brand_name"`
	BrandLogoURL string `json:"brand_logo_url"`
	// ReturnToOrigins are the origins ("https://app.example.com") besides the issuer's that
	// the hosted pages may send a browser back to after signing in (docs/hosted-pages.md).
	ReturnToOrigins []string `json:"return_to_origins"`
	// UIName and UILogoURL present the deployment on the hosted pages (default: brand_name
	// and brand_logo_url); UITheme overrides the pages' CSS variables (file only).
	UIName    string            `json:"ui_name"`
	UILogoURL string            `json:"ui_logo_url"`
	UITheme   map[string]string `json:"ui_theme"`
	// Webhooks receive the audit events they subscribe to (config file only: secrets).
	Webhooks []webhooks.Endpoint `json:"webhooks"`

	// KEK is the key-encryption key, base64 (32 bytes), from GATEHOUSE_KEK: several instances
	// must share it. When empty, the file "kek" in the data directory is used (and created).
	KEK string `json:"-"`

	trusted []netip.Prefix
	kek     []byte
}

// Duration is a time.Duration written as "90s" or "168h" in the config file.
type Duration time.Duration

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"30m\": %w", err)
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}

func defaultConfig() Config {
	return Config{
		Addr:                   ":8080",
		DataDir:                "./data",
		Issuer:                 "http://localhost:8080",
		MFA:                    accounts.MFAOptional,
		LogLevel:               "info",
		AutoMigrate:            true,
		RedisPrefix:            "gatehouse:",
		SessionIdleTimeout:     Duration(7 * 24 * time.Hour),
		SessionAbsoluteTimeout: Duration(30 * 24 * time.Hour),
		ShutdownTimeout:        Duration(20 * time.Second),
		SigningAlgorithm:       "EdDSA",
		AccessTokenTTL:         Duration(10 * time.Minute),
		RefreshGrace:           Duration(30 * time.Second),
		KeyRotation:            Duration(30 * 24 * time.Hour),
		SignupRate:             2,
		SignupBurst:            60,
		EventsRetention:        Duration(audit.DefaultRetention),
	}
}

// loadConfig builds the configuration for a subcommand from args and the environment. Every
// problem is reported at once.
// extra, if not nil, registers the subcommand's own flags on the same FlagSet.
func loadConfig(name string, args []string, getenv func(string) string, extra ...func(*flag.FlagSet)) (Config, *flag.FlagSet, error) {
	cfg := defaultConfig()
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	for _, f := range extra {
		f(fs)
	}
	configFile := fs.String("config", getenv("GATEHOUSE_CONFIG"), "optional JSON config file (env GATEHOUSE_CONFIG)")
	addr := fs.String("addr", "", "listen address (env GATEHOUSE_ADDR, default :8080)")
	dataDir := fs.String("data-dir", "", "data directory for SQLite and the key-encryption key (env GATEHOUSE_DATA_DIR, default ./data)")
	issuer := fs.String("issuer", "", "public base URL (env GATEHOUSE_ISSUER, default http://localhost:8080)")
	dbURL := fs.String("database-url", "", "postgres://… ; empty means embedded SQLite (env GATEHOUSE_DATABASE_URL)")
	redisURL := fs.String("redis-url", "", "redis://… (optional; env GATEHOUSE_REDIS_URL)")
	autoMigrate := fs.String("auto-migrate", "", "apply PostgreSQL migrations at start: true (default) or false (env GATEHOUSE_AUTO_MIGRATE)")
	insecure := fs.Bool("insecure-dev", false, "DEVELOPMENT ONLY: cookies without Secure/__Host- (env GATEHOUSE_INSECURE_DEV)")
	logLevel := fs.String("log-level", "", "debug, info, warn or error (env GATEHOUSE_LOG_LEVEL)")
	if err := fs.Parse(args); err != nil {
		return cfg, fs, err
	}
	var problems []error
	if *configFile != "" {
		if err := readConfigFile(*configFile, &cfg); err != nil {
			problems = append(problems, err)
		}
	}
	set := func(dst *string, env, flagVal string) {
		if v := getenv(env); v != "" {
			*dst = v
		}
		if flagVal != "" {
			*dst = flagVal
		}
	}
	set(&cfg.Addr, "GATEHOUSE_ADDR", *addr)
	set(&cfg.DataDir, "GATEHOUSE_DATA_DIR", *dataDir)
	set(&cfg.Issuer, "GATEHOUSE_ISSUER", *issuer)
	set(&cfg.DatabaseURL, "GATEHOUSE_DATABASE_URL", *dbURL)
	set(&cfg.RedisURL, "GATEHOUSE_REDIS_URL", *redisURL)
	set(&cfg.AdminKey, "GATEHOUSE_ADMIN_KEY", "")
	set(&cfg.LogLevel, "GATEHOUSE_LOG_LEVEL", *logLevel)
	set(&cfg.SigningAlgorithm, "GATEHOUSE_SIGNING_ALGORITHM", "")
	set(&cfg.KEK, "GATEHOUSE_KEK", "")
	set(&cfg.RedisPrefix, "GATEHOUSE_REDIS_PREFIX", "")
	set(&cfg.MetricsAddr, "GATEHOUSE_METRICS_ADDR", "")
	set(&cfg.BreachedPasswordsFile, "GATEHOUSE_BREACHED_PASSWORDS_FILE", "")
	set(&cfg.MFA, "GATEHOUSE_MFA", "")
	set(&cfg.LegacyPasswordEndpoint, "GATEHOUSE_LEGACY_PASSWORD_ENDPOINT", "")
	set(&cfg.LegacyPasswordSecret, "GATEHOUSE_LEGACY_PASSWORD_SECRET", "")
	set(&cfg.SMTPURL, "GATEHOUSE_SMTP_URL", "")
	set(&cfg.EmailFrom, "GATEHOUSE_EMAIL_FROM", "")
	set(&cfg.EmailTemplatesDir, "GATEHOUSE_EMAIL_TEMPLATES_DIR", "")
	set(&cfg.BrandName, "GATEHOUSE_BRAND_NAME", "")
	set(&cfg.BrandLogoURL, "GATEHOUSE_BRAND_LOGO_URL", "")
	set(&cfg.UIName, "GATEHOUSE_UI_NAME", "")
	set(&cfg.UILogoURL, "GATEHOUSE_UI_LOGO_URL", "")
	if v := getenv("GATEHOUSE_RETURN_TO_ORIGINS"); v != "" {
		cfg.ReturnToOrigins = strings.Split(v, ",")
	}
	for env, dst := range map[string]*bool{"GATEHOUSE_REQUIRE_VERIFIED_EMAIL": &cfg.RequireVerifiedEmail, "GATEHOUSE_EMAIL_LOGIN": &cfg.EmailLogin} {
		switch v := strings.ToLower(getenv(env)); v {
		case "":
		case "true", "1":
			*dst = true
		case "false", "0":
			*dst = false
		default:
			problems = append(problems, fmt.Errorf("%s %q: want true or false", env, v))
		}
	}
	if v := getenv("GATEHOUSE_INSECURE_DEV"); v != "" {
		cfg.InsecureDev = v == "1" || strings.EqualFold(v, "true")
	}
	if *insecure {
		cfg.InsecureDev = true
	}
	am := getenv("GATEHOUSE_AUTO_MIGRATE")
	if *autoMigrate != "" {
		am = *autoMigrate
	}
	switch strings.ToLower(am) {
	case "":
	case "true", "1":
		cfg.AutoMigrate = true
	case "false", "0":
		cfg.AutoMigrate = false
	default:
		problems = append(problems, fmt.Errorf("auto-migrate %q: want true or false", am))
	}
	if v := getenv("GATEHOUSE_EVENTS_RETENTION"); v != "" {
		if d, err := time.ParseDuration(v); err != nil {
			problems = append(problems, fmt.Errorf("GATEHOUSE_EVENTS_RETENTION %q: want a duration such as \"2160h\"", v))
		} else {
			cfg.EventsRetention = Duration(d)
		}
	}
	if v := getenv("GATEHOUSE_TRUSTED_PROXIES"); v != "" {
		cfg.TrustedProxies = strings.Split(v, ",")
	}
	set(&cfg.WebAuthnRPID, "GATEHOUSE_WEBAUTHN_RP_ID", "")
	if v := getenv("GATEHOUSE_WEBAUTHN_ORIGINS"); v != "" {
		cfg.WebAuthnOrigins = strings.Split(v, ",")
	}
	if v := getenv("GATEHOUSE_CORS_ORIGINS"); v != "" {
		cfg.CORSOrigins = strings.Split(v, ",")
	}
	if v := getenv("GATEHOUSE_HANDOFF_TARGETS"); v != "" {
		cfg.HandoffTargets = strings.Split(v, ",")
	}
	if v := getenv("GATEHOUSE_USER_ACCESS_KEY_SCOPES"); v != "" {
		cfg.UserAccessKeyScopes = strings.Split(v, ",")
	}
	setInt := func(dst *int, env string) {
		if v := getenv(env); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				problems = append(problems, fmt.Errorf("%s %q: want a whole number", env, v))
				return
			}
			*dst = n
		}
	}
	setInt(&cfg.MaxConnections, "GATEHOUSE_MAX_CONNECTIONS")
	setInt(&cfg.MaxIdleConnections, "GATEHOUSE_MAX_IDLE_CONNECTIONS")
	if v := getenv("GATEHOUSE_SIGNUP_RATE"); v != "" {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			cfg.SignupRate = f
		} else {
			problems = append(problems, fmt.Errorf("GATEHOUSE_SIGNUP_RATE %q: want a number of sign-ups per second", v))
		}
	}
	if v := getenv("GATEHOUSE_SIGNUP_BURST"); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			cfg.SignupBurst = n
		} else {
			problems = append(problems, fmt.Errorf("GATEHOUSE_SIGNUP_BURST %q: want a whole number", v))
		}
	}
	if err := cfg.Validate(); err != nil {
		problems = append(problems, err)
	}
	return cfg, fs, errors.Join(problems...)
}

func readConfigFile(path string, cfg *Config) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(cfg); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	return nil
}

// passkeys is the WebAuthn relying party: webauthn_rp_id and webauthn_origins, each
// defaulting to the issuer's host and origin. explicit reports whether either was set; when
// neither was and the issuer makes no valid relying party (an http issuer other than
// localhost under --insecure-dev: browsers offer WebAuthn only in secure contexts), serve
// runs without passkeys rather than failing.
func (c *Config) passkeys() (cfg passkeys.Config, explicit bool, err error) {
	explicit = c.WebAuthnRPID != "" || len(c.WebAuthnOrigins) > 0
	def, err := passkeys.DefaultConfig(c.Issuer)
	if err != nil {
		return cfg, explicit, err
	}
	cfg = def
	if c.WebAuthnRPID != "" {
		cfg.RPID = c.WebAuthnRPID
	}
	if len(c.WebAuthnOrigins) > 0 {
		cfg.Origins = nil
		for _, o := range c.WebAuthnOrigins {
			cfg.Origins = append(cfg.Origins, strings.TrimSpace(o))
		}
	}
	return cfg, explicit, cfg.Validate()
}

// signupLimit is the global sign-up bucket of signup_rate and signup_burst.
func (c *Config) signupLimit() ratelimit.Limit {
	return ratelimit.Limit{Burst: c.SignupBurst, Per: time.Duration(float64(time.Second) / c.SignupRate)}
}

// Validate returns every problem of the configuration, joined.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if _, err := accesskeys.CleanScopes(c.UserAccessKeyScopes); err != nil {
		bad("user_access_key_scopes: %v", err)
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		bad("addr %q: want host:port or :port", c.Addr)
	}
	if c.MetricsAddr != "" {
		if _, port, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			bad("metrics_addr %q: want host:port or :port", c.MetricsAddr)
		} else if c.MetricsAddr == c.Addr && port != "0" {
			bad("metrics_addr must differ from addr")
		}
	}
	if c.DataDir == "" {
		bad("data-dir must not be empty")
	}
	if u, err := url.Parse(c.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		bad("issuer %q: want an absolute http(s) URL without query or fragment", c.Issuer)
	} else if u.Scheme == "http" && !isLocalhost(u.Hostname()) && !c.InsecureDev {
		bad("issuer %q: must be https unless it is localhost, a *.localhost name or loopback (or --insecure-dev)", c.Issuer)
	}
	if c.DatabaseURL != "" {
		if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			bad("database-url: want postgres://…")
		}
	}
	if c.RedisURL != "" {
		if u, err := url.Parse(c.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
			bad("redis-url: want redis://… or rediss://…")
		}
	}
	c.kek = nil
	if c.KEK != "" {
		k, err := base64.StdEncoding.DecodeString(c.KEK)
		if err != nil || len(k) != 32 {
			bad("GATEHOUSE_KEK must be 32 bytes in standard base64 (e.g. `openssl rand -base64 32`)")
		} else {
			c.kek = k
		}
	}
	if c.AdminKey != "" && len(c.AdminKey) < 32 {
		bad("GATEHOUSE_ADMIN_KEY must have at least 32 characters")
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		bad("log-level %q: want debug, info, warn or error", c.LogLevel)
	}
	if c.SessionIdleTimeout < Duration(time.Minute) {
		bad("session_idle_timeout must be at least 1m")
	}
	if c.SessionAbsoluteTimeout < c.SessionIdleTimeout {
		bad("session_absolute_timeout must not be shorter than session_idle_timeout")
	}
	switch c.SigningAlgorithm {
	case "EdDSA", "ES256", "RS256":
	default:
		bad("signing_algorithm %q: want EdDSA, ES256 or RS256", c.SigningAlgorithm)
	}
	if err := httpapi.CheckCORSOrigins(c.CORSOrigins); err != nil {
		bad("%v", err)
	}
	if c.AccessTokenTTL < Duration(time.Minute) || c.AccessTokenTTL > Duration(time.Hour) {
		bad("access_token_ttl must be between 1m and 1h")
	}
	if c.RefreshGrace < 0 || c.RefreshGrace > Duration(5*time.Minute) {
		bad("refresh_grace must be between 0s and 5m")
	}
	if c.KeyRotation < Duration(time.Hour) {
		bad("key_rotation must be at least 1h")
	}
	if !accounts.ValidMFAPolicy(c.MFA) {
		bad("mfa %q: want optional, required or adaptive", c.MFA)
	}
	if c.BreachedPasswordsFile != "" {
		if st, err := os.Stat(c.BreachedPasswordsFile); err != nil || !st.Mode().IsRegular() {
			bad("breached_passwords_file %q: not a readable file", c.BreachedPasswordsFile)
		}
	}
	if c.EventsRetention != 0 && c.EventsRetention < Duration(24*time.Hour) {
		bad("events_retention must be at least 24h, or 0s to keep events for ever")
	}
	if c.LegacyPasswordEndpoint != "" {
		u, err := url.Parse(c.LegacyPasswordEndpoint)
		switch {
		case err != nil || u.Host == "" || u.User != nil || u.Fragment != "" || (u.Scheme != "https" && u.Scheme != "http"):
			bad("legacy_password_endpoint %q: want an absolute https URL without credentials", c.LegacyPasswordEndpoint)
		case u.Scheme == "http" && !isLoopback(u.Hostname()):
			bad("legacy_password_endpoint %q: must be https (http only to a loopback address)", c.LegacyPasswordEndpoint)
		}
		if len(c.LegacyPasswordSecret) < 32 {
			bad("legacy_password_secret must have at least 32 characters when legacy_password_endpoint is set")
		}
	} else if c.LegacyPasswordSecret != "" {
		bad("legacy_password_secret is set but legacy_password_endpoint is not")
	}
	if c.HashConcurrency < 0 || c.HashQueue < 0 {
		bad("hash_concurrency and hash_queue must not be negative")
	}
	if c.MaxConnections < 0 || c.MaxIdleConnections < 0 {
		bad("max_connections and max_idle_connections must not be negative")
	} else if c.MaxConnections > 0 && c.MaxIdleConnections > c.MaxConnections {
		bad("max_idle_connections must not exceed max_connections")
	}
	if !(c.SignupRate >= 0.001 && c.SignupRate <= 1e6) { // also refuses NaN
		bad("signup_rate %v: want sign-ups per second between 0.001 and 1000000", c.SignupRate)
	} else if c.SignupBurst < 1 || c.SignupBurst > 1e6 {
		bad("signup_burst %d: want between 1 and 1000000", c.SignupBurst)
	} else if err := c.signupLimit().Validate(); err != nil {
		bad("signup_rate and signup_burst: %v", err)
	}
	if _, explicit, err := c.passkeys(); err != nil && explicit {
		bad("%v", err)
	}
	for _, t := range c.HandoffTargets {
		if err := accounts.ValidHandoffTarget(t); err != nil {
			bad("handoff_targets: %v", err)
		}
	}
	errs = append(errs, c.validateEmail()...)
	c.trusted = nil
	for _, p := range c.TrustedProxies {
		pfx, err := netip.ParsePrefix(strings.TrimSpace(p))
		if err != nil {
			if a, aerr := netip.ParseAddr(strings.TrimSpace(p)); aerr == nil {
				pfx = netip.PrefixFrom(a, a.BitLen())
			} else {
				bad("trusted proxy %q: want a CIDR prefix or an address", p)
				continue
			}
		}
		c.trusted = append(c.trusted, pfx.Masked())
	}
	return errors.Join(errs...)
}

// isLocalhost reports whether browsers treat http://host as a secure context, where Secure
// and __Host- cookies work: localhost, *.localhost (RFC 6761; browsers resolve these names to
// loopback themselves) and loopback addresses. Only for the issuer, which browsers reach;
// addresses this server itself connects to must be loopback (isLoopback).
func isLocalhost(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	return isLoopback(h) || (strings.HasSuffix(h, ".localhost") && len(h) > len(".localhost"))
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// validateEmail checks the email and webhook settings.
func (c *Config) validateEmail() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.SMTPURL != "" {
		if _, err := mail.ParseSMTPURL(c.SMTPURL); err != nil {
			bad("%v", err) // never the URL itself: it holds the password
		}
		if c.EmailFrom == "" {
			bad("email_from is required with smtp_url (e.g. \"Acme <no-reply@acme.example>\")")
		}
	} else if !c.InsecureDev {
		if c.RequireVerifiedEmail {
			bad("require_verified_email needs smtp_url: nobody could verify an address")
		}
		if c.EmailLogin {
			bad("email_login needs smtp_url: no sign-in code could be sent")
		}
	}
	if c.EmailFrom != "" {
		if _, err := mail.ParseAddress(c.EmailFrom); err != nil {
			bad("email_from: %v", err)
		}
	}
	if c.BrandLogoURL != "" {
		if u, err := url.Parse(c.BrandLogoURL); err != nil || u.Scheme != "https" || u.Host == "" {
			bad("brand_logo_url must be an https URL")
		}
	}
	for _, o := range c.ReturnToOrigins {
		if u, err := url.Parse(strings.TrimSpace(o)); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
			bad("return_to_origins %q: want an origin such as https://app.example.com", o)
		}
	}
	if c.UILogoURL != "" {
		if u, err := url.Parse(c.UILogoURL); err != nil || !(u.Scheme == "https" && u.Host != "" || u.Scheme == "" && u.Host == "" && strings.HasPrefix(c.UILogoURL, "/") && !strings.HasPrefix(c.UILogoURL, "//")) {
			bad("ui_logo_url must be an https URL or a path on this server")
		}
	}
	if err := web.CheckTheme(c.UITheme); err != nil {
		bad("ui_theme: %v", err)
	}
	if c.EmailTemplatesDir != "" {
		if st, err := os.Stat(c.EmailTemplatesDir); err != nil || !st.IsDir() {
			bad("email_templates_dir %q: not a directory", c.EmailTemplatesDir)
		}
	}
	if err := webhooks.Validate(c.Webhooks); err != nil {
		errs = append(errs, err)
	}
	return errs
}
