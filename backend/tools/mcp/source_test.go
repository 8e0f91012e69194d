package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
)

func TestListAndCallStdio(t *testing.T) {
	src, rec := newTestSource(t, Options{})
	p := testProject(t, stdioConfig(map[string][]string{"t": nil}))
	ctx := context.Background()

	list, err := src.Tools(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	echo := findTool(list, "mcp:t/echo")
	if echo == nil {
		t.Fatalf("mcp:t/echo not listed: %v", toolNames(list))
	}
	if echo.Title != "Echo" || echo.Description != "Returns its text." || echo.Source != "mcp:t" {
		t.Errorf("echo described as %+v", echo)
	}
	var schema struct {
		Type       string                    `json:"type"`
		Properties map[string]map[string]any `json:"properties"`
	}
	if err := json.Unmarshal(echo.InputSchema, &schema); err != nil || schema.Type != "object" || schema.Properties["text"] == nil {
		t.Errorf("echo inputSchema = %s (%v)", echo.InputSchema, err)
	}
	if add := findTool(list, "mcp:t/add"); add == nil || add.Title != "add" {
		t.Errorf("add without title should fall back to its name: %+v", add)
	}

	out := mustRun(t, src, p, "mcp:t/echo", map[string]any{"text": "hello"})
	if out["text"] != "hello" {
		t.Errorf("echo output = %v", out)
	}
	if _, ok := out["structured"]; ok {
		t.Errorf("echo has no structured content, got %v", out)
	}
	out = mustRun(t, src, p, "mcp:t/add", map[string]any{"a": 2, "b": 3.5})
	st, _ := out["structured"].(map[string]any)
	if st["sum"] != 5.5 {
		t.Errorf("add output = %v", out)
	}

	if !rec.sawStatus("t", StatusStarting, "") || !rec.sawStatus("t", StatusReady, "") {
		t.Errorf("statuses = %+v", rec.statuses())
	}
	for _, ev := range rec.events() {
		if ev.ProjectID != p.ID || ev.Seq != 0 || ev.Channels()[0] != "tools:"+p.ID {
			t.Errorf("event %+v is not a transient tools: event of the project", ev)
		}
	}
	sts := src.Status(p.ID)
	if len(sts) != 1 || sts[0].Status != StatusReady || sts[0].PID == 0 || sts[0].Tools != len(list) || sts[0].File != ".mcp.json" || sts[0].Type != "stdio" {
		t.Errorf("Status = %+v", sts)
	}

	// The session is shared: a second listing does not start another process.
	pid := sts[0].PID
	if _, err := src.Tools(ctx, p); err != nil {
		t.Fatal(err)
	}
	if got := serverPID(t, src, p, "t"); got != pid {
		t.Errorf("server pid changed from %d to %d", pid, got)
	}
}

func TestLazyStartOnFirstCall(t *testing.T) {
	src, _ := newTestSource(t, Options{})
	p := testProject(t, stdioConfig(map[string][]string{"a": nil, "b": nil}))
	mustRun(t, src, p, "mcp:a/echo", map[string]any{"text": "x"})
	for _, st := range src.Status(p.ID) {
		want := map[string]string{"a": StatusReady, "b": StatusIdle}[st.Server]
		if st.Status != want {
			t.Errorf("%s is %s, want %s (servers start lazily)", st.Server, st.Status, want)
		}
	}
}

func TestToolErrorAndProtocolError(t *testing.T) {
	src, _ := newTestSource(t, Options{})
	p := testProject(t, stdioConfig(map[string][]string{"t": nil}))
	ctx := context.Background()
	pid := serverPID(t, src, p, "t")

	_, _, err := run(ctx, src, p, "mcp:t/fail", map[string]any{"message": "disk on fire"})
	if flow.ErrorCode(err) != flow.EINVALID || !strings.Contains(flow.ErrorMessage(err), "disk on fire") {
		t.Errorf("isError result: %v", err)
	}
	_, _, err = run(ctx, src, p, "mcp:t/nope", nil)
	if err == nil || !strings.Contains(flow.ErrorMessage(err), "nope") {
		t.Errorf("unknown tool: %v", err)
	}
	_, _, err = run(ctx, src, p, "mcp:t/add", map[string]any{"a": "not a number"})
	if flow.ErrorCode(err) != flow.EINVALID || flow.ErrorMessage(err) == "" {
		t.Errorf("invalid arguments: %v", err)
	}
	// None of these is a server failure: same process.
	if got := serverPID(t, src, p, "t"); got != pid {
		t.Errorf("server restarted after tool errors (%d -> %d)", pid, got)
	}

	_, _, err = run(ctx, src, p, "mcp:ghost/echo", nil)
	if flow.ErrorCode(err) != flow.ENOTFOUND || !strings.Contains(flow.ErrorMessage(err), ".mcp.json") {
		t.Errorf("unknown server: %v", err)
	}
	for _, bad := range []string{"mcp:", "mcp:t", "mcp:/echo", "mcp:t/", "shell"} {
		if _, _, err := run(ctx, src, p, bad, nil); flow.ErrorCode(err) != flow.EINVALID {
			t.Errorf("Run(%q) = %v, want bad_request", bad, err)
		}
	}
}

func TestProgressBecomesLogLines(t *testing.T) {
	src, _ := newTestSource(t, Options{})
	p := testProject(t, stdioConfig(map[string][]string{"t": nil}))
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	out, logs, err := run(ctx, src, p, "mcp:t/progress", map[string]any{"steps": 3})
	if err != nil || out["text"] != "done" {
		t.Fatalf("progress: %v %v", out, err)
	}
	// Notifications may race the response; wait for all three.
	waitUntil(t, "three progress lines", func() bool { return len(logs.all()) >= 3 })
	got := logs.all()
	want := []string{"stdout: progress 1/3: step 1", "stdout: progress 2/3: step 2", "stdout: progress 3/3: step 3"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("log lines = %q, want %q", got, want)
	}
}

func TestCrashMidCallRestarts(t *testing.T) {
	src, rec := newTestSource(t, Options{})
	p := testProject(t, stdioConfig(map[string][]string{"t": nil}))
	ctx := context.Background()
	pid := serverPID(t, src, p, "t")

	_, _, err := run(ctx, src, p, "mcp:t/crash", map[string]any{"code": 3})
	if flow.ErrorCode(err) != flow.EUNAVAILABLE {
		t.Fatalf("crash: %v", err)
	}
	msg := flow.ErrorMessage(err)
	if !strings.Contains(msg, "exit status 3") || !strings.Contains(msg, "crashing on purpose") {
		t.Errorf("crash message lacks exit status or stderr: %q", msg)
	}
	if !rec.sawStatus("t", StatusFailed, "exit status 3") {
		t.Errorf("no failed status: %+v", rec.statuses())
	}
	waitGone(t, pid)

	// The next call works on a fresh process.
	out := mustRun(t, src, p, "mcp:t/echo", map[string]any{"text": "again"})
	if out["text"] != "again" {
		t.Errorf("after restart: %v", out)
	}
	if got := serverPID(t, src, p, "t"); got == pid {
		t.Errorf("expected a new process, still %d", got)
	}
}

func TestCrashWhileIdleRestartsAutomatically(t *testing.T) {
	src, rec := newTestSource(t, Options{})
	p := testProject(t, stdioConfig(map[string][]string{"t": nil}))
	pid := serverPID(t, src, p, "t")
	if err := killProcess(pid); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "failed status", func() bool { return rec.sawStatus("t", StatusFailed, "") })
	waitUntil(t, "automatic restart", func() bool {
		st := src.Status(p.ID)
		return len(st) == 1 && st[0].Status == StatusReady && st[0].PID != pid
	})
}

func TestHangTimesOut(t *testing.T) {
	src, _ := newTestSource(t, Options{PingTimeout: time.Second})
	// A per-server timeout keeps this test short; starting is not part of it.
	p := testProject(t, `{"mcpServers": {"t": {"command": "`+serverBin+`", "timeout": 1500}}}`)
	ctx := context.Background()
	if _, err := src.Tools(ctx, p); err != nil {
		t.Fatal(err)
	}
	pid := serverPID(t, src, p, "t")

	// A handler that never answers: the call times out, the server still
	// answers pings, so it keeps running.
	_, _, err := run(ctx, src, p, "mcp:t/hang", nil)
	if flow.ErrorCode(err) != flow.EUNAVAILABLE || !strings.Contains(flow.ErrorMessage(err), "timed out after 1.5s") {
		t.Fatalf("hang: %v", err)
	}
	if got := serverPID(t, src, p, "t"); got != pid {
		t.Errorf("healthy server was restarted (%d -> %d)", pid, got)
	}

	// A frozen process answers nothing: it is killed and replaced.
	_, _, err = run(ctx, src, p, "mcp:t/freeze", nil)
	if flow.ErrorCode(err) != flow.EUNAVAILABLE || !strings.Contains(flow.ErrorMessage(err), "restarted") {
		t.Fatalf("freeze: %v", err)
	}
	waitGone(t, pid)
	if got := serverPID(t, src, p, "t"); got == pid {
		t.Errorf("frozen server still in use")
	}

	// The node's own deadline (ctx) is honoured too and reported as such.
	nodeCtx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	_, _, err = run(nodeCtx, src, p, "mcp:t/sleep", map[string]any{"ms": 60000})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("node deadline: %v", err)
	}
}

func TestGarbageOnStdout(t *testing.T) {
	src, _ := newTestSource(t, Options{})
	p := testProject(t, stdioConfig(map[string][]string{"noisy": {"-garbage"}}))
	list, err := src.Tools(context.Background(), p)
	if err != nil || findTool(list, "mcp:noisy/noisy") == nil {
		t.Fatalf("tools of a noisy server: %v %v %v", toolNames(list), err, src.Status(p.ID))
	}
	for i := 0; i < 3; i++ {
		out := mustRun(t, src, p, "mcp:noisy/noisy", map[string]any{"text": "abc"})
		if out["text"] != "ABC" {
			t.Fatalf("noisy: %v", out)
		}
	}
	if st := src.Status(p.ID); st[0].Status != StatusReady {
		t.Errorf("status after noise: %+v", st)
	}
}

func TestStartFailureIsReported(t *testing.T) {
	src, rec := newTestSource(t, Options{BackoffMin: time.Hour, BackoffMax: time.Hour})
	p := testProject(t, `{"mcpServers": {
		"bad": {"command": "`+serverBin+`", "args": ["-fail-start"]},
		"missing": {"command": "/nonexistent/flowweaver-mcp-server"},
		"ok": {"command": "`+serverBin+`"}}}`)
	list, err := src.Tools(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if findTool(list, "mcp:ok/echo") == nil {
		t.Errorf("a failing server hides the others: %v", toolNames(list))
	}
	if !rec.sawStatus("bad", StatusFailed, "refusing to start") || !rec.sawStatus("bad", StatusFailed, "exit status 2") {
		t.Errorf("bad server status: %+v", rec.statuses())
	}
	if !rec.sawStatus("missing", StatusFailed, "no such file") {
		t.Errorf("missing server status: %+v", rec.statuses())
	}
	_, _, err = run(context.Background(), src, p, "mcp:bad/echo", nil)
	if flow.ErrorCode(err) != flow.EUNAVAILABLE || !strings.Contains(flow.ErrorMessage(err), "refusing to start") {
		t.Errorf("call to a server that cannot start: %v", err)
	}
}

func TestCloseLeavesNoProcess(t *testing.T) {
	src, _ := newTestSource(t, Options{})
	p := testProject(t, stdioConfig(map[string][]string{"a": nil, "b": nil}))
	pidA := serverPID(t, src, p, "a")
	pidB := serverPID(t, src, p, "b")
	out := mustRun(t, src, p, "mcp:a/spawn", nil)
	grandchild := int(out["structured"].(map[string]any)["pid"].(float64))
	if !alive(grandchild) {
		t.Fatal("grandchild did not start")
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	waitGone(t, pidA, pidB, grandchild)
	if _, _, err := run(context.Background(), src, p, "mcp:a/echo", nil); flow.ErrorCode(err) != flow.EUNAVAILABLE {
		t.Errorf("Run after Close: %v", err)
	}
	if err := src.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestCloseProjectStopsOnlyItsServers(t *testing.T) {
	src, rec := newTestSource(t, Options{})
	p1 := testProject(t, stdioConfig(map[string][]string{"t": nil}))
	p2 := flow.Project{ID: "other", Path: t.TempDir()}
	writeFile(t, p2.Path, ".mcp.json", stdioConfig(map[string][]string{"t": nil}))
	pid1 := serverPID(t, src, p1, "t")
	pid2 := serverPID(t, src, p2, "t")
	if pid1 == pid2 {
		t.Fatal("projects must not share servers")
	}
	src.CloseProject(p1.ID)
	waitGone(t, pid1)
	if !alive(pid2) {
		t.Error("closing one project stopped another's server")
	}
	if !rec.sawStatus("t", StatusStopped, "") {
		t.Errorf("no stopped status: %+v", rec.statuses())
	}
	if src.Status(p1.ID) != nil {
		t.Error("closed project still has a status")
	}
	// The project opens again on demand.
	if got := serverPID(t, src, p1, "t"); got == pid1 {
		t.Error("reopened project reuses a stopped process")
	}
}

func TestCloseDuringCall(t *testing.T) {
	src, _ := newTestSource(t, Options{})
	p := testProject(t, stdioConfig(map[string][]string{"t": nil}))
	pid := serverPID(t, src, p, "t")
	errc := make(chan error, 1)
	go func() {
		_, _, err := run(context.Background(), src, p, "mcp:t/hang", nil)
		errc <- err
	}()
	waitUntil(t, "the call to be in flight", func() bool {
		n := 0
		src.progress.Range(func(any, any) bool { n++; return true })
		return n == 1
	})
	src.CloseProject(p.ID)
	select {
	case err := <-errc:
		if flow.ErrorCode(err) != flow.EUNAVAILABLE || !strings.Contains(flow.ErrorMessage(err), "stopped during the call") {
			t.Errorf("call during close: %v", err)
		}
	case <-time.After(hangGuard):
		t.Fatal("the call did not end when its project closed")
	}
	waitGone(t, pid)
}

func TestRelativeCommandAndAllowStart(t *testing.T) {
	var asked []ServerInfo
	src, _ := newTestSource(t, Options{
		BackoffMin: time.Hour, BackoffMax: time.Hour,
		AllowStart: func(projectID string, s ServerInfo) error {
			asked = append(asked, s)
			if s.Name == "untrusted" {
				return errors.New("the user has not approved this server")
			}
			return nil
		},
	})
	p := testProject(t, `{"mcpServers": {
		"local": {"command": "./bin/srv"},
		"untrusted": {"command": "./bin/srv", "args": ["x"]}}}`)
	bin, err := os.ReadFile(serverBin)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, p.Path, "bin/srv", string(bin))
	if err := os.Chmod(filepath.Join(p.Path, "bin", "srv"), 0o755); err != nil {
		t.Fatal(err)
	}
	if out := mustRun(t, src, p, "mcp:local/echo", map[string]any{"text": "relative"}); out["text"] != "relative" {
		t.Errorf("echo = %v", out)
	}
	_, _, err = run(context.Background(), src, p, "mcp:untrusted/echo", nil)
	if flow.ErrorCode(err) != flow.EUNAVAILABLE || !strings.Contains(flow.ErrorMessage(err), "not approved") {
		t.Errorf("disallowed server: %v", err)
	}
	if len(asked) != 2 || asked[1].Command != "./bin/srv" || asked[1].File != ".mcp.json" || asked[1].Args[0] != "x" {
		t.Errorf("AllowStart saw %+v", asked)
	}
}

func TestStopKillsServerThatIgnoresEOF(t *testing.T) {
	src, _ := newTestSource(t, Options{StopGrace: 100 * time.Millisecond})
	p := testProject(t, stdioConfig(map[string][]string{"stubborn": {"-ignore-eof"}}))
	pid := serverPID(t, src, p, "stubborn")
	src.CloseProject(p.ID)
	if alive(pid) {
		t.Errorf("process %d survived CloseProject", pid)
	}
}
