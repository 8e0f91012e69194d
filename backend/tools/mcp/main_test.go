package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/tools"
)

// serverBin is the mcptestserver command, built once per test binary.
var serverBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mcptest")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	serverBin = filepath.Join(dir, "mcptestserver")
	if runtime.GOOS == "windows" {
		serverBin += ".exe"
	}
	build := exec.Command("go", "build", "-o", serverBin, "./internal/testserver/mcptestserver")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build test server:", err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir) // a temp dir; failing to remove it fails no test
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// hangGuard bounds waits in tests; it is a guard against hangs, not a
// timing assertion.
const hangGuard = 30 * time.Second

type recorder struct {
	mu  sync.Mutex
	evs []flow.Event
}

func (r *recorder) notify(projectID string, ev flow.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, ev)
}

func (r *recorder) events() []flow.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]flow.Event(nil), r.evs...)
}

// statuses returns the tools.status payloads seen so far.
func (r *recorder) statuses() []statusPayload {
	var out []statusPayload
	for _, ev := range r.events() {
		if ev.Type != flow.EventToolsStatus {
			continue
		}
		var p statusPayload
		if err := json.Unmarshal(ev.Payload, &p); err == nil {
			out = append(out, p)
		}
	}
	return out
}

func (r *recorder) count(typ string) int {
	n := 0
	for _, ev := range r.events() {
		if ev.Type == typ {
			n++
		}
	}
	return n
}

func (r *recorder) sawStatus(server, status, errPart string) bool {
	for _, st := range r.statuses() {
		if st.Server == server && st.Status == status && strings.Contains(st.Error, errPart) {
			return true
		}
	}
	return false
}

func newTestSource(t *testing.T, o Options) (*Source, *recorder) {
	t.Helper()
	rec := &recorder{}
	o.Notify = rec.notify
	if o.PollInterval == 0 {
		o.PollInterval = -1 // tests reload explicitly through Tools/Status
	}
	if o.StopGrace == 0 {
		o.StopGrace = 500 * time.Millisecond
	}
	if o.BackoffMin == 0 {
		o.BackoffMin = 50 * time.Millisecond
	}
	src, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := src.Close(); err != nil {
			t.Errorf("close source: %v", err)
		}
	})
	return src, rec
}

func writeFile(t *testing.T, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// stdioConfig is a .mcp.json with one stdio test server per name.
func stdioConfig(servers map[string][]string) string {
	m := map[string]any{}
	for name, args := range servers {
		m[name] = map[string]any{"command": serverBin, "args": args}
	}
	b, _ := json.MarshalIndent(map[string]any{"mcpServers": m}, "", "  ")
	return string(b)
}

func testProject(t *testing.T, config string) flow.Project {
	t.Helper()
	dir := t.TempDir()
	if config != "" {
		writeFile(t, dir, ".mcp.json", config)
	}
	return flow.Project{ID: "p-" + strings.ReplaceAll(t.Name(), "/", "-"), Name: t.Name(), Path: dir}
}

type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) log(stream, line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, stream+": "+line)
}

func (l *logLines) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

func run(ctx context.Context, src *Source, p flow.Project, name string, params map[string]any) (map[string]any, *logLines, error) {
	logs := &logLines{}
	out, err := src.Run(ctx, name, tools.Call{Project: p, RunID: "r1", NodeID: "n1", Params: params, Log: logs.log})
	if err != nil {
		return nil, logs, err
	}
	m, _ := out.(map[string]any)
	return m, logs, nil
}

func mustRun(t *testing.T, src *Source, p flow.Project, name string, params map[string]any) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	out, _, err := run(ctx, src, p, name, params)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return out
}

// serverPID asks the server for its pid through the info tool.
func serverPID(t *testing.T, src *Source, p flow.Project, server string) int {
	t.Helper()
	out := mustRun(t, src, p, "mcp:"+server+"/info", nil)
	st, _ := out["structured"].(map[string]any)
	pid, _ := st["pid"].(float64)
	if pid == 0 {
		t.Fatalf("info returned no pid: %v", out)
	}
	return int(pid)
}

func waitGone(t *testing.T, pids ...int) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for _, pid := range pids {
		for alive(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("process %d is still alive", pid)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func toolNames(list []flow.Tool) []string {
	var out []string
	for _, t := range list {
		out = append(out, t.Name)
	}
	return out
}

func findTool(list []flow.Tool, name string) *flow.Tool {
	for i := range list {
		if list[i].Name == name {
			return &list[i]
		}
	}
	return nil
}
