package cli_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestServePprofServesProfilesOnLoopback: `serve --pprof 127.0.0.1:0`
// announces where the profiles are, serves them there (a goroutine dump
// that names the daemon's code), and not on the API listener.
func TestServePprofServesProfilesOnLoopback(t *testing.T) {
	dataDir := t.TempDir()
	p := startCLI(t, t.TempDir(), "serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir, "--workers", "2", "--pprof", "127.0.0.1:0")
	urlRe := regexp.MustCompile(`profiles on (http://127\.0\.0\.1:\d+/debug/pprof/)`)
	apiRe := regexp.MustCompile(`flowweaver listening on (http://\S+)`)
	waitFor(t, "pprof and API addresses", func() bool {
		return urlRe.MatchString(p.stderr.String()) && apiRe.MatchString(p.stdout.String())
	})
	pprofURL := urlRe.FindStringSubmatch(p.stderr.String())[1]
	apiURL := apiRe.FindStringSubmatch(p.stdout.String())[1]

	resp, err := http.Get(pprofURL + "goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "flowweaver/backend/") {
		t.Fatalf("goroutine profile: status %d, body:\n%.500s", resp.StatusCode, body)
	}

	resp, err = http.Get(strings.TrimSuffix(apiURL, "/") + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(body), "goroutine profile:") {
		t.Fatalf("the API listener serves profiles (status %d)", resp.StatusCode)
	}
}

// TestServePprofRefusesNonLoopback: profiles are never offered to the
// network, not even with --allow-remote; the refusal is a usage error
// (exit 2) that names the flag, before the data dir is created.
func TestServePprofRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "not-an-address"} {
		dataDir := filepath.Join(t.TempDir(), "data")
		_, stderr, code := runCLI(t, t.TempDir(), "serve", "--addr", "127.0.0.1:0", "--allow-remote", "--data-dir", dataDir, "--pprof", addr)
		if code != 2 || !strings.Contains(stderr, "--pprof") {
			t.Errorf("--pprof %q: exit %d, stderr %q; want exit 2 naming --pprof", addr, code, stderr)
		}
		if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
			t.Errorf("--pprof %q: data dir was created before the flag was refused", addr)
		}
	}
}
