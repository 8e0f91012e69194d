package cli_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/flowweaver/flowweaver/backend/datadir"
	"github.com/flowweaver/flowweaver/cli"
)

const twoNodes = `{"name":"build","nodes":[
	{"id":"build","tool":"shell","params":{"command":"echo compiled; echo warning >&2"}},
	{"id":"test","tool":"shell","params":{"command":"echo testing"}}],
	"edges":[{"source":"build","target":"test"}]}`

// TestRunInProcessSucceeds: no process holds the data dir, so the CLI
// runs the workflow itself: log lines as "<node> | <line>" (stdout lines
// on stdout, stderr lines on stderr), node endings and a summary on
// stderr, exit 0, and the data dir is free again afterwards.
func TestRunInProcessSucceeds(t *testing.T) {
	dataDir, proj := t.TempDir(), newProject(t, map[string]string{"build": twoNodes})
	stdout, stderr, code := runCLI(t, proj, "run", "--data-dir", dataDir, "--trust", "build")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"build | compiled\n", "test | testing\n"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "warning") || !strings.Contains(stderr, "build | warning\n") {
		t.Errorf("stderr line on the wrong stream:\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
	for _, want := range []string{"✓ build ", "✓ test ", "✓ build succeeded"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stdout+stderr, "\x1b[") {
		t.Errorf("colour codes without a terminal:\n%q", stdout+stderr)
	}
	l, err := datadir.Acquire(dataDir, "test")
	if err != nil {
		t.Fatalf("data dir still held after the run: %v", err)
	}
	_ = l.Release()

	// `logs` without a run id replays the project's latest run from the
	// event log, in the same format.
	logsOut, logsErr, code := runCLI(t, proj, "logs", "--data-dir", dataDir)
	if code != 0 || !strings.Contains(logsOut, "build | compiled\n") || !strings.Contains(logsErr, "build | warning\n") || !strings.Contains(logsErr, "✓ build succeeded") {
		t.Fatalf("logs: exit %d\n%s\n%s", code, logsOut, logsErr)
	}
}

// TestRunInProcessFailure: a node that exits 3 fails the run: exit 1,
// "✗ test exit 3", and the downstream node is skipped.
func TestRunInProcessFailure(t *testing.T) {
	wf := `{"name":"f","nodes":[
		{"id":"test","tool":"shell","params":{"command":"echo about to fail; exit 3"}},
		{"id":"deploy","tool":"shell","params":{"command":"echo deployed"}}],
		"edges":[{"source":"test","target":"deploy"}]}`
	dataDir, proj := t.TempDir(), newProject(t, map[string]string{"ci": wf})
	stdout, stderr, code := runCLI(t, proj, "run", "--data-dir", dataDir, "--trust", "ci")
	if code != cli.ExitFailed {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "test | about to fail") || strings.Contains(stdout, "deployed") {
		t.Errorf("stdout:\n%s", stdout)
	}
	for _, want := range []string{"✗ test exit 3", "- deploy skipped", "✗ ci failed", "test exit 3"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

// TestRunMissingWorkflow: exit 2, naming the file and the workflows the
// project has; nothing is registered or run.
func TestRunMissingWorkflow(t *testing.T) {
	dataDir, proj := t.TempDir(), newProject(t, map[string]string{"build": twoNodes})
	_, stderr, code := runCLI(t, proj, "run", "--data-dir", dataDir, "--trust", "deploy")
	if code != cli.ExitUsage {
		t.Fatalf("exit %d, want 2: %s", code, stderr)
	}
	if !strings.Contains(stderr, `workflow "deploy" not found`) || !strings.Contains(stderr, "this project has: build") {
		t.Fatalf("stderr: %s", stderr)
	}
}

// TestRunInvalidWorkflow: exit 2 with every problem listed.
func TestRunInvalidWorkflow(t *testing.T) {
	wf := `{"name":"bad","nodes":[{"id":"a","tool":"no-such-tool"},{"id":"b","tool":"shell","params":{"command":"true"}}],
		"edges":[{"source":"b","target":"ghost"}]}`
	dataDir, proj := t.TempDir(), newProject(t, map[string]string{"bad": wf})
	stdout, stderr, code := runCLI(t, proj, "run", "--data-dir", dataDir, "--trust", "bad")
	if code != cli.ExitUsage {
		t.Fatalf("exit %d, want 2\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{`workflow "bad" is invalid`, "no-such-tool", "ghost"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Count(stderr, "\n  - ") < 2 {
		t.Errorf("problems not listed one per line:\n%s", stderr)
	}
}

// TestRunJSONOnlyJSON: --json prints exactly one JSON document on stdout,
// the run as GET /api/runs/{id} returns it, and no log lines anywhere.
func TestRunJSONOnlyJSON(t *testing.T) {
	dataDir, proj := t.TempDir(), newProject(t, map[string]string{"build": twoNodes})
	stdout, stderr, code := runCLI(t, proj, "run", "--data-dir", dataDir, "--trust", "--json", "build")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	var run struct {
		ID         string `json:"id"`
		WorkflowID string `json:"workflowId"`
		Status     string `json:"status"`
		Nodes      []struct {
			NodeID, Status string
		} `json:"nodes"`
	}
	if err := dec.Decode(&run); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		t.Fatalf("more than one JSON value on stdout:\n%s", stdout)
	}
	if run.Status != "succeeded" || run.WorkflowID != "build" || !strings.HasPrefix(run.ID, "r") || len(run.Nodes) != 2 {
		t.Fatalf("run %+v", run)
	}
	if strings.Contains(stderr, "compiled") || strings.Contains(stderr, "✓") {
		t.Fatalf("--json printed human output on stderr:\n%s", stderr)
	}
}

// TestRunInputsReachTemplates: --input and --inputs-json become the run's
// inputs, read by {{ inputs.x }}; --input wins over the JSON.
func TestRunInputsReachTemplates(t *testing.T) {
	dataDir, proj := t.TempDir(), newProject(t, map[string]string{
		"greet": shellWF("greet", "echo hello {{ inputs.who }} from {{ inputs.place }} x{{ inputs.n }}"),
	})
	stdout, stderr, code := runCLI(t, proj, "run", "--data-dir", dataDir, "--trust",
		"--inputs-json", `{"who":"json","place":"Berlin","n":3}`, "--input", "who=world", "greet")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "greet | hello world from Berlin x3\n") {
		t.Fatalf("stdout:\n%s", stdout)
	}
	for _, bad := range [][]string{{"--input", "novalue"}, {"--inputs-json", "[1]"}, {"--inputs-json", "{"}} {
		args := append([]string{"run", "--data-dir", dataDir, "--trust"}, append(bad, "greet")...)
		if _, stderr, code := runCLI(t, proj, args...); code != cli.ExitUsage {
			t.Errorf("%v: exit %d, want 2: %s", bad, code, stderr)
		}
	}
}

// TestRunUntrustedRefusedWithoutTerminal: without --trust and without a
// terminal to ask on, an untrusted project runs nothing (exit 2, saying
// how to trust it); --trust marks it trusted and runs.
func TestRunUntrustedRefusedWithoutTerminal(t *testing.T) {
	dataDir := t.TempDir()
	proj := newProject(t, map[string]string{"build": shellWF("build", "touch ran.marker; echo built")})
	_, stderr, code := runCLI(t, proj, "run", "--data-dir", dataDir, "build")
	if code != cli.ExitUsage {
		t.Fatalf("exit %d, want 2: %s", code, stderr)
	}
	if !strings.Contains(stderr, "not trusted") || !strings.Contains(stderr, "--trust") {
		t.Fatalf("stderr: %s", stderr)
	}
	if fileExists(filepath.Join(proj, "ran.marker")) {
		t.Fatal("the untrusted project's command ran")
	}
	stdout, stderr, code := runCLI(t, proj, "run", "--data-dir", dataDir, "--trust", "build")
	if code != 0 || !strings.Contains(stdout, "build | built") || !fileExists(filepath.Join(proj, "ran.marker")) {
		t.Fatalf("with --trust: exit %d\n%s\n%s", code, stdout, stderr)
	}
	// Trusted now: the next run needs no flag.
	_ = os.Remove(filepath.Join(proj, "ran.marker"))
	if _, stderr, code := runCLI(t, proj, "run", "--data-dir", dataDir, "build"); code != 0 {
		t.Fatalf("after trust: exit %d: %s", code, stderr)
	}
}

// TestSecondInProcessRunExits4: while one in-process run holds the data
// dir, a second `flowweaver run` on it exits 4 naming the first's PID,
// and the first still ends normally.
func TestSecondInProcessRunExits4(t *testing.T) {
	dataDir := t.TempDir()
	proj := newProject(t, map[string]string{
		"slow":  shellWF("slow", "touch started.marker; while [ ! -f release.marker ]; do sleep 0.05; done; echo released"),
		"quick": shellWF("quick", "echo quick"),
	})
	first := startCLI(t, proj, "run", "--data-dir", dataDir, "--trust", "slow")
	waitFor(t, "the first run's node to start", func() bool { return fileExists(filepath.Join(proj, "started.marker")) })

	_, stderr, code := runCLI(t, proj, "run", "--data-dir", dataDir, "--trust", "quick")
	if code != cli.ExitLocked {
		t.Fatalf("second run: exit %d, want 4: %s", code, stderr)
	}
	if !strings.Contains(stderr, fmt.Sprintf("pid %d", first.cmd.Process.Pid)) {
		t.Fatalf("second run does not name pid %d: %s", first.cmd.Process.Pid, stderr)
	}
	_ = os.WriteFile(filepath.Join(proj, "release.marker"), nil, 0o644)
	if code := first.wait(t); code != 0 {
		t.Fatalf("first run: exit %d\n%s\n%s", code, first.stdout, first.stderr)
	}
	if !strings.Contains(first.stdout.String(), "slow | released") {
		t.Fatalf("first run stdout: %s", first.stdout)
	}
}

// TestRunInProcessSIGINTCancels: Ctrl-C cancels the run (its command is
// stopped), prints the canceled summary and exits 130; the run is
// recorded as canceled.
func TestRunInProcessSIGINTCancels(t *testing.T) {
	dataDir := t.TempDir()
	proj := newProject(t, map[string]string{
		"long": shellWF("long", "touch started.marker; sleep 60; touch finished.marker"),
	})
	p := startCLI(t, proj, "run", "--data-dir", dataDir, "--trust", "long")
	waitFor(t, "the node to start", func() bool { return fileExists(filepath.Join(proj, "started.marker")) })
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	if code := p.wait(t); code != cli.ExitInterrupted {
		t.Fatalf("exit %d, want 130\n%s\n%s", code, p.stdout, p.stderr)
	}
	if !strings.Contains(p.stderr.String(), "long canceled") {
		t.Fatalf("stderr: %s", p.stderr)
	}
	stdout, stderr, code := runCLI(t, proj, "runs", "--data-dir", dataDir, "--json")
	var page struct {
		Runs []struct{ Status string } `json:"runs"`
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &page) != nil || len(page.Runs) != 1 || page.Runs[0].Status != "canceled" {
		t.Fatalf("runs after Ctrl-C: exit %d %s %s", code, stdout, stderr)
	}
	if fileExists(filepath.Join(proj, "finished.marker")) {
		t.Fatal("the canceled command ran to its end")
	}
}

// TestRunUsageErrors: bad invocations exit 2 with a message.
func TestRunUsageErrors(t *testing.T) {
	proj := newProject(t, nil)
	for _, args := range [][]string{
		{"run"},
		{"run", "a", "b"},
		{"run", "no/slash"},
		{"run", "--project", filepath.Join(proj, "missing"), "x"},
		{"run", "--nope", "x"},
		{"runs", "--limit", "0"},
		{"logs", "a", "b"},
		{"completion", "tcsh"},
	} {
		var buf bytes.Buffer
		_, stderr, code := runCLI(t, proj, args...)
		buf.WriteString(stderr)
		if code != cli.ExitUsage || buf.Len() == 0 {
			t.Errorf("%v: exit %d, want 2 with a message (%q)", args, code, stderr)
		}
	}
}

// TestRunDeclaredInputs: a workflow that declares its inputs gets the
// defaults, --input text becomes the declared integer, and invalid or
// unknown inputs are refused with exit 2 naming each field, before
// anything runs.
func TestRunDeclaredInputs(t *testing.T) {
	wf := `{"name": "greet", "inputs": {"type": "object", "properties": {
		"who": {"type": "string"}, "n": {"type": "integer", "default": 2}}, "required": ["who"]},
		"nodes": [{"id": "greet", "tool": "shell", "params": {"command": "echo hello {{ inputs.who }} x{{ inputs.n + 1 }}"}}], "edges": []}`
	dataDir, proj := t.TempDir(), newProject(t, map[string]string{"greet": wf})
	stdout, stderr, code := runCLI(t, proj, "run", "--data-dir", dataDir, "--trust", "--input", "who=Ada", "greet")
	if code != 0 || !strings.Contains(stdout, "greet | hello Ada x3\n") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	stdout, stderr, code = runCLI(t, proj, "run", "--data-dir", dataDir, "--trust", "--input", "who=Ada", "--input", "n=9", "greet")
	if code != 0 || !strings.Contains(stdout, "greet | hello Ada x10\n") {
		t.Fatalf("--input n=9 is the integer 9: exit %d\n%s\n%s", code, stdout, stderr)
	}
	stdout, stderr, code = runCLI(t, proj, "run", "--data-dir", dataDir, "--trust", "--input", "n=many", "--input", "whom=Bob", "greet")
	if code != cli.ExitUsage {
		t.Fatalf("exit %d, want 2\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{`workflow "greet": invalid inputs`, "\n  - inputs.n: must be an integer, not string", "\n  - inputs.who: is required", "\n  - inputs.whom: is not a declared input"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stdout, "hello") {
		t.Fatalf("a refused run ran:\n%s", stdout)
	}
}
