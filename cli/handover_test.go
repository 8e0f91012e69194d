package cli_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/flowweaver/flowweaver/cli"
)

// registerTrusted registers proj with the server as a trusted project,
// as the app does after the user said yes.
func registerTrusted(t *testing.T, s *server, tok, proj string) string {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"name": filepath.Base(proj), "path": proj, "trusted": true})
	code, p := call(t, "POST", s.url+"/api/projects", tok, string(b))
	if code != 201 && code != 200 {
		t.Fatalf("register project: %d %v", code, p)
	}
	return p["id"].(string)
}

// watchProject subscribes to project:<id> as the app's tab does and
// delivers every durable event.
func watchProject(t *testing.T, s *server, tok, projectID string) <-chan map[string]any {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.url, "http")+"/ws?projectId="+projectID,
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + tok}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	sub, _ := json.Marshal(map[string]any{"event": "subscribe", "channel": "project:" + projectID, "payload": map[string]any{"since": 0}})
	if err := c.Write(ctx, websocket.MessageText, sub); err != nil {
		t.Fatal(err)
	}
	evs := make(chan map[string]any, 1000)
	go func() {
		defer close(evs)
		for {
			_, b, err := c.Read(ctx)
			if err != nil {
				return
			}
			var m map[string]any
			if json.Unmarshal(b, &m) == nil && m["seq"] != nil {
				evs <- m
			}
		}
	}()
	return evs
}

// waitEvent returns the first event of type typ for run runID (any run if "").
func waitEvent(t *testing.T, evs <-chan map[string]any, typ string, runID func() string) map[string]any {
	t.Helper()
	deadline := time.After(90 * time.Second)
	for {
		select {
		case m, ok := <-evs:
			if !ok {
				t.Fatalf("socket closed before %s", typ)
			}
			pl, _ := m["payload"].(map[string]any)
			if m["event"] == typ && (runID == nil || pl["runId"] == runID()) {
				return m
			}
		case <-deadline:
			t.Fatalf("no %s within 90s", typ)
		}
	}
}

// runIDFrom reads the run id from the CLI's summary line.
func runIDFrom(stderr string) string {
	i := strings.LastIndex(stderr, "· run ")
	if i < 0 {
		return ""
	}
	return strings.Fields(stderr[i+len("· run "):])[0]
}

// TestRunHandOverToServe: with `serve` holding the data dir, the CLI hands
// the run over: a WebSocket client of the project (the app's tab) sees
// it live up to run.completed, the CLI prints the same lines as in-process
// and exits with the run's status (0, then 1 for a failing workflow).
func TestRunHandOverToServe(t *testing.T) {
	dataDir := t.TempDir()
	proj := newProject(t, map[string]string{
		"build": twoNodes,
		"fail":  shellWF("check", "echo checking; exit 3"),
	})
	s := startServe(t, dataDir)
	tok := token(t, dataDir)
	pid := registerTrusted(t, s, tok, proj)
	evs := watchProject(t, s, tok, pid)

	stdout, stderr, code := runCLI(t, proj, "run", "--data-dir", dataDir, "build")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	runID := runIDFrom(stderr)
	if runID == "" {
		t.Fatalf("no run id in the summary: %s", stderr)
	}
	waitEvent(t, evs, "run.queued", func() string { return runID })
	waitEvent(t, evs, "run.completed", func() string { return runID })
	for _, want := range []string{"build | compiled\n", "test | testing\n"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "✓ build ") || !strings.Contains(stderr, "✓ build succeeded") {
		t.Errorf("stderr:\n%s", stderr)
	}
	// The server ran it: its API has the run, the CLI did not take the lock.
	if code, run := call(t, "GET", s.url+"/api/runs/"+runID, tok, ""); code != 200 || run["status"] != "succeeded" {
		t.Fatalf("run on the server: %d %v", code, run)
	}

	stdout, stderr, code = runCLI(t, proj, "run", "--data-dir", dataDir, "fail")
	if code != cli.ExitFailed || !strings.Contains(stdout, "check | checking") || !strings.Contains(stderr, "✗ check exit 3") {
		t.Fatalf("failing run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	failID := runIDFrom(stderr)
	waitEvent(t, evs, "run.failed", func() string { return failID })

	// --detach returns once queued; `logs --follow` then follows it.
	stdout, stderr, code = runCLI(t, proj, "run", "--data-dir", dataDir, "--detach", "build")
	detached := strings.TrimSpace(stdout)
	if code != 0 || !strings.HasPrefix(detached, "r") || strings.Contains(detached, "\n") {
		t.Fatalf("--detach: exit %d %q %s", code, stdout, stderr)
	}
	stdout, stderr, code = runCLI(t, proj, "logs", "--data-dir", dataDir, "--follow", detached)
	if code != 0 || !strings.Contains(stdout, "build | compiled") || !strings.Contains(stderr, "✓ build succeeded") {
		t.Fatalf("logs --follow: exit %d\n%s\n%s", code, stdout, stderr)
	}
	stdout, _, code = runCLI(t, proj, "runs", "--data-dir", dataDir)
	if code != 0 || strings.Count(stdout, "\n") != 4 || !strings.Contains(stdout, detached) || !strings.Contains(stdout, "failed") {
		t.Fatalf("runs: exit %d\n%s", code, stdout)
	}
}

// TestRunHandOverSurvivesServeRestart: serve is killed (SIGKILL) while the
// handed-over run is in its first node and started again on the same data
// dir; the CLI reconnects with since, and ends with the run's real status
// and the later node's output.
func TestRunHandOverSurvivesServeRestart(t *testing.T) {
	dataDir := t.TempDir()
	wf := `{"name":"r","nodes":[
		{"id":"wait","tool":"shell","params":{"command":"touch started.marker; sleep 2"}},
		{"id":"after","tool":"shell","params":{"command":"echo after the restart"}}],
		"edges":[{"source":"wait","target":"after"}]}`
	proj := newProject(t, map[string]string{"restart": wf})
	s := startServe(t, dataDir)
	tok := token(t, dataDir)
	registerTrusted(t, s, tok, proj)

	p := startCLI(t, proj, "run", "--data-dir", dataDir, "restart")
	waitFor(t, "the first node to start", func() bool { return fileExists(filepath.Join(proj, "started.marker")) })
	s.kill()
	_ = os.Remove(filepath.Join(proj, "started.marker"))
	s2 := startServe(t, dataDir)
	defer s2.stop(t)

	if code := p.wait(t); code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, p.stdout, p.stderr)
	}
	stdout, stderr := p.stdout.String(), p.stderr.String()
	if !strings.Contains(stdout, "after | after the restart\n") || !strings.Contains(stderr, "✓ after ") {
		t.Fatalf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
	if !strings.Contains(stderr, "reconnect") {
		t.Errorf("the CLI did not say it reconnected:\n%s", stderr)
	}
	if strings.Count(stdout, "after the restart") != 1 {
		t.Errorf("a line printed twice after the reconnect:\n%s", stdout)
	}
	runID := runIDFrom(stderr)
	if code, run := call(t, "GET", s2.url+"/api/runs/"+runID, tok, ""); code != 200 || run["status"] != "succeeded" {
		t.Fatalf("run on the restarted server: %d %v", code, run)
	}
}

// TestRunHandOverSIGINTCancels: Ctrl-C on a handed-over run cancels it
// through the server's API (the app's tab sees run.canceled) and exits 130.
func TestRunHandOverSIGINTCancels(t *testing.T) {
	dataDir := t.TempDir()
	proj := newProject(t, map[string]string{"long": shellWF("long", "touch started.marker; sleep 60")})
	s := startServe(t, dataDir)
	tok := token(t, dataDir)
	pid := registerTrusted(t, s, tok, proj)
	evs := watchProject(t, s, tok, pid)

	p := startCLI(t, proj, "run", "--data-dir", dataDir, "long")
	waitFor(t, "the node to start", func() bool { return fileExists(filepath.Join(proj, "started.marker")) })
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	if code := p.wait(t); code != cli.ExitInterrupted {
		t.Fatalf("exit %d, want 130\n%s\n%s", code, p.stdout, p.stderr)
	}
	runID := runIDFrom(p.stderr.String())
	waitEvent(t, evs, "run.canceled", func() string { return runID })
	if code, run := call(t, "GET", s.url+"/api/runs/"+runID, tok, ""); code != 200 || run["status"] != "canceled" {
		t.Fatalf("run after Ctrl-C: %d %v", code, run)
	}
	// The server is unharmed and still serves.
	if code, _ := call(t, "GET", s.url+"/api/projects", tok, ""); code != 200 {
		t.Fatalf("server after the CLI's Ctrl-C: %d", code)
	}
}
