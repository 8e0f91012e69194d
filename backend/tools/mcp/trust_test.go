package mcp

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/tools"
	"github.com/flowweaver/flowweaver/backend/trust"
)

// recordingEnv fails the test on any lookup: a held-back entry must not
// read the environment at all.
func recordingEnv(t *testing.T) expandEnv {
	return func(name string) (string, bool) {
		t.Errorf("environment variable %s was looked up for a held-back entry", name)
		return "leaked", true
	}
}

func TestHeldBackEntriesAreNotExpanded(t *testing.T) {
	dir := t.TempDir()
	files := []fileState{
		{exists: true, data: []byte(`{"mcpServers": {"a": {"command": "${CMD}", "args": ["${X:-y}"], "env": {"T": "${TOKEN}", "S": "${secret:API_KEY}"}}}}`)},
		{},
		{exists: true, data: []byte(`{"servers": {"b": {"url": "https://h/${env:SECRET}", "headers": {"A": "${env:SECRET}"}}}}`)},
	}
	for _, g := range []string{StatusUntrusted, StatusPending} {
		secret := func(name string) (string, error) {
			t.Errorf("secret %s was looked up for a held-back entry", name)
			return "leaked", nil
		}
		got := parseGated(dir, files, recordingEnv(t), secret, func(string, string, string) string { return g })
		if len(got.servers) != 2 || len(got.errs) != 0 {
			t.Fatalf("%s: %+v", g, got)
		}
		a, b := got.servers["a"], got.servers["b"]
		if a.Gate != g || a.Type != typeStdio || a.Command != "" || len(a.Env) != 0 || b.Gate != g || b.Type != typeHTTP || b.URL != "" {
			t.Fatalf("%s: held-back configs carry more than name, file and type: %+v %+v", g, a, b)
		}
		if got.fps["a"] == "" || got.fps["a"] == got.fps["b"] {
			t.Fatalf("fingerprints: %v", got.fps)
		}
	}
}

// A fingerprint ignores formatting and comments but changes with anything
// the server would run or receive, including its envFile.
func TestEntryFingerprint(t *testing.T) {
	dir := t.TempDir()
	cf := configFiles[0]
	fp := func(raw string) string { return entryFingerprint(dir, cf, "s", json.RawMessage(raw)) }
	base := fp(`{"command":"node","args":["a.js"]}`)
	if fp(`{ "args": ["a.js"],   "command": "node" }`) != base {
		t.Fatal("re-ordering keys changed the fingerprint")
	}
	if fp(`{"command":"node","args":["b.js"]}`) == base || entryFingerprint(dir, cf, "t", json.RawMessage(`{"command":"node","args":["a.js"]}`)) == base ||
		entryFingerprint(dir, configFiles[1], "s", json.RawMessage(`{"command":"node","args":["a.js"]}`)) == base {
		t.Fatal("a different command, name or file kept the fingerprint")
	}
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte("A=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	withEnv := fp(`{"command":"node","envFile":".env"}`)
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte("A=1\nNODE_OPTIONS=--require ./evil.js\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if fp(`{"command":"node","envFile":".env"}`) == withEnv {
		t.Fatal("changing the envFile kept the fingerprint")
	}
	servers, _ := Inspect(writeConfig(t, dir, `{"mcpServers": {"s": {"command": "node", "envFile": ".env", "env": {"B": "${HOME}"}}}}`))
	if len(servers) != 1 || strings.Join(servers[0].Env, ",") != "A,B,NODE_OPTIONS" || strings.Join(servers[0].Variables, ",") != "HOME" || !servers[0].InheritsEnvironment {
		t.Fatalf("preview: %+v", servers)
	}
}

func writeConfig(t *testing.T, dir, data string) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, ".mcp.json"), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

type gateFuncs func(projectID string, e trust.Entry) trust.Decision

func (g gateFuncs) MCPDecision(_ context.Context, projectID string, e trust.Entry) trust.Decision {
	return g(projectID, e)
}

// Through the Source: an untrusted project's server is listed as untrusted,
// never started, and calling its tool is refused with code untrusted.
func TestSourceHoldsBackUntrustedServers(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ran")
	dir := writeConfig(t, t.TempDir(), `{"mcpServers": {"x": {"command": "sh", "args": ["-c", "touch '`+marker+`'"]}}}`)
	src, err := New(Options{PollInterval: -1, LookupEnv: recordingEnv(t),
		Trust: gateFuncs(func(string, trust.Entry) trust.Decision { return trust.Untrusted })})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = src.Close() }()
	p := flow.Project{ID: "p1", Path: dir}
	list, err := src.Tools(context.Background(), p)
	if err != nil || len(list) != 0 {
		t.Fatalf("tools: %v %v", list, err)
	}
	st := src.Status("p1")
	if len(st) != 1 || st[0].Status != StatusUntrusted || st[0].Fingerprint == "" || st[0].Error == "" {
		t.Fatalf("status: %+v", st)
	}
	_, err = src.Run(context.Background(), "mcp:x/anything", tools.Call{Project: p})
	if flow.ErrorCode(err) != flow.EUNTRUSTED {
		t.Fatalf("call: %v", err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the untrusted server was started")
	}
}

// A folder can bring a symlink to /dev/zero (git stores symlinks), a FIFO
// or a huge file as .mcp.json or as an envFile: the review and the tool
// listing must answer at once with a problem instead of hanging or
// exhausting memory.
func TestHostileConfigFilesAreRefusedNotRead(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero on this system")
	}
	for name, setup := range map[string]func(dir string) error{
		"symlink to /dev/zero": func(dir string) error { return os.Symlink("/dev/zero", filepath.Join(dir, ".mcp.json")) },
		"fifo":                 func(dir string) error { return mkfifo(filepath.Join(dir, ".mcp.json")) },
		"huge file": func(dir string) error {
			return os.WriteFile(filepath.Join(dir, ".mcp.json"), []byte(`{"mcpServers": {"x": {"command": "`+strings.Repeat("a", maxProjectFileBytes)+`"}}}`), 0o644)
		},
		"envFile to /dev/zero": func(dir string) error {
			return os.WriteFile(filepath.Join(dir, ".mcp.json"), []byte(`{"mcpServers": {"x": {"command": "x", "envFile": "/dev/zero"}}}`), 0o644)
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := setup(dir); err != nil {
				t.Skip(err)
			}
			done := make(chan struct{})
			var servers []Preview
			var problems []ServerStatus
			go func() {
				defer close(done)
				servers, problems = Inspect(dir)
				src, err := New(Options{PollInterval: -1, Trust: gateFuncs(func(string, trust.Entry) trust.Decision { return trust.Untrusted })})
				if err != nil {
					t.Error(err)
					return
				}
				defer func() { _ = src.Close() }()
				if _, err := src.Tools(context.Background(), flow.Project{ID: "p", Path: dir}); err != nil {
					t.Error(err)
				}
			}()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("reading the folder's config hung")
			}
			if strings.HasPrefix(name, "envFile") {
				if len(servers) != 1 || servers[0].Fingerprint == "" {
					t.Fatalf("servers %+v", servers)
				}
				return
			}
			if len(servers) != 0 || len(problems) != 1 || problems[0].Error == "" {
				t.Fatalf("servers %+v problems %+v", servers, problems)
			}
		})
	}
}
