package redis

import (
	"context"
	"time"
)

// ServerTime returns the Redis server's clock, for checking clock skew between instances.
func (c *Client) ServerTime(ctx context.Context) (time.Time, error) {
	t, err := c.rdb.Time(ctx).Result()
	return t, unavailable(err)
}
