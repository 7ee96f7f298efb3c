// Package verify lets a Go service (a resource server) check the access tokens Gatehouse issues
// locally, without calling Gatehouse on each request:
//
//	v, err := verify.New(ctx, "https://auth.example.com", verify.WithAudience("gatehouse"))
//	http.Handle("/orders", v.Middleware(verify.RequireScope("orders:read")(ordersHandler)))
//
// New discovers the issuer (OpenID Connect Discovery) and fetches its JWKS; keys are refreshed
// as their Cache-Control max-age says, refetched (at most every 10 s) when a token names an
// unknown kid, and kept when the issuer is unreachable. The algorithm of each key is the key's
// own; tokens must be RFC 9068 access tokens (typ at+jwt) of the configured issuer and audience.
//
// A token verified once is accepted from memory until it expires (keyed by a hash of the whole
// token, so a token that differs in any byte is verified afresh): the hot path is a SHA-256 and a
// map lookup.
//
// This package imports nothing from Gatehouse's internal packages and no database driver.
package verify

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-auth/gatehouse/jws"
)

// Errors returned by Verify. Every one maps to the RFC 6750 error "invalid_token" (see
// WWWAuthenticate); match them with errors.Is.
var (
	ErrMalformed    = errors.New("verify: malformed token")
	ErrExpired      = errors.New("verify: token expired")
	ErrNotYetValid  = errors.New("verify: token not yet valid")
	ErrBadSignature = errors.New("verify: bad signature")
	ErrUnknownKey   = errors.New("verify: unknown signing key")
	ErrIssuer       = errors.New("verify: wrong issuer")
	ErrAudience     = errors.New("verify: wrong audience")
	ErrType         = errors.New("verify: not an access token")
	ErrRevoked      = errors.New("verify: token revoked")
	ErrFeedStale    = errors.New("verify: revocation feed unreachable for too long")
)

// Claims are the verified claims of an access token. Verify may return the same *Claims for
// repeated verifications of one token (the cache): treat it as read-only.
type Claims struct {
	Issuer    string
	Subject   string
	SessionID string
	ClientID  string
	ID        string // jti
	Scopes    []string
	AMR       []string
	AuthTime  time.Time
	IssuedAt  time.Time
	Expiry    time.Time
	Audience  []string
	// Raw is the JSON claim set, for private claims.
	Raw json.RawMessage
	// Legacy marks a token of an additional (legacy) issuer (WithAdditionalIssuer).
	Legacy bool
}

// HasScope reports whether the token was granted scope.
func (c *Claims) HasScope(scope string) bool {
	for _, s := range c.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

type options struct {
	audience   string
	client     *http.Client
	now        func() time.Time
	leeway     time.Duration
	cacheSize  int
	feedCred   string
	feedPolicy FeedPolicy
	staleAfter time.Duration
	legacy     []LegacyIssuer
	cookie     string
}

// Option configures a Verifier.
type Option func(*options)

// WithAudience sets the audience a token must carry in "aud". Required.
func WithAudience(aud string) Option { return func(o *options) { o.audience = aud } }

// WithHTTPClient sets the client used for discovery, keys and the revocation feed.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.client = c } }

// WithClock sets the clock (tests).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithLeeway sets the clock skew tolerated on exp/nbf/iat (default 30 s, at most 5 min).
func WithLeeway(d time.Duration) Option { return func(o *options) { o.leeway = d } }

// WithCacheSize bounds the verified-token cache (default 100,000 tokens).
func WithCacheSize(n int) Option { return func(o *options) { o.cacheSize = n } }

// Verifier checks access tokens of one issuer. It is safe for concurrent use.
type Verifier struct {
	issuer string
	opt    options
	keys   *keySet

	cacheMu sync.RWMutex
	cache   map[[32]byte]*Claims

	feed   *feed // nil without WithRevocationFeed
	legacy []legacyIssuer

	sessMu   sync.Mutex
	sessions map[[32]byte]sessionEntry
}

// New discovers issuer and fetches its keys. The audience option is required.
func New(ctx context.Context, issuer string, opts ...Option) (*Verifier, error) {
	o := options{client: &http.Client{Timeout: 10 * time.Second}, now: time.Now, leeway: 30 * time.Second, cacheSize: 100_000,
		feedPolicy: FailClosed, staleAfter: 60 * time.Second}
	for _, f := range opts {
		f(&o)
	}
	issuer = strings.TrimRight(issuer, "/")
	switch {
	case issuer == "":
		return nil, errors.New("verify: issuer is required")
	case o.audience == "":
		return nil, errors.New("verify: WithAudience is required: a token for another service must not pass")
	case o.leeway < 0 || o.leeway > jws.MaxLeeway:
		return nil, fmt.Errorf("verify: leeway must be between 0 and %v", jws.MaxLeeway)
	}
	var disc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := getJSON(ctx, o.client, issuer+"/.well-known/openid-configuration", &disc); err != nil {
		return nil, fmt.Errorf("verify: discovery: %w", err)
	}
	if disc.Issuer != issuer {
		return nil, fmt.Errorf("verify: discovery names issuer %q, want %q", disc.Issuer, issuer)
	}
	if disc.JWKSURI == "" {
		return nil, errors.New("verify: discovery has no jwks_uri")
	}
	v := &Verifier{issuer: issuer, opt: o, cache: make(map[[32]byte]*Claims), sessions: make(map[[32]byte]sessionEntry)}
	for _, l := range o.legacy {
		if l.Issuer == "" || l.JWKSURL == "" || l.Audience == "" || l.Issuer == issuer {
			return nil, errors.New("verify: a legacy issuer needs its own Issuer, JWKSURL and Audience")
		}
		if l.Typ == "" {
			l.Typ = jws.TypeJWT
		}
		li := legacyIssuer{cfg: l, keys: &keySet{url: l.JWKSURL, client: o.client, now: o.now}}
		if err := li.keys.refresh(ctx); err != nil {
			return nil, fmt.Errorf("verify: keys of %s: %w", l.Issuer, err)
		}
		v.legacy = append(v.legacy, li)
	}
	v.keys = &keySet{url: disc.JWKSURI, client: o.client, now: o.now}
	if err := v.keys.refresh(ctx); err != nil {
		return nil, fmt.Errorf("verify: keys: %w", err)
	}
	if o.feedCred != "" {
		v.feed = newFeed(issuer, o)
		go v.feed.run()
	}
	return v, nil
}

// Close stops the revocation feed, if any.
func (v *Verifier) Close() {
	if v.feed != nil {
		v.feed.stop()
	}
}

// Verify checks an access token and returns its claims, or an error matching one of the
// package's Err values.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Claims, error) {
	if len(raw) > jws.MaxTokenSize {
		return nil, ErrMalformed
	}
	now := v.opt.now()
	key := sha256.Sum256([]byte(raw))
	v.cacheMu.RLock()
	c, hit := v.cache[key]
	v.cacheMu.RUnlock()
	if hit {
		if now.After(c.Expiry.Add(v.opt.leeway)) {
			v.cacheMu.Lock()
			delete(v.cache, key)
			v.cacheMu.Unlock()
			return nil, ErrExpired
		}
		return c, v.checkRevoked(c, now)
	}
	c, err := v.verifySlow(ctx, raw, now)
	if err != nil {
		return nil, err
	}
	if err := v.checkRevoked(c, now); err != nil {
		return nil, err
	}
	v.cacheMu.Lock()
	if len(v.cache) >= v.opt.cacheSize {
		clear(v.cache) // rare; costs only re-verification
	}
	v.cache[key] = c
	v.cacheMu.Unlock()
	return c, nil
}

func (v *Verifier) checkRevoked(c *Claims, now time.Time) error {
	if v.feed == nil {
		return nil
	}
	return v.feed.check(c, now)
}

func (v *Verifier) verifySlow(ctx context.Context, raw string, now time.Time) (*Claims, error) {
	t, err := jws.Parse(raw) // parsed once: header, claims and signature
	if err != nil {
		return nil, mapErr(err)
	}
	if t.Header.Kid == "" {
		return nil, ErrUnknownKey
	}
	if t.Claims.Issuer != v.issuer && len(v.legacy) > 0 {
		if c, matched, err := v.verifyLegacy(ctx, t, now); matched {
			return c, err
		}
	}
	key, ok := v.keys.Key(t.Header.Kid)
	if !ok {
		v.keys.refreshUnknown(ctx) // a new key may have been published
		if key, ok = v.keys.Key(t.Header.Kid); !ok {
			return nil, ErrUnknownKey
		}
	}
	if err := t.Verify(key); err != nil { // the algorithm is the key's, never the header's
		return nil, mapErr(err)
	}
	if err := jws.Validate(t, jws.Expected{Issuer: v.issuer, Audience: v.opt.audience, Typ: jws.TypeAccessToken, Now: now, Leeway: v.opt.leeway}); err != nil {
		return nil, mapErr(err)
	}
	return claimsOf(t)
}

// claimsOf extracts the claims of a verified, validated token.
func claimsOf(t *jws.Token) (*Claims, error) {
	var pc struct {
		SID      string   `json:"sid"`
		ClientID string   `json:"client_id"`
		Scope    string   `json:"scope"`
		AMR      []string `json:"amr"`
		AuthTime int64    `json:"auth_time"`
	}
	if err := json.Unmarshal(t.Claims.Raw, &pc); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	c := &Claims{Issuer: t.Claims.Issuer, Subject: t.Claims.Subject, SessionID: pc.SID, ClientID: pc.ClientID, ID: t.Claims.ID,
		Scopes: strings.Fields(pc.Scope), AMR: pc.AMR, Audience: t.Claims.Audience, Raw: t.Claims.Raw}
	if pc.AuthTime > 0 {
		c.AuthTime = time.Unix(pc.AuthTime, 0)
	}
	if t.Claims.IssuedAt != nil {
		c.IssuedAt = t.Claims.IssuedAt.Time()
	}
	if t.Claims.Expiry != nil {
		c.Expiry = t.Claims.Expiry.Time()
	}
	return c, nil
}

// mapErr turns jws errors into this package's.
func mapErr(err error) error {
	for _, m := range []struct{ from, to error }{
		{jws.ErrExpired, ErrExpired}, {jws.ErrNotYetValid, ErrNotYetValid}, {jws.ErrBadSignature, ErrBadSignature},
		{jws.ErrUnknownKey, ErrUnknownKey}, {jws.ErrIssuer, ErrIssuer}, {jws.ErrAudience, ErrAudience}, {jws.ErrType, ErrType},
	} {
		if errors.Is(err, m.from) {
			return m.to
		}
	}
	return ErrMalformed
}

// keySet is the issuer's JWKS, kept fresh.
type keySet struct {
	url    string
	client *http.Client
	now    func() time.Time

	refreshing atomic.Bool // one background refresh at a time

	mu          sync.RWMutex
	keys        map[string]jws.PublicKey
	expires     time.Time // when max-age says to refetch
	lastAttempt time.Time // rate limit for refetches on unknown kids
}

// minRefetch is how often an unknown kid may trigger a refetch.
const minRefetch = 10 * time.Second

func (k *keySet) Key(kid string) (jws.PublicKey, bool) {
	k.mu.RLock()
	pk, ok := k.keys[kid]
	stale := k.now().After(k.expires)
	k.mu.RUnlock()
	if stale && k.refreshing.CompareAndSwap(false, true) {
		go func() { // refresh in the background; serve what we have meanwhile
			defer k.refreshing.Store(false)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if k.refresh(ctx) != nil {
				k.mu.Lock()
				k.expires = k.now().Add(minRefetch) // issuer down: keep the keys, retry later
				k.mu.Unlock()
			}
		}()
	}
	return pk, ok
}

func (k *keySet) refreshUnknown(ctx context.Context) {
	k.mu.Lock()
	if k.now().Sub(k.lastAttempt) < minRefetch {
		k.mu.Unlock()
		return
	}
	k.lastAttempt = k.now()
	k.mu.Unlock()
	k.refresh(ctx)
}

// refresh fetches the JWKS; on failure the last good set stays.
func (k *keySet) refresh(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, "GET", k.url, nil)
	if err != nil {
		return err
	}
	res, err := k.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		return fmt.Errorf("jwks: status %d", res.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, jws.MaxJWKSetSize+1))
	if err != nil {
		return err
	}
	list, err := jws.ParseJWKSet(body)
	if err != nil {
		return err
	}
	keys := make(map[string]jws.PublicKey, len(list))
	for _, pk := range list {
		keys[pk.ID] = pk
	}
	maxAge := 5 * time.Minute
	if cc := res.Header.Get("Cache-Control"); cc != "" {
		for _, part := range strings.Split(cc, ",") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(part), "max-age="); ok {
				if n, err := strconv.Atoi(v); err == nil && n >= 0 {
					maxAge = min(time.Duration(n)*time.Second, 24*time.Hour)
				}
			}
		}
	}
	k.mu.Lock()
	k.keys, k.expires = keys, k.now().Add(maxAge)
	k.mu.Unlock()
	return nil
}

func getJSON(ctx context.Context, c *http.Client, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		return fmt.Errorf("%s: status %d", url, res.StatusCode)
	}
	if mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type")); mt != "application/json" {
		return fmt.Errorf("%s: content type %q", url, mt)
	}
	return json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(v)
}
