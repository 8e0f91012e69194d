//go:build linux

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// crashEnv is a data dir and a trusted project with one shell workflow,
// served by `flowweaver serve` subprocesses that the test kills with -9.
type crashEnv struct {
	t          *testing.T
	dataDir    string
	projectDir string
	tok        string
	projectID  string
	s          *server
}

func newCrashEnv(t *testing.T, command string) *crashEnv {
	t.Helper()
	e := &crashEnv{t: t, dataDir: t.TempDir(), projectDir: t.TempDir()}
	e.s = startServe(t, e.dataDir)
	out, err := exec.Command(binary, "token", "--data-dir", e.dataDir, "--ttl", "30m").Output()
	if err != nil {
		t.Fatal(err)
	}
	e.tok = strings.TrimSpace(string(out))
	code, p := sendJSON(t, "POST", e.s.url+"/api/projects", e.tok, `{"name":"crash","path":"`+e.projectDir+`","trusted":true}`)
	if code != 201 {
		t.Fatalf("project: %d %v", code, p)
	}
	e.projectID = p["id"].(string)
	wf := fmt.Sprintf(`{"name":"crash","nodes":[{"id":"work","tool":"shell","params":{"command":%q}}]}`, command)
	if code, res := sendJSON(t, "PUT", e.s.url+"/api/projects/"+e.projectID+"/workflows/crash", e.tok, wf); code != 200 {
		t.Fatalf("workflow: %d %v", code, res)
	}
	return e
}

func (e *crashEnv) startRun() string {
	code, res := sendJSON(e.t, "POST", e.s.url+"/api/projects/"+e.projectID+"/workflows/crash/runs", e.tok, `{}`)
	if code != 202 {
		e.t.Fatalf("run: %d %v", code, res)
	}
	return res["runId"].(string)
}

func (e *crashEnv) run(runID string) map[string]any {
	_, run := getJSON(e.t, e.s.url+"/api/runs/"+runID, e.tok)
	return run
}

func (e *crashEnv) node(runID string) map[string]any {
	nodes, _ := e.run(runID)["nodes"].([]any)
	for _, n := range nodes {
		if m := n.(map[string]any); m["nodeId"] == "work" {
			return m
		}
	}
	return nil
}

// kill9 kills the serving process with SIGKILL and starts a new one.
func (e *crashEnv) kill9AndRestart() {
	e.t.Helper()
	_ = e.s.cmd.Process.Signal(syscall.SIGKILL)
	<-e.s.done
	e.s = startServe(e.t, e.dataDir)
}

func (e *crashEnv) waitRun(runID string) map[string]any {
	e.t.Helper()
	deadline := time.Now().Add(120 * time.Second)
	for {
		run := e.run(runID)
		switch run["status"] {
		case "succeeded", "failed", "canceled":
			return run
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("run did not end: %v", run)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// marks reads the node's marker file: lines "<word> <pid>".
func (e *crashEnv) marks() map[string][]int {
	b, _ := os.ReadFile(filepath.Join(e.projectDir, "marks.txt"))
	out := map[string][]int{}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) == 2 {
			pid, _ := strconv.Atoi(f[1])
			out[f[0]] = append(out[f[0]], pid)
		}
	}
	return out
}

// running reports whether pid is a live process (a zombie is dead: it
// runs nothing and only waits to be reaped by whoever adopted it).
func running(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return i > 0 && i+2 < len(b) && b[i+2] != 'Z' && b[i+2] != 'X'
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// overlapCheck, at the start of the node, records any process of an
// earlier attempt that still runs ("overlap <pid>"), then marks its own
// start, starts a grandchild that would run forever, and sleeps.
const overlapCheck = `for p in $(sed -n 's/^\(child\|shell\) //p' marks.txt 2>/dev/null); do ` +
	`if [ -e /proc/$p ] && ! grep -q zombie /proc/$p/status 2>/dev/null; then echo "overlap $p" >> marks.txt; fi; done; ` +
	`echo "shell $$" >> marks.txt; echo "attempt output of $$"; ` +
	`sleep 1000 >/dev/null 2>&1 & echo "child $!" >> marks.txt; `

// kill -9 of serve while a shell node sleeps, the node having started a
// grandchild: the shell dies with the server at once, nothing of it
// survives the restart, the re-run does not overlap it (the node checks
// for live processes of the earlier attempt when it starts), it is
// attempt 2 with its reason, and the first attempt's log stays.
func TestKill9LeavesNoOrphanAndNoOverlap(t *testing.T) {
	e := newCrashEnv(t, overlapCheck+`sleep 2; echo "end $$" >> marks.txt`)
	runID := e.startRun()
	waitUntil(t, "the node's grandchild to start", func() bool { return len(e.marks()["child"]) == 1 })
	first := e.marks()
	shell, grandchild := first["shell"][0], first["child"][0]
	// Log lines are written in batches (every 50 ms): wait until the first
	// attempt's line is recorded, which is what must survive the crash.
	waitUntil(t, "the first attempt's log line to be recorded", func() bool {
		_, evs := getJSON(t, e.s.url+"/api/projects/"+e.projectID+"/events?channel=run:"+runID, e.tok)
		list, _ := evs["events"].([]any)
		for _, ev := range list {
			if ev.(map[string]any)["event"] == "node.log" {
				return true
			}
		}
		return false
	})

	_ = e.s.cmd.Process.Signal(syscall.SIGKILL)
	<-e.s.done
	// The shell dies with the server (parent-death signal), before any
	// restart. Its grandchild is not a child of the server: it is what the
	// restart must find and kill.
	waitUntil(t, "the node's shell to die with the server", func() bool { return !running(shell) })
	t.Cleanup(func() {
		if running(grandchild) {
			_ = syscall.Kill(grandchild, syscall.SIGKILL)
		}
	})

	e.s = startServe(t, e.dataDir)
	run := e.waitRun(runID)
	if run["status"] != "succeeded" {
		t.Fatalf("run after restart: %v", run)
	}
	if running(grandchild) {
		t.Fatalf("the interrupted attempt's grandchild %d survived the restart", grandchild)
	}
	m := e.marks()
	if len(m["overlap"]) != 0 {
		t.Fatalf("the re-run found processes of the interrupted attempt still running: %v", m["overlap"])
	}
	if len(m["shell"]) != 2 || len(m["end"]) != 1 || m["end"][0] != m["shell"][1] {
		t.Fatalf("marks %v: want two starts and one end, of the second attempt", m)
	}
	// Nothing of either attempt runs any more.
	for _, pids := range [][]int{m["shell"], m["child"]} {
		for _, p := range pids {
			if running(p) {
				t.Fatalf("process %d of the node still runs after the run ended", p)
			}
		}
	}
	n := e.node(runID)
	if n["attempt"] != float64(2) || n["reason"] != "server restarted" {
		t.Fatalf("node after restart: %v", n)
	}
	// The log keeps the interrupted attempt's output, then node.started
	// of attempt 2 with its reason, then the second attempt's output.
	_, evs := getJSON(t, e.s.url+"/api/projects/"+e.projectID+"/events?channel=run:"+runID, e.tok)
	var seq []string
	for _, ev := range evs["events"].([]any) {
		m := ev.(map[string]any)
		p, _ := m["payload"].(map[string]any)
		switch m["event"] {
		case "node.started":
			seq = append(seq, fmt.Sprintf("started:%v:%v", p["attempt"], p["reason"]))
		case "node.log":
			seq = append(seq, fmt.Sprintf("log:%v", p["lines"]))
		}
	}
	want := fmt.Sprintf("started:1:<nil> log:[attempt output of %d] started:2:server restarted log:[attempt output of %d]", shell, m["shell"][1])
	if got := strings.Join(seq, " "); got != want {
		t.Fatalf("node events\n got %s\nwant %s", got, want)
	}
	if code := e.s.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// Six kill -9 during one run: the crashes do not use up the run's
// attempts (five by default); it still ends succeeded, and the node shows
// the attempt it is on and why.
func TestSixCrashesStillSucceed(t *testing.T) {
	e := newCrashEnv(t, overlapCheck+`sleep 2; echo "end $$" >> marks.txt`)
	runID := e.startRun()
	for crash := 1; crash <= 6; crash++ {
		waitUntil(t, fmt.Sprintf("attempt %d to start", crash), func() bool {
			return len(e.marks()["shell"]) == crash
		})
		e.kill9AndRestart()
	}
	run := e.waitRun(runID)
	if run["status"] != "succeeded" {
		t.Fatalf("run after six crashes: %v", run)
	}
	n := e.node(runID)
	if n["status"] != "succeeded" || n["attempt"] != float64(7) || n["reason"] != "server restarted" {
		t.Fatalf("node after six crashes: %v", n)
	}
	m := e.marks()
	if len(m["overlap"]) != 0 || len(m["shell"]) != 7 || len(m["end"]) != 1 {
		t.Fatalf("marks after six crashes: %v", m)
	}
	for _, p := range append(m["shell"], m["child"]...) {
		if running(p) {
			t.Fatalf("process %d of the node still runs after the run ended", p)
		}
	}
	if code := e.s.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// kill -9 of serve while a project's stdio MCP server runs, the server
// having started a helper of its own: the server dies with serve at once
// (parent-death signal), and the restarted serve kills the helper it
// recorded, before serving, although nothing asks for that project again.
func TestKill9LeavesNoMCPServerBehind(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "mcptestserver")
	build := exec.Command("go", "build", "-o", bin, "./backend/tools/mcp/internal/testserver/mcptestserver")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build MCP test server: %v\n%s", err, out)
	}
	dataDir, projectDir := t.TempDir(), t.TempDir()
	script := fmt.Sprintf(`sleep 1000 >/dev/null 2>&1 & echo $! > %s/helper.pid; echo $$ > %s/server.pid; exec %s`, projectDir, projectDir, bin)
	cfg := fmt.Sprintf(`{"mcpServers": {"test": {"command": "/bin/sh", "args": ["-c", %q]}}}`, script)
	if err := os.WriteFile(filepath.Join(projectDir, ".mcp.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, dataDir)
	tok := mintToken(t, dataDir)
	pid := createTrustedProject(t, s.url, tok, "mcp", projectDir)
	readPid := func(name string) int {
		b, _ := os.ReadFile(filepath.Join(projectDir, name))
		n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return n
	}
	waitUntil(t, "the MCP server to list its tools", func() bool {
		_, res := getJSON(t, s.url+"/api/projects/"+pid+"/tools", tok)
		return strings.Contains(fmt.Sprint(res["tools"]), "mcp:test/echo")
	})
	server, helper := readPid("server.pid"), readPid("helper.pid")
	if !running(server) || !running(helper) {
		t.Fatalf("server %d (running %v), helper %d (running %v)", server, running(server), helper, running(helper))
	}
	t.Cleanup(func() {
		if running(helper) {
			_ = syscall.Kill(helper, syscall.SIGKILL)
		}
	})

	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
	waitUntil(t, "the MCP server to die with serve", func() bool { return !running(server) })

	s = startServe(t, dataDir)
	waitUntil(t, "the restarted serve to kill the MCP server's helper", func() bool { return !running(helper) })
	if code := s.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d", code)
	}
}
