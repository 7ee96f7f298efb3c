package redis

import (
	"context"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/mfa"
)

var _ mfa.UsedCodes = (*Client)(nil)

// MarkUsed implements mfa.UsedCodes with SET NX PX: atomic on the server, so of concurrent
// marks of one key from any number of instances exactly one is first. The record lives for
// until-now (the caller's clock); Redis expires it by itself.
func (c *Client) MarkUsed(ctx context.Context, key string, now, until time.Time) (bool, error) {
	ttl := until.Sub(now)
	if ttl <= 0 {
		return true, nil // already past: nothing it could still protect
	}
	ok, err := c.rdb.SetNX(ctx, c.prefix+"used:"+key, "", max(ttl, time.Millisecond)).Result()
	if err != nil {
		return false, unavailable(err)
	}
	return ok, nil
}

// Prefix returns the key prefix of c, so that a second client (another instance, in tests)
// can share its keys.
func (c *Client) Prefix() string { return c.prefix }
