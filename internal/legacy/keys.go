package legacy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/jws"
)

// errUnreachable reports that an issuer's keys could not be fetched and none are cached.
var errUnreachable = errors.New("issuer's keys unreachable")

// keyCache keeps each legacy issuer's JWKS the way the verify package does: refreshed when
// Cache-Control max-age says, refetched when a token names an unknown kid (at most every
// minRefetch), and kept when the issuer is down. Fetches are synchronous, bounded by the
// HTTP client's timeout, and one at a time per issuer; while an issuer with no cached keys is
// down, exchanges fail at once until minRefetch has passed since the last attempt.
type keyCache struct {
	client     *http.Client
	now        func() time.Time
	minRefetch time.Duration

	mu   sync.Mutex
	sets map[string]*keySet // by issuer URL
}

type keySet struct {
	fetchMu sync.Mutex // one fetch at a time

	mu          sync.Mutex
	config      string // JWKS URI and algorithms the keys were fetched for
	jwksURI     string // discovered when the issuer has none configured
	keys        jws.Keys
	expires     time.Time
	lastAttempt time.Time
	lastErr     error
}

func newKeyCache(client *http.Client, now func() time.Time, minRefetch time.Duration) *keyCache {
	return &keyCache{client: client, now: now, minRefetch: minRefetch, sets: make(map[string]*keySet)}
}

func (c *keyCache) set(is *Issuer) *keySet {
	cfg := is.JWKSURI + "\x00" + fmt.Sprint(is.Algorithms)
	c.mu.Lock()
	defer c.mu.Unlock()
	ks := c.sets[is.Issuer]
	if ks == nil || ks.config != cfg { // new issuer, or its settings changed: start afresh
		ks = &keySet{config: cfg, jwksURI: is.JWKSURI}
		c.sets[is.Issuer] = ks
	}
	return ks
}

// forget drops an issuer's keys (it was deleted).
func (c *keyCache) forget(issuer string) {
	c.mu.Lock()
	delete(c.sets, issuer)
	c.mu.Unlock()
}

func (ks *keySet) lookup(kid string) (jws.PublicKey, bool, time.Time, bool) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	k, ok := ks.keys.Key(kid)
	return k, ok, ks.expires, ks.keys != nil
}

// key returns the issuer's key for kid. It returns jws.ErrUnknownKey when the (fresh) key
// set has no such key and errUnreachable when no key set could ever be fetched.
func (c *keyCache) key(ctx context.Context, is *Issuer, kid string) (jws.PublicKey, error) {
	ks := c.set(is)
	k, ok, expires, _ := ks.lookup(kid)
	if ok && c.now().Before(expires) {
		return k, nil
	}
	// Stale or unknown: refetch (rate-limited). A failed refetch keeps the last good set, so
	// the key is still found; a key the issuer has withdrawn is not.
	c.refresh(ctx, is, ks)
	if k, ok, _, have := ks.lookup(kid); ok {
		return k, nil
	} else if !have {
		ks.mu.Lock()
		err := ks.lastErr
		ks.mu.Unlock()
		return jws.PublicKey{}, fmt.Errorf("%w: %v", errUnreachable, err)
	}
	return jws.PublicKey{}, jws.ErrUnknownKey
}

// refresh fetches the key set unless another fetch happened within minRefetch. On failure
// the last good set stays.
func (c *keyCache) refresh(ctx context.Context, is *Issuer, ks *keySet) {
	ks.fetchMu.Lock()
	defer ks.fetchMu.Unlock()
	now := c.now()
	ks.mu.Lock()
	if !ks.lastAttempt.IsZero() && now.Sub(ks.lastAttempt) < c.minRefetch {
		ks.mu.Unlock()
		return // fetched (or tried) a moment ago, maybe by a concurrent exchange
	}
	ks.lastAttempt = now
	uri := ks.jwksURI
	ks.mu.Unlock()

	keys, maxAge, discovered, err := c.fetch(ctx, is, uri)
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if err != nil {
		ks.lastErr = err
		if ks.keys != nil {
			ks.expires = now.Add(c.minRefetch) // issuer down: keep the keys, retry later
		}
		return
	}
	ks.keys, ks.expires, ks.lastErr = keys, now.Add(maxAge), nil
	if ks.jwksURI == "" {
		ks.jwksURI = discovered
	}
}

// fetch gets the key set, discovering its URI first when uri is empty.
func (c *keyCache) fetch(ctx context.Context, is *Issuer, uri string) (jws.Keys, time.Duration, string, error) {
	if uri == "" {
		var err error
		if uri, err = c.discover(ctx, is.Issuer); err != nil {
			return nil, 0, "", err
		}
	}
	res, err := c.get(ctx, uri)
	if err != nil {
		return nil, 0, "", err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, jws.MaxJWKSetSize+1))
	if err != nil {
		return nil, 0, "", fmt.Errorf("jwks: %w", err)
	}
	keys, err := jws.ParseForeignJWKSet(body, is.Algorithms)
	if err != nil {
		return nil, 0, "", fmt.Errorf("jwks: %w", err)
	}
	return keys, c.maxAge(res.Header.Get("Cache-Control")), uri, nil
}

// maxAge reads Cache-Control (RFC 9111 §5.2.2.1): max-age when given (no-store and no-cache
// mean refetch as soon as allowed), bounded to [minRefetch, 24 h]; 5 minutes by default.
func (c *keyCache) maxAge(cc string) time.Duration {
	age := 5 * time.Minute
	for _, part := range strings.Split(cc, ",") {
		part = strings.ToLower(strings.TrimSpace(part))
		if v, ok := strings.CutPrefix(part, "max-age="); ok {
			if n, err := strconv.Atoi(v); err == nil && n >= 0 {
				age = time.Duration(n) * time.Second
			}
		} else if part == "no-store" || part == "no-cache" {
			age = 0
		}
	}
	return min(max(age, c.minRefetch), 24*time.Hour)
}

// discover reads the jwks_uri of the issuer's OpenID Connect discovery document (OpenID
// Connect Discovery 1.0 §4), which must name the issuer exactly.
func (c *keyCache) discover(ctx context.Context, issuer string) (string, error) {
	res, err := c.get(ctx, strings.TrimSuffix(issuer, "/")+"/.well-known/openid-configuration")
	if err != nil {
		return "", fmt.Errorf("discovery: %w", err)
	}
	defer res.Body.Close()
	if mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type")); mt != "application/json" {
		return "", fmt.Errorf("discovery: content type %q", mt)
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&doc); err != nil {
		return "", fmt.Errorf("discovery: %w", err)
	}
	if doc.Issuer != issuer {
		return "", errors.New("discovery: the document names another issuer")
	}
	if err := checkURL(doc.JWKSURI); err != nil {
		return "", fmt.Errorf("discovery: jwks_uri %v", err)
	}
	return doc.JWKSURI, nil
}

func (c *keyCache) get(ctx context.Context, uri string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	res, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		res.Body.Close()
		return nil, fmt.Errorf("%s answered %d", req.URL.Redacted(), res.StatusCode)
	}
	return res, nil
}
