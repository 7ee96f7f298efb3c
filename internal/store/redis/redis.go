// Package redis is the optional shared, fast layer for several Gatehouse instances (never the
// source of truth): rate-limit buckets shared by every instance (GCRA in a Lua script, so one
// round trip and atomic), and a pub/sub channel that tells every instance at once that the
// revocation log has new entries.
package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/gatehouse-auth/gatehouse/internal/onetime"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// Client is a connection pool to Redis with a key prefix (so several deployments, or tests,
// can share one server).
type Client struct {
	rdb    *goredis.Client
	prefix string
}

var _ ratelimit.Store = (*Client)(nil)

// New returns a client for url (redis://…) without contacting the server: it connects on
// first use and reconnects by itself, so a Redis that is down at start can come later.
func New(url, prefix string) (*Client, error) {
	opt, err := goredis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis url: %w", err)
	}
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = 2*time.Second, time.Second, time.Second
	opt.MaxRetries = -1 // fail fast: callers fall back (ratelimit.Fallback) instead of waiting
	return &Client{rdb: goredis.NewClient(opt), prefix: prefix}, nil
}

// Open is New followed by a check that the server answers.
func Open(ctx context.Context, url, prefix string) (*Client, error) {
	c, err := New(url, prefix)
	if err != nil {
		return nil, err
	}
	if err := c.Ping(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Close closes the pool.
func (c *Client) Close() error { return c.rdb.Close() }

// Ping checks that Redis answers.
func (c *Client) Ping(ctx context.Context) error { return unavailable(c.rdb.Ping(ctx).Err()) }

func unavailable(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: redis: %v", store.ErrUnavailable, err)
}

// gcra is ratelimit's GCRA (see ratelimit.conform) in Lua, in microseconds (Lua numbers are
// doubles: nanosecond timestamps would lose precision). ARGV: now, per, burst, consume.
// Returns {allowed, remaining, retry_after_us}. The key expires when the bucket is full again.
var gcra = goredis.NewScript(`
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local now = tonumber(ARGV[1])
local per = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
if tat < now then tat = now end
local newtat = tat + per
local allowat = newtat - burst * per
if now < allowat then return {0, 0, allowat - now} end
if ARGV[4] == '1' then
  redis.call('SET', KEYS[1], string.format('%d', newtat), 'PX', math.ceil((newtat - now) / 1000) + 1)
end
return {1, math.floor((now - allowat) / per), 0}
`)

func (c *Client) bucket(ctx context.Context, key string, l ratelimit.Limit, now time.Time, consume bool) (ratelimit.Result, error) {
	if err := l.Validate(); err != nil {
		return ratelimit.Result{}, err
	}
	flag := "0"
	if consume {
		flag = "1"
	}
	per := max(l.Per.Microseconds(), 1)
	v, err := gcra.Run(ctx, c.rdb, []string{c.prefix + "rl:" + key}, now.UnixMicro(), per, l.Burst, flag).Int64Slice()
	if err != nil {
		return ratelimit.Result{}, unavailable(err)
	}
	if len(v) != 3 {
		return ratelimit.Result{}, unavailable(errors.New("gcra script: unexpected reply"))
	}
	return ratelimit.Result{Allowed: v[0] == 1, Remaining: int(v[1]), RetryAfter: time.Duration(v[2]) * time.Microsecond}, nil
}

// Allow implements ratelimit.Store.
func (c *Client) Allow(ctx context.Context, key string, l ratelimit.Limit, now time.Time) (ratelimit.Result, error) {
	return c.bucket(ctx, key, l, now, true)
}

// Peek implements ratelimit.Store.
func (c *Client) Peek(ctx context.Context, key string, l ratelimit.Limit, now time.Time) (ratelimit.Result, error) {
	return c.bucket(ctx, key, l, now, false)
}

// Reset implements ratelimit.Store.
func (c *Client) Reset(ctx context.Context, key string) error {
	return unavailable(c.rdb.Del(ctx, c.prefix+"rl:"+key).Err())
}

func (c *Client) channel() string { return c.prefix + "revocations" }

// Announce tells every instance that the revocation log has new entries.
func (c *Client) Announce(ctx context.Context) error {
	return unavailable(c.rdb.Publish(ctx, c.channel(), strconv.FormatInt(time.Now().UnixNano(), 10)).Err())
}

// Listen calls poke for every announcement until ctx ends. go-redis resubscribes by itself
// after a connection loss; announcements missed meanwhile are covered by the periodic read of
// the revocation log, which Redis only makes faster.
func (c *Client) Listen(ctx context.Context, poke func()) {
	sub := c.rdb.Subscribe(ctx, c.channel())
	defer sub.Close()
	ch := sub.Channel()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-ch:
			if !ok {
				return
			}
			poke()
		}
	}
}

var _ onetime.Store = (*Client)(nil)

// PutCode implements onetime.Store (SET with expiry; expires is turned into a TTL).
func (c *Client) PutCode(ctx context.Context, key string, value []byte, expires time.Time) error {
	ttl := time.Until(expires)
	if ttl <= 0 {
		return nil // already expired: nothing to keep
	}
	return unavailable(c.rdb.Set(ctx, c.prefix+"otc:"+key, value, ttl).Err())
}

// ConsumeCode implements onetime.Store with GETDEL: atomic, so exactly one caller gets it.
// Redis expires the key itself; now is not consulted.
func (c *Client) ConsumeCode(ctx context.Context, key string, now time.Time) ([]byte, error) {
	v, err := c.rdb.GetDel(ctx, c.prefix+"otc:"+key).Bytes()
	if errors.Is(err, goredis.Nil) {
		return nil, onetime.ErrNotFound
	}
	return v, unavailable(err)
}
