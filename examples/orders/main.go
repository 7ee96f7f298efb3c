// Command orders is a tiny resource server protected by Gatehouse access tokens, checked
// locally with the verify package. Run Gatehouse, make the service an access key that may
// read the revocation feed, then:
//
//	GATEHOUSE_ACCESS_KEY=<gh_ak_… key with scope gatehouse:revocations> go run ./examples/orders
//	curl -H "Authorization: Bearer $ACCESS" localhost:9090/orders
//
// The access key lets it follow the revocation feed (a logout, a deleted key or a disabled
// user anywhere ends access here within a second); without it, tokens stay valid until they
// expire. It never needs the management key.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"log"
	"net/http"
	"os"

	"github.com/gatehouse-auth/gatehouse/verify"
)

func main() {
	issuer := flag.String("issuer", "http://localhost:8080", "Gatehouse issuer URL")
	addr := flag.String("addr", ":9090", "listen address")
	flag.Parse()
	opts := []verify.Option{verify.WithAudience("gatehouse")}
	if k := os.Getenv("GATEHOUSE_ACCESS_KEY"); k != "" {
		opts = append(opts, verify.WithCredentials(k))
	}
	v, err := verify.New(context.Background(), *issuer, opts...)
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	log.Printf("orders API on %s, trusting %s", *addr, *issuer)
	log.Fatal(http.ListenAndServe(*addr, routes(v)))
}

// routes is the API: GET /orders needs any valid token; POST /orders needs scope orders:write.
func routes(v *verify.Verifier) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /orders", v.Middleware(http.HandlerFunc(listOrders)))
	mux.Handle("POST /orders", v.Middleware(verify.RequireScope("orders:write")(http.HandlerFunc(listOrders))))
	return mux
}

func listOrders(w http.ResponseWriter, r *http.Request) {
	c, _ := verify.ClaimsFrom(r.Context())
	w.Header().Set("Content-Type", "application/json")
	// A person's token names its session; a service's token (from an access key) its key.
	json.NewEncoder(w).Encode(map[string]any{"user": c.Subject, "session": c.SessionID, "client": c.ClientID, "orders": []string{"#1001", "#1002"}})
}
