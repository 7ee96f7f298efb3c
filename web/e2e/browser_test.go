// Package e2e runs Gatehouse's real-browser tests (docs/browser-sdk.md "Tests"): it builds the
// real binary, starts `gatehouse serve` on free localhost ports, and runs the Node specs in
// this directory (web/e2e/*.mjs), which drive a real Chromium through playwright-core.
//
// Chromium (/usr/bin/chromium, or GATEHOUSE_CHROMIUM) and web/node_modules (`npm ci --prefix
// web`) are needed; without them the tests skip, unless GATEHOUSE_TEST_BROWSER=1 (CI), where
// they fail.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// AdminKey is the management key of every Gatehouse the harness starts.
const AdminKey = "gh_mk_e2e-management-key-0123456789abcdef"

// browserTools returns the Chromium and the web directory (with node_modules), or skips t —
// or fails it when GATEHOUSE_TEST_BROWSER=1 says the browser suite is required.
func browserTools(t *testing.T) (chromium, webDir string) {
	t.Helper()
	if testing.Short() && os.Getenv("GATEHOUSE_TEST_BROWSER") != "1" {
		t.Skip("browser tests skipped in -short mode")
	}
	chromium = os.Getenv("GATEHOUSE_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	webDir, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	if _, err := os.Stat(chromium); err != nil {
		missing = append(missing, fmt.Sprintf("Chromium at %s (apt-get install chromium, or set GATEHOUSE_CHROMIUM)", chromium))
	}
	if _, err := os.Stat(filepath.Join(webDir, "node_modules", "playwright-core")); err != nil {
		missing = append(missing, "web/node_modules (run: npm ci --prefix web)")
	}
	if _, err := exec.LookPath("node"); err != nil {
		missing = append(missing, "node on PATH")
	}
	if len(missing) > 0 {
		msg := "browser tests need " + strings.Join(missing, ", and ")
		if os.Getenv("GATEHOUSE_TEST_BROWSER") == "1" {
			t.Fatal(msg + " (GATEHOUSE_TEST_BROWSER=1 requires them)")
		}
		t.Skip(msg + "; set GATEHOUSE_TEST_BROWSER=1 to make this a failure")
	}
	return chromium, webDir
}

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// gatehouseBinary builds ./cmd/gatehouse once per test process.
func gatehouseBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if buildErr = statSources(); buildErr != nil {
			return
		}
		dir, err := os.MkdirTemp("", "gatehouse-e2e-")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "gatehouse")
		out, err := exec.Command("go", "build", "-o", binary, "github.com/gatehouse-auth/gatehouse/cmd/gatehouse").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./cmd/gatehouse: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

// statSources stats every file of the repository (bar node_modules and .git). The binary and
// the specs are built and run outside the test binary, so go test would otherwise cache a
// result across changes to them; it records the files a test stats and reruns the test when
// one changes.
func statSources() error {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return err
	}
	return filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "node_modules", ".git", "data":
				return filepath.SkipDir
			}
			return nil
		}
		_, err = os.Stat(path)
		return err
	})
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binary != "" {
		os.RemoveAll(filepath.Dir(binary))
	}
	os.Exit(code)
}

// freePort returns a TCP port free on the loopback interface right now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Gatehouse is a running `gatehouse serve`.
type Gatehouse struct {
	// URL is the issuer, http://localhost:<port> (a secure context for Chromium).
	URL  string
	Port int
	logs *bytes.Buffer
}

// StartGatehouse runs the real binary on a free port with a temporary data directory, the
// JSON config file config (may be nil) and extra GATEHOUSE_* variables (KEY=value), and waits
// until it is ready. It stops with the test; its log is shown when the test fails.
func StartGatehouse(t *testing.T, config map[string]any, env ...string) *Gatehouse {
	t.Helper()
	return StartGatehouseOn(t, freePort(t), config, env...)
}

// StartGatehouseOn is StartGatehouse on a port the caller chose (see freePort), for a
// configuration that must name the port before the server starts.
func StartGatehouseOn(t *testing.T, port int, config map[string]any, env ...string) *Gatehouse {
	t.Helper()
	bin := gatehouseBinary(t)
	dir := t.TempDir()
	g := &Gatehouse{URL: fmt.Sprintf("http://localhost:%d", port), Port: port, logs: &bytes.Buffer{}}
	args := []string{"serve"}
	if config != nil {
		b, err := json.Marshal(config)
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, "config.json")
		if err := os.WriteFile(file, b, 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--config", file)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(),
		"GATEHOUSE_ADDR=127.0.0.1:"+strconv.Itoa(port),
		"GATEHOUSE_DATA_DIR="+filepath.Join(dir, "data"),
		"GATEHOUSE_ISSUER="+g.URL,
		"GATEHOUSE_ADMIN_KEY="+AdminKey,
		"GATEHOUSE_DATABASE_URL=",
		"GATEHOUSE_REDIS_URL=",
	)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = g.logs, g.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("gatehouse log:\n%s", g.logs)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(g.URL + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return g
			}
		}
		select {
		case <-done:
			t.Fatalf("gatehouse serve exited:\n%s", g.logs)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("gatehouse serve not ready after 30 s:\n%s", g.logs)
		}
	}
}

// ServeApp serves a test single-page app on its own origin, http://localhost:<port>: an
// index page under a strict CSP (scripts only from itself and the issuer, no inline script)
// whose module app.js imports the SDK from the issuer and exposes window.sdk (the module),
// window.gh (a client; ?margin= sets its refreshMargin) and window.changes (the session ids
// onChange reported, null for a sign-out).
// It serves on ln (see Listen), so that its origin can be configured before it runs.
func ServeApp(t *testing.T, issuer string, ln net.Listener) {
	t.Helper()
	index := `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>SDK test app</title>
<script type="module" src="/app.js"></script></head><body><main><h1>SDK test app</h1></main></body></html>`
	app := fmt.Sprintf(`import * as sdk from '%[1]s/sdk/gatehouse.js'
const margin = Number(new URLSearchParams(location.search).get('margin') || 30)
window.sdk = sdk
window.changes = []
window.gh = sdk.createClient({ issuer: '%[1]s', refreshMargin: margin })
window.gh.onChange((s) => window.changes.push(s ? s.session.id : null))
`, issuer)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", fmt.Sprintf(
			"default-src 'none'; script-src 'self' %[1]s; connect-src %[1]s; base-uri 'none'; frame-ancestors 'none'; form-action 'none'", issuer))
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, index)
	})
	mux.HandleFunc("GET /app.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		io.WriteString(w, app)
	})
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
}

// Listen opens a listener on a free loopback port and returns it with its origin,
// http://localhost:<port>.
func Listen(t *testing.T) (net.Listener, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln, fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
}

// RunSpec runs node web/e2e/<spec> with the harness's environment plus env (KEY=value) and
// shows its output; a non-zero exit fails t.
func RunSpec(t *testing.T, spec string, env ...string) {
	t.Helper()
	chromium, webDir := browserTools(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(webDir, "e2e", spec))
	cmd.Dir = webDir
	cmd.Env = append(os.Environ(), "GATEHOUSE_CHROMIUM="+chromium)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	t.Logf("node e2e/%s:\n%s", spec, out)
	if err != nil {
		t.Fatalf("spec %s failed: %v", spec, err)
	}
}

// accessTTL is the shortest access-token lifetime Gatehouse accepts, so that refreshes come
// quickly; the specs make tokens due sooner still with the SDK's refreshMargin.
const accessTTL = 60

// sdkGatehouse starts a Gatehouse and the test app on its own origin, listed in cors_origins.
func sdkGatehouse(t *testing.T) (issuer, app string) {
	t.Helper()
	browserTools(t)
	ln, app := Listen(t)
	g := StartGatehouse(t, map[string]any{"access_token_ttl": fmt.Sprintf("%ds", accessTTL)},
		"GATEHOUSE_CORS_ORIGINS="+app, "GATEHOUSE_WEBAUTHN_ORIGINS="+app)
	ServeApp(t, g.URL, ln)
	return g.URL, app
}

func TestSDK(t *testing.T) {
	t.Parallel()
	issuer, app := sdkGatehouse(t)
	RunSpec(t, "sdk.mjs", "GATEHOUSE_ISSUER="+issuer, "GATEHOUSE_APP_URL="+app, "GATEHOUSE_ACCESS_TTL="+strconv.Itoa(accessTTL))
}

func TestSDKTabs(t *testing.T) {
	t.Parallel()
	issuer, app := sdkGatehouse(t)
	RunSpec(t, "sdk-tabs.mjs", "GATEHOUSE_ISSUER="+issuer, "GATEHOUSE_APP_URL="+app, "GATEHOUSE_ACCESS_TTL="+strconv.Itoa(accessTTL))
}
