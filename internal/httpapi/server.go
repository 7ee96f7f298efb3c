// Package httpapi is Gatehouse's HTTP surface (docs/architecture.md): it decodes requests, calls the
// domain packages and encodes answers. Handlers return errors; one mapper (toError) turns them
// into a status and a stable error code.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-auth/gatehouse/internal/accesskeys"
	"github.com/gatehouse-auth/gatehouse/internal/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/audit"
	"github.com/gatehouse-auth/gatehouse/internal/keys"
	"github.com/gatehouse-auth/gatehouse/internal/legacy"
	"github.com/gatehouse-auth/gatehouse/internal/oidc"
	"github.com/gatehouse-auth/gatehouse/internal/passkeys"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/roles"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/internal/sessions"
	"github.com/gatehouse-auth/gatehouse/internal/tokens"
	"github.com/gatehouse-auth/gatehouse/internal/userimport"
	"github.com/gatehouse-auth/gatehouse/internal/web"
)

// Config is what the server needs; cmd/gatehouse builds it.
type Config struct {
	Accounts *accounts.Service
	Sessions *sessions.Manager
	Audit    *audit.Log
	Tokens   *tokens.Service
	Keys     *keys.Manager
	// AccessKeys manages machine credentials (nil: the access-key routes answer 404).
	AccessKeys *accesskeys.Service
	// Legacy exchanges legacy issuers' tokens and administers those issuers (nil: the
	// routes answer 404 and the token-exchange grant is unsupported).
	Legacy *legacy.Service
	// Passkeys runs WebAuthn ceremonies (nil: the passkey routes answer 404).
	Passkeys *passkeys.Service
	// OIDC and OIDCCodes run the authorization code flow for registered clients (nil: the
	// routes answer 404; docs/oidc.md). Pages renders its browser pages (default: plain ones).
	OIDC      *oidc.Service
	OIDCCodes *oidc.Codes
	Pages     oidc.Pages
	// UserAccessKeyScopes are the scopes users may give the access keys they create for
	// themselves (/v1/access-keys); empty: users create none.
	UserAccessKeyScopes []string
	// Roles grants scopes to users (nil: the role routes answer 404 and sign-ins get no
	// scopes beyond openid).
	Roles *roles.Service
	// UserImport runs bulk user imports (nil: POST /v1/admin/users/import answers 404).
	UserImport *userimport.Importer
	// DefaultLegacyIssuer, if set, names the issuer of Auth0 import lines when the request
	// gives none (the only registered legacy issuer); nil: ?issuer= is required.
	DefaultLegacyIssuer func(ctx context.Context) (string, error)
	// Ready reports whether the store answers (GET /readyz).
	Ready func(ctx context.Context) error
	// AdminKeyHash is SHA-256 of the management key.
	AdminKeyHash []byte
	Proxies      ratelimit.ProxyPolicy
	// Buckets keeps the HTTP layer's own per-client limits (token revocation); shared by
	// every instance when it is Redis-backed. Nil disables them.
	Buckets ratelimit.Store
	// CORSOrigins are the exact origins whose scripts may call the API with credentials
	// (cors_origins; internal/httpapi/cors.go). Cross-origin protection trusts exactly them.
	CORSOrigins []string
	// MetricsElsewhere leaves GET /metrics out of this API: the operator serves it on its own
	// listener (metrics_addr), away from the public port.
	MetricsElsewhere bool
	// Now is the clock of those limits (default time.Now).
	Now func() time.Time
	// InsecureDevCookies drops the Secure flag and the __Host- prefix: only for --insecure-dev.
	InsecureDevCookies bool
	// RequestTimeout bounds each request's work (store calls included). Default 10 s.
	RequestTimeout time.Duration
	// StreamHeartbeat is how often an idle revocation stream sends a comment line, so that
	// proxies keep it open and clients can tell a quiet feed from a dead one. Default 15 s.
	StreamHeartbeat time.Duration
	Metrics         *Metrics
	Logger          *slog.Logger
	// Web, when set, serves the hosted pages under /ui/ (docs/hosted-pages.md); the server
	// fills in its closures (session cookies) and, if unset, Accounts and Passkeys.
	Web *web.Config
}

// Server is the HTTP API.
type Server struct {
	cfg     Config
	log     *slog.Logger
	mux     *http.ServeMux
	handler http.Handler
	cookie  string
	// refreshCookie is the name of the refresh-token cookie of browser token delivery.
	refreshCookie string
	reqIDs        requestIDs
	shedLog       sampledLog
	// patterns lists every registered route pattern, for the test that compares the routes
	// with api/openapi.yaml.
	patterns []string
	// legacyExchanges counts token exchanges by outcome (nil without Config.Legacy).
	legacyExchanges *prometheus.CounterVec
	// web is the hosted pages (nil without Config.Web).
	web *web.Handler
}

// SessionCookie is the name of the session cookie (docs/architecture.md).
const SessionCookie = "__Host-gh_session"

// devSessionCookie is used instead under --insecure-dev.
const devSessionCookie = "gh_session"

// New builds the server and its routes.
func New(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.DefaultLegacyIssuer == nil && cfg.Legacy != nil {
		cfg.DefaultLegacyIssuer = onlyLegacyIssuer(cfg.Legacy)
	}
	if cfg.StreamHeartbeat <= 0 {
		cfg.StreamHeartbeat = 15 * time.Second
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 10 * time.Second
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(nil)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(), cookie: SessionCookie, refreshCookie: RefreshCookie}
	if cfg.InsecureDevCookies {
		s.cookie, s.refreshCookie = devSessionCookie, "gh_refresh"
	}
	s.reqIDs.prefix = secret.NewID()[:10] + "-"
	s.routes()
	cop := http.NewCrossOriginProtection()
	// The handoff completion is posted from another host of the deployment (cross-site by
	// design); its single-use, host-bound code protects it (internal/httpapi/handoff.go).
	cop.AddInsecureBypassPattern(handoffCompletePattern)
	// A relying party posts authorization requests from its own site (OpenID Connect Core
	// §3.1.2.1); the handler only redirects to the GET (docs/security.md).
	cop.AddInsecureBypassPattern(authorizePostPattern)
	cop.SetDenyHandler(http.HandlerFunc(s.denyCrossOrigin))
	cors, err := newCORSPolicy(cfg.CORSOrigins, cop)
	if err != nil {
		s.log.Error("some cors_origins are ignored", "err", err.Error())
	}
	s.handler = s.outer(cors.wrap(cop.Handler(s.mux)))
	return s
}

// onlyLegacyIssuer names the issuer of Auth0 import lines sent without ?issuer=: the only
// registered legacy issuer (docs/migration.md); with none or several, "" (the request must say).
func onlyLegacyIssuer(l *legacy.Service) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		list, err := l.List(ctx)
		if err != nil || len(list) != 1 {
			return "", err
		}
		return list[0].Issuer, nil
	}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// handlerFunc is a handler that returns its error instead of writing it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (s *Server) handle(pattern string, h handlerFunc) {
	s.patterns = append(s.patterns, pattern)
	s.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := checkURL(r); err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	}))
}

func (s *Server) routes() {
	s.handle("/", s.notFound)
	s.handle("GET /healthz", s.healthz)
	s.handle("GET /readyz", s.readyz)
	if !s.cfg.MetricsElsewhere {
		s.patterns = append(s.patterns, "GET /metrics")
		s.mux.Handle("GET /metrics", s.cfg.Metrics.Handler())
	}
	s.handle("GET /openapi.yaml", s.openapi)
	s.sdkRoutes()

	s.handle("POST /v1/signup", s.signup)
	s.handle("POST /v1/login", s.login)
	s.handle("GET /v1/session", s.session)
	s.handle("POST /v1/logout", s.logout)
	s.handle("GET /v1/sessions", s.listSessions)
	s.handle("DELETE /v1/sessions/{id}", s.deleteSession)
	s.accountRoutes()

	s.handle("POST /v1/passkeys/register/begin", s.passkeyRegisterBegin)
	s.handle("POST /v1/passkeys/register/finish", s.passkeyRegisterFinish)
	s.handle("GET /v1/passkeys", s.listPasskeys)
	s.handle("PATCH /v1/passkeys/{id}", s.renamePasskey)
	s.handle("DELETE /v1/passkeys/{id}", s.deletePasskey)
	s.handle("POST /v1/login/passkey/begin", s.passkeyLoginBegin)
	s.handle("POST /v1/login/passkey/finish", s.passkeyLoginFinish)

	s.handle("POST /v1/admin/users", s.admin(s.adminCreateUser))
	if s.cfg.UserImport != nil {
		s.handle("POST /v1/admin/users/import", s.admin(s.adminImportUsers))
	}
	s.handle("GET /v1/admin/users", s.admin(s.adminListUsers))
	s.handle("GET /v1/admin/users/{id}", s.admin(s.adminGetUser))
	s.handle("PATCH /v1/admin/users/{id}", s.admin(s.adminUpdateUser))
	s.handle("POST /v1/admin/users/{id}/disable", s.admin(s.adminSetDisabled(true)))
	s.handle("POST /v1/admin/users/{id}/enable", s.admin(s.adminSetDisabled(false)))
	s.handle("DELETE /v1/admin/users/{id}", s.admin(s.adminDeleteUser))
	s.handle("POST /v1/admin/users/{id}/logout", s.admin(s.adminLogoutUser))
	s.handle("GET /v1/admin/users/{id}/sessions", s.admin(s.adminUserSessions))
	s.handle("GET /v1/admin/events", s.admin(s.adminEvents))
	s.routeRoles()
	if s.cfg.AccessKeys != nil {
		s.handle("POST /v1/admin/access-keys", s.admin(s.adminCreateAccessKey))
		s.handle("GET /v1/admin/access-keys", s.admin(s.adminListAccessKeys))
		s.handle("POST /v1/admin/access-keys/import", s.admin(s.adminImportAccessKeys))
		s.handle("GET /v1/admin/access-keys/{id}", s.admin(s.adminGetAccessKey))
		s.handle("PATCH /v1/admin/access-keys/{id}", s.admin(s.adminUpdateAccessKey))
		s.handle("DELETE /v1/admin/access-keys/{id}", s.admin(s.adminDeleteAccessKey))
		s.handle("POST /v1/access-keys", s.createOwnAccessKey)
		s.handle("GET /v1/access-keys", s.listOwnAccessKeys)
		s.handle("GET /v1/access-keys/{id}", s.getOwnAccessKey)
		s.handle("DELETE /v1/access-keys/{id}", s.deleteOwnAccessKey)
	}
	if s.cfg.Legacy != nil {
		s.legacyExchanges = newLegacyMetrics(s.cfg.Metrics.Registry())
		s.handle("POST /v1/exchange", s.exchange)
		s.handle("POST /v1/admin/legacy-issuers", s.admin(s.adminCreateLegacyIssuer))
		s.handle("GET /v1/admin/legacy-issuers", s.admin(s.adminListLegacyIssuers))
		s.handle("GET /v1/admin/legacy-issuers/{id}", s.admin(s.adminGetLegacyIssuer))
		s.handle("PATCH /v1/admin/legacy-issuers/{id}", s.admin(s.adminUpdateLegacyIssuer))
		s.handle("DELETE /v1/admin/legacy-issuers/{id}", s.admin(s.adminDeleteLegacyIssuer))
	}
	s.handle("GET /v1/admin/keys", s.admin(s.adminKeys))
	s.handle("POST /v1/admin/keys/rotate", s.admin(s.adminRotateKeys))

	s.handle("GET /.well-known/openid-configuration", s.discovery)
	s.handle("GET /.well-known/jwks.json", s.jwks)
	s.handle("POST /oauth/token", s.token)
	s.handle("POST /oauth/introspect", s.resourceServer(ScopeIntrospect, s.introspect))
	s.handle("POST /oauth/revoke", s.revoke)
	s.handle("GET /oauth/userinfo", s.userinfo)
	s.handle("POST /oauth/userinfo", s.userinfo)
	s.handle("GET /v1/revocations", s.resourceServer(ScopeRevocations, s.revocations))
	s.handle("GET /v1/revocations/stream", s.resourceServer(ScopeRevocations, s.revocationStream))

	s.mfaRoutes()
	s.oidcRoutes()
	s.handoffRoutes()
	s.passkeyMFARoutes()
	s.webRoutes()
}

// notFound answers every request no route matches (registered as "/", the least specific
// pattern): 405 with Allow when the path exists for other methods, else 404 — in the JSON
// error shape instead of ServeMux's plain text. Routing happens once on the hot path.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) error {
	var allow []string
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != "/" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		return errorf(http.StatusMethodNotAllowed, codeMethod, "method %s is not allowed here", r.Method)
	}
	return errorf(http.StatusNotFound, codeNotFound, "no such endpoint")
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.cfg.Ready(ctx); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}

// client describes the caller for audit events, session metadata and rate limits.
func (s *Server) client(r *http.Request) accounts.Client {
	ip := s.cfg.Proxies.ClientIP(r)
	c := accounts.Client{UserAgent: cleanHeader(r.UserAgent(), 512), IP: "unknown", RateKey: "unknown"}
	if ip != (netip.Addr{}) {
		c.IP = ip.String()
		c.RateKey = ratelimit.BucketKey(ip)
	}
	if ck, err := r.Cookie(s.cookie); err == nil {
		c.Session = ck.Value // a hint for sign-in admission; accounts validates it
	}
	if ck, err := r.Cookie(s.deviceCookieName()); err == nil {
		c.Device = ck.Value // checked by accounts (adaptive MFA)
	}
	return c
}

// checkURL refuses a path or query parameter that is not valid text (invalid UTF-8, NUL):
// such input answers 400 here rather than failing later in a store that cannot hold it.
func checkURL(r *http.Request) error {
	if !validText(r.URL.Path) {
		return errorf(http.StatusBadRequest, codeInvalidRequest, "the URL path must be valid UTF-8 without NUL characters")
	}
	if r.URL.RawQuery == "" {
		return nil
	}
	return checkParams(r.URL.Query(), "query")
}
