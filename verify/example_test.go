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
		// Follow the revocation feed with an access key scoped gatehouse:revocations (never
		// the management key), so that a logout, a deleted key or a disabled user anywhere
		// ends access here within a second; fail closed if the feed goes silent.
		verify.WithCredentials("<gh_ak_… access key>"),
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
