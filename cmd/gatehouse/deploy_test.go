package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestDeployFilesUseRealSettings: every GATEHOUSE_* variable that the Dockerfile, the compose
// file and the systemd unit set is one the server reads (GATEHOUSE_SITE is Caddy's own), and
// the compose file is well-formed with the three instances, the proxy, PostgreSQL and Redis.
func TestDeployFilesUseRealSettings(t *testing.T) {
	var src strings.Builder
	for _, f := range []string{"config.go", "serve.go", "wire.go"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src.Write(b)
	}
	read := map[string]bool{"GATEHOUSE_SITE": true}
	for _, m := range regexp.MustCompile(`"(GATEHOUSE_[A-Z_]+)"`).FindAllStringSubmatch(src.String(), -1) {
		read[m[1]] = true
	}
	for _, f := range []string{"../../Dockerfile", "../../deploy/compose.yaml", "../../deploy/gatehouse.service"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range regexp.MustCompile(`GATEHOUSE_[A-Z_]+`).FindAllString(string(b), -1) {
			if !read[v] {
				t.Errorf("%s sets %s, which the server does not read", f, v)
			}
		}
	}
	b, err := os.ReadFile("../../deploy/compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Services map[string]struct {
			Environment map[string]string `yaml:"environment"`
			Image       string            `yaml:"image"`
			ReadOnly    bool              `yaml:"read_only"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	for _, name := range []string{"gatehouse-1", "gatehouse-2", "gatehouse-3", "caddy", "postgres", "redis"} {
		if _, ok := c.Services[name]; !ok {
			t.Errorf("compose.yaml has no service %q", name)
		}
	}
	for _, name := range []string{"gatehouse-1", "gatehouse-2", "gatehouse-3"} {
		s := c.Services[name]
		if s.Environment["GATEHOUSE_KEK"] == "" || s.Environment["GATEHOUSE_DATABASE_URL"] == "" || !s.ReadOnly {
			t.Errorf("%s: needs the shared KEK, the database URL and a read-only root", name)
		}
	}
}
