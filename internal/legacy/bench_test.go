package legacy_test

import (
	"github.com/gatehouse-auth/gatehouse/internal/users"

	"context"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/legacy"
	"github.com/gatehouse-auth/gatehouse/internal/secret"
	"github.com/gatehouse-auth/gatehouse/jws"
)

// BenchmarkExchange measures whole exchanges on SQLite (parse, key from the cache, signature,
// issuer and identity lookups, the replay mark, a new session and its audit events), with
// ES256 legacy tokens signed beforehand. Reported as exchanges/s.
func BenchmarkExchange(b *testing.B) {
	f := newFixture(b, openSQLite(b), generous)
	ctx := context.Background()
	tn := f.idp.tenants["es"]
	es := &legacy.Issuer{Issuer: f.idp.issuer(tn), Audiences: []string{"api"}, Algorithms: []jws.Algorithm{jws.ES256}}
	if err := f.svc.Create(ctx, es, legacy.Actor{}); err != nil {
		b.Fatal(err)
	}
	u := f.mustUser(b, "bench@example.com", true)
	if err := f.db.LinkIdentity(ctx, users.Identity{Issuer: es.Issuer, Subject: "bench", UserID: u.ID}); err != nil {
		b.Fatal(err)
	}
	now := f.clock.Now()
	toks := make([]string, b.N)
	for i := range toks {
		toks[i] = sign(b, tn.keys[0], nil, map[string]any{"iss": es.Issuer, "sub": "bench", "aud": "api", "iat": now.Unix(),
			"exp": now.Add(time.Hour).Unix(), "scope": "x", "jti": secret.NewID()})
	}
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		if _, err := f.svc.Exchange(ctx, toks[i], legacy.TokenTypeAccess, testClient); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "exchanges/s")
}
