package sqlite

import (
	"context"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/keys"
	"github.com/gatehouse-auth/gatehouse/jws"
)

var _ keys.Store = (*DB)(nil)

// CreateSigningKey implements keys.Store.
func (db *DB) CreateSigningKey(ctx context.Context, k *keys.SigningKey) error {
	_, err := db.exec(ctx, "INSERT INTO signing_keys (id, algorithm, private_key, created_at, active_at, retire_at) VALUES (?, ?, ?, ?, ?, ?)",
		k.ID, string(k.Algorithm), k.PrivateKey, toDB(k.CreatedAt), toDB(k.ActiveAt), toDB(k.RetireAt))
	return unavailable(err)
}

// SigningKeys implements keys.Store.
func (db *DB) SigningKeys(ctx context.Context) ([]*keys.SigningKey, error) {
	rows, err := db.query(ctx, false, "SELECT id, algorithm, private_key, created_at, active_at, retire_at FROM signing_keys ORDER BY active_at, id")
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	var out []*keys.SigningKey
	for rows.Next() {
		var k keys.SigningKey
		var alg string
		var created, active, retire int64
		if err := rows.Scan(&k.ID, &alg, &k.PrivateKey, &created, &active, &retire); err != nil {
			return nil, unavailable(err)
		}
		k.Algorithm = jws.Algorithm(alg)
		k.CreatedAt, k.ActiveAt, k.RetireAt = fromDB(created), fromDB(active), fromDB(retire)
		out = append(out, &k)
	}
	return out, unavailable(rows.Err())
}

// RetireSigningKeys implements keys.Store.
func (db *DB) RetireSigningKeys(ctx context.Context, keep string, activeBefore, at time.Time) error {
	_, err := db.exec(ctx,
		"UPDATE signing_keys SET retire_at = ? WHERE id != ? AND active_at < ? AND (retire_at = 0 OR retire_at > ?)",
		toDB(at), keep, toDB(activeBefore), toDB(at))
	return unavailable(err)
}
