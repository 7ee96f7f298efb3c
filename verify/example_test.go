package verify_test

import (
	"context"
	"fmt"
	"log"
	"net/http"

	"github.com/gatehouse-auth/gatehouse/verify"
)

// A resource server protecting an orders API with Gatehouse access tokens.
func Example() {
	ctx := context.Background()
	v, err := verify.New(ctx, "http://localhost:8080",
		verify.WithAudience("gatehouse"),
		// Follow the revocation feed (management key or resource-server credential) so that
		// a logout anywhere ends access here within a second; fail closed if it goes silent.
		verify.WithRevocationFeed("<credential>"),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	orders := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := verify.ClaimsFrom(r.Context())
		fmt.Fprintf(w, "orders of %s\n", c.Subject)
	})
	http.Handle("/orders", v.Middleware(verify.RequireScope("orders:read")(orders)))
	log.Fatal(http.ListenAndServe(":9090", nil))
}
