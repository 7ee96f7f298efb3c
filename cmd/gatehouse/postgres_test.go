package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	goredis "github.com/redis/go-redis/v9"

	"github.com/gatehouse-auth/gatehouse/internal/secret"
)

// testDatabase creates a fresh PostgreSQL database for the test and returns its URL. It skips
// when no server is reachable and GATEHOUSE_TEST_POSTGRES is unset; CI sets it (required).
func testDatabase(t testing.TB) string {
	t.Helper()
	admin := os.Getenv("GATEHOUSE_TEST_POSTGRES")
	required := admin != ""
	if !required {
		admin = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable&connect_timeout=2"
	}
	ctx := context.Background()
	c, err := pgx.Connect(ctx, admin)
	if err != nil {
		if required {
			t.Fatalf("GATEHOUSE_TEST_POSTGRES is set but unreachable: %v", err)
		}
		t.Skipf("PostgreSQL tests skipped: no server at 127.0.0.1:5432 and GATEHOUSE_TEST_POSTGRES unset (%v)", err)
	}
	defer c.Close(ctx)
	name := "gh_test_" + secret.NewID()
	if _, err := c.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), admin)
		if err == nil {
			c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(context.Background())
		}
	})
	u, _ := url.Parse(admin)
	u.Path = "/" + name
	return u.String()
}

// TestTwoInstancesOnPostgres: two servers share one database and key-encryption key. A
// session made on A works on B; ended on B, it stops working on A within a second.
// TestMigrateCommandOnPostgres: `gatehouse migrate` applies the schema itself and reports what
// it applied; a second run applies nothing.
func TestMigrateCommandOnPostgres(t *testing.T) {
	dbURL := testDatabase(t)
	var out strings.Builder
	err := run(context.Background(), runEnv{args: []string{"migrate", "--database-url", dbURL, "--data-dir", t.TempDir()},
		getenv: func(string) string { return "" }, stdin: strings.NewReader(""), stdout: &out, stderr: io.Discard})
	if err != nil || !regexp.MustCompile(`applied now: \[1 2( [0-9]+)*\]`).MatchString(out.String()) {
		t.Fatalf("migrate: %v %q", err, out.String())
	}
	out.Reset()
	run(context.Background(), runEnv{args: []string{"migrate", "--database-url", dbURL, "--data-dir", t.TempDir()},
		getenv: func(string) string { return "" }, stdin: strings.NewReader(""), stdout: &out, stderr: io.Discard})
	if !strings.Contains(out.String(), "[]") {
		t.Fatalf("second migrate applied something: %q", out.String())
	}
}

func TestTwoInstancesOnPostgres(t *testing.T) {
	dbURL := testDatabase(t)
	k := make([]byte, 32)
	rand.Read(k)
	env := map[string]string{"GATEHOUSE_KEK": base64.StdEncoding.EncodeToString(k), "GATEHOUSE_ADMIN_KEY": strings.Repeat("m", 40)}
	a := startServer(t, t.TempDir(), env, "--database-url", dbURL)
	b := startServer(t, t.TempDir(), env, "--database-url", dbURL)

	res, body := postJSON(t, http.DefaultClient, a.url+"/v1/signup", map[string]string{"email": "pg@example.com", "password": "correct horse battery staple"})
	if res.StatusCode != 201 {
		t.Fatalf("signup on A: %d %v", res.StatusCode, body)
	}
	var cookie *http.Cookie
	for _, c := range res.Cookies() {
		cookie = c
	}
	hdr := []string{"Cookie", cookie.Name + "=" + cookie.Value}
	if res, _ := get(t, http.DefaultClient, a.url+"/v1/session", hdr...); res.StatusCode != 200 {
		t.Fatalf("session on A: %d", res.StatusCode)
	}
	if res, _ := get(t, http.DefaultClient, b.url+"/v1/session", hdr...); res.StatusCode != 200 {
		t.Fatalf("session made on A rejected by B: %d", res.StatusCode)
	}
	// Token delivery on B, refresh on A: the same keys and refresh secret everywhere.
	res, tb := postJSON(t, http.DefaultClient, b.url+"/v1/login", map[string]string{"email": "pg@example.com", "password": "correct horse battery staple", "delivery": "token"})
	if res.StatusCode != 200 {
		t.Fatalf("token login on B: %d %v", res.StatusCode, tb)
	}
	form := url.Values{"grant_type": {"refresh_token"}, "client_id": {"gatehouse"}, "refresh_token": {tb["refresh_token"].(string)}}
	r, err := http.PostForm(a.url+"/oauth/token", form)
	if err != nil || r.StatusCode != 200 {
		t.Fatalf("refresh on A of a token from B: %v %v", r, err)
	}
	r.Body.Close()

	res, _ = postJSON(t, http.DefaultClient, b.url+"/v1/logout", map[string]string{}, hdr...)
	if res.StatusCode != 204 {
		t.Fatalf("logout on B: %d", res.StatusCode)
	}
	deadline := time.Now().Add(time.Second)
	for {
		res, _ := get(t, http.DefaultClient, a.url+"/v1/session", hdr...)
		if res.StatusCode == 401 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("A still accepts a session ended on B after 1 s (status %d)", res.StatusCode)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// testRedis returns the Redis URL for tests and a fresh key prefix whose keys are removed
// afterwards; it skips like testDatabase when no server is there and GATEHOUSE_TEST_REDIS is
// unset.
func testRedis(t testing.TB) (url, prefix string) {
	t.Helper()
	url = os.Getenv("GATEHOUSE_TEST_REDIS")
	required := url != ""
	if !required {
		url = "redis://127.0.0.1:6379/0"
	}
	opt, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	r := goredis.NewClient(opt)
	ctx := context.Background()
	if err := r.Ping(ctx).Err(); err != nil {
		r.Close()
		if required {
			t.Fatalf("GATEHOUSE_TEST_REDIS is set but unreachable: %v", err)
		}
		t.Skipf("Redis tests skipped: no server at 127.0.0.1:6379 and GATEHOUSE_TEST_REDIS unset (%v)", err)
	}
	prefix = "gh_test_" + secret.NewID() + ":"
	t.Cleanup(func() {
		if keys, _ := r.Keys(ctx, prefix+"*").Result(); len(keys) > 0 {
			r.Del(ctx, keys...)
		}
		r.Close()
	})
	return url, prefix
}

// TestInstancesShareLimitsThroughRedis: sign-up limits are per client IP across all instances
// when Redis is configured (10 from one IP, however they are spread), and a revocation on
// one instance reaches the other through pub/sub.
func TestInstancesShareLimitsThroughRedis(t *testing.T) {
	dbURL := testDatabase(t)
	redisURL, prefix := testRedis(t)
	k := make([]byte, 32)
	rand.Read(k)
	env := map[string]string{"GATEHOUSE_KEK": base64.StdEncoding.EncodeToString(k), "GATEHOUSE_ADMIN_KEY": strings.Repeat("m", 40), "GATEHOUSE_REDIS_PREFIX": prefix}
	a := startServer(t, t.TempDir(), env, "--database-url", dbURL, "--redis-url", redisURL)
	b := startServer(t, t.TempDir(), env, "--database-url", dbURL, "--redis-url", redisURL)
	var codes []int
	for i := range 12 {
		srv := a
		if i%2 == 1 {
			srv = b
		}
		res, _ := postJSON(t, http.DefaultClient, srv.url+"/v1/signup", map[string]string{"email": fmt.Sprintf("r%d@example.com", i), "password": "correct horse battery staple"})
		codes = append(codes, res.StatusCode)
	}
	for i, c := range codes {
		want := 201
		if i >= 10 {
			want = 429
		}
		if c != want {
			t.Fatalf("sign-up %d answered %d, want %d (all: %v): limits are not shared", i+1, c, want, codes)
		}
	}
}

// TestDoctorOnPostgresAndRedis: doctor checks the database and Redis, their clocks included.
func TestDoctorOnPostgresAndRedis(t *testing.T) {
	dbURL := testDatabase(t)
	redisURL, prefix := testRedis(t)
	k := make([]byte, 32)
	rand.Read(k)
	env := map[string]string{"GATEHOUSE_KEK": base64.StdEncoding.EncodeToString(k), "GATEHOUSE_REDIS_PREFIX": prefix}
	args := []string{"--database-url", dbURL, "--redis-url", redisURL}
	startServer(t, t.TempDir(), env, args...).stop()
	var out strings.Builder
	err := run(context.Background(), runEnv{args: append([]string{"doctor", "--data-dir", t.TempDir()}, args...),
		getenv: func(k string) string { return env[k] }, stdin: strings.NewReader(""), stdout: &out, stderr: io.Discard})
	if err != nil {
		t.Fatalf("doctor: %v\n%s", err, out.String())
	}
	for _, want := range []string{"ok    database clock", "ok    redis ", "ok    redis clock", "ok    signing keys"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("doctor output lacks %q:\n%s", want, out.String())
		}
	}
}
