//go:build unix

package tools

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
)

func TestShellOutputAndStreaming(t *testing.T) {
	reg := NewRegistry(Options{})
	p := testProject(t)
	out, rec, err := run(t, reg, p, "shell", map[string]any{
		"command": `echo one; echo two >&2; printf 'three\r\n'; printf 'no newline'; pwd; echo "$FLOWWEAVER_NODE_ID"`,
	})
	if err != nil {
		t.Fatal(err)
	}
	m := out.(map[string]any)
	if m["exitCode"] != 0 {
		t.Errorf("exitCode = %v", m["exitCode"])
	}
	wantOut := []string{"one", "three", "no newline" + p.Path, "n1"}
	if got := rec.get("stdout"); strings.Join(got, "|") != strings.Join(wantOut, "|") {
		t.Errorf("stdout lines = %q, want %q", got, wantOut)
	}
	if got := rec.get("stderr"); len(got) != 1 || got[0] != "two" {
		t.Errorf("stderr lines = %q", got)
	}
	if m["stdout"] != "one\nthree\nno newline"+p.Path+"\nn1\n" || m["stderr"] != "two\n" {
		t.Errorf("output tails = %q / %q", m["stdout"], m["stderr"])
	}
}

func TestShellNonZeroExit(t *testing.T) {
	reg := NewRegistry(Options{})
	out, _, err := run(t, reg, testProject(t), "shell", map[string]any{
		"command": `for i in 1 2 3 4 5 6 7; do echo "err $i" >&2; done; exit 3`,
	})
	wantCode(t, err, EToolFailed, "exited with code 3", "err 7", "err 3")
	if strings.Contains(flow.ErrorMessage(err), "err 2") {
		t.Errorf("error quotes more than the last %d lines: %v", stderrLinesInError, err)
	}
	if m := out.(map[string]any); m["exitCode"] != 3 {
		t.Errorf("exitCode = %v", m["exitCode"])
	}
}

func TestShellEnvAndCwd(t *testing.T) {
	reg := NewRegistry(Options{ShellEnv: []string{"PATH=" + os.Getenv("PATH"), "KEEP=base", "OVER=base"}})
	p := testProject(t)
	if err := os.MkdirAll(filepath.Join(p.Path, "sub", "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, _, err := run(t, reg, p, "shell", map[string]any{
		"command": `echo "$KEEP $OVER $NUM"; pwd`,
		"cwd":     "sub/dir",
		"env":     map[string]any{"OVER": "node", "NUM": float64(42)},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "base node 42\n" + filepath.Join(p.Path, "sub", "dir") + "\n"
	if got := out.(map[string]any)["stdout"]; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
}

func TestShellBadParams(t *testing.T) {
	reg := NewRegistry(Options{})
	p := testProject(t)
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(p.Path, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.Path, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		params map[string]any
		code   string
		msg    string
	}{
		{"missing command", map[string]any{}, flow.EINVALID, "command is required"},
		{"command not string", map[string]any{"command": 5.0}, flow.EINVALID, "command must be a string, got a number"},
		{"empty command", map[string]any{"command": ""}, flow.EINVALID, "command is empty"},
		{"typo", map[string]any{"comand": "ls"}, flow.EINVALID, `"comand" is not a param of shell`},
		{"env not object", map[string]any{"command": "true", "env": "A=1"}, flow.EINVALID, "env must be an object"},
		{"env value object", map[string]any{"command": "true", "env": map[string]any{"A": map[string]any{}}}, flow.EINVALID, `value of "A" must be a string`},
		{"env name with =", map[string]any{"command": "true", "env": map[string]any{"A=B": "1"}}, flow.EINVALID, "env name"},
		{"env NUL", map[string]any{"command": "true", "env": map[string]any{"A": "x\x00y"}}, flow.EINVALID, "NUL"},
		{"cwd dotdot", map[string]any{"command": "true", "cwd": "../"}, flow.EFORBIDDEN, "leaves the project folder"},
		{"cwd absolute", map[string]any{"command": "true", "cwd": "/tmp"}, flow.EFORBIDDEN, "absolute"},
		{"cwd symlink out", map[string]any{"command": "true", "cwd": "escape"}, flow.EFORBIDDEN, "outside the project folder"},
		{"cwd missing", map[string]any{"command": "true", "cwd": "nope"}, flow.ENOTFOUND, "does not exist"},
		{"cwd file", map[string]any{"command": "true", "cwd": "file"}, flow.EINVALID, "not a directory"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := run(t, reg, p, "shell", c.params)
			wantCode(t, err, c.code, c.msg)
		})
	}
	_, _, err := run(t, reg, flow.Project{ID: "gone", Path: filepath.Join(p.Path, "missing")}, "shell", map[string]any{"command": "true"})
	wantCode(t, err, flow.EUNAVAILABLE, "not accessible")
}

// TestShellCancelKillsProcessGroup is the contract's cancel test: a command
// that left a child running is canceled; the child, the shell and nothing
// else of the group survives, and the shell is reaped (no zombie).
func TestShellCancelKillsProcessGroup(t *testing.T) {
	for _, tc := range []struct {
		name, command string
	}{
		{"child holds pipes", `sleep 1000 & echo "$! $$"; wait`},
		{"child redirected", `sleep 1000 >/dev/null 2>&1 & echo "$! $$"; wait`},
		{"child ignores TERM", `sh -c 'trap "" TERM; echo "$$ $PPID"; while :; do sleep 1; done' & wait`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := NewRegistry(Options{ShellKillGrace: 200 * time.Millisecond})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			pids := make(chan string, 1)
			var logged atomic.Bool
			done := make(chan struct{})
			var out any
			var err error
			go func() {
				defer close(done)
				out, err = reg.Run(ctx, "shell", Call{Project: testProject(t), Params: map[string]any{"command": tc.command},
					Log: func(stream, line string) {
						if stream == "stdout" && logged.CompareAndSwap(false, true) {
							pids <- line
						}
					}})
			}()
			var line string
			select {
			case line = <-pids:
			case <-time.After(30 * time.Second):
				t.Fatal("command did not start")
			}
			cancel()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("Run did not return after cancel")
			}
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled in chain", err)
			}
			wantCode(t, err, flow.EUNAVAILABLE, "canceled")
			if out == nil {
				t.Error("no output returned with the cancel error")
			}
			f := strings.Fields(line)
			child, _ := strconv.Atoi(f[0])
			shell, _ := strconv.Atoi(f[1])
			waitGone(t, child)
			if _, err := os.Stat(fmt.Sprintf("/proc/%d", shell)); err == nil {
				t.Errorf("shell %d still exists after Run returned (zombie?)", shell)
			}
		})
	}
}

func TestShellTimeout(t *testing.T) {
	reg := NewRegistry(Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := reg.Run(ctx, "shell", Call{Project: testProject(t), Params: map[string]any{"command": "sleep 1000"}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	wantCode(t, err, flow.EUNAVAILABLE, "timed out")
}

// A background process that keeps stdout open after the shell exited must
// not hang the node: after the pipe grace it is killed.
func TestShellBackgroundHolderAfterExit(t *testing.T) {
	reg := NewRegistry(Options{ShellPipeGrace: 100 * time.Millisecond})
	out, rec, err := run(t, reg, testProject(t), "shell", map[string]any{"command": `sleep 1000 & echo "$!"`})
	if err != nil {
		t.Fatal(err)
	}
	if out.(map[string]any)["exitCode"] != 0 {
		t.Errorf("exitCode = %v", out.(map[string]any)["exitCode"])
	}
	lines := rec.get("stdout")
	if len(lines) != 1 {
		t.Fatalf("stdout = %q", lines)
	}
	pid, _ := strconv.Atoi(lines[0])
	waitGone(t, pid)
}

func TestShellLongLinesAndTail(t *testing.T) {
	reg := NewRegistry(Options{MaxLineBytes: 100, ShellTail: 1000})
	out, rec, err := run(t, reg, testProject(t), "shell", map[string]any{
		"command": `head -c 250 /dev/zero | tr '\0' 'x'; echo; echo short; seq 1 500`,
	})
	if err != nil {
		t.Fatal(err)
	}
	lines := rec.get("stdout")
	if len(lines) != 502 {
		t.Fatalf("got %d lines", len(lines))
	}
	want := strings.Repeat("x", 100) + " … [line truncated: 150 more bytes]"
	if lines[0] != want || lines[1] != "short" || lines[501] != "500" {
		t.Errorf("lines[0]=%q lines[1]=%q last=%q", lines[0], lines[1], lines[501])
	}
	m := out.(map[string]any)
	tail := m["stdout"].(string)
	if m["stdoutTruncated"] != true || len(tail) > 1000 || !strings.HasSuffix(tail, "499\n500\n") || strings.HasPrefix(tail, "\n") {
		t.Errorf("tail (%d bytes, truncated=%v) = %q...", len(tail), m["stdoutTruncated"], tail[:20])
	}
	first := strings.SplitN(tail, "\n", 2)[0]
	if _, err := strconv.Atoi(first); err != nil {
		t.Errorf("tail does not start at a line boundary: %q", first)
	}
	if m["linesCut"] != int64(1) {
		t.Errorf("linesCut = %v", m["linesCut"])
	}
}

func TestShellInvalidUTF8(t *testing.T) {
	reg := NewRegistry(Options{})
	_, rec, err := run(t, reg, testProject(t), "shell", map[string]any{"command": `printf 'a\377b\n'`})
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.get("stdout"); len(got) != 1 || got[0] != "a\uFFFDb" {
		t.Errorf("line = %q", got)
	}
}

func TestShellAlreadyCanceled(t *testing.T) {
	reg := NewRegistry(Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p := testProject(t)
	_, err := reg.Run(ctx, "shell", Call{Project: p, Params: map[string]any{"command": "touch ran"}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(p.Path, "ran")); err == nil {
		t.Error("command ran although ctx was canceled")
	}
}

// BenchmarkShellLines measures the shell tool's line throughput: seq
// prints 1,000,000 lines, each handed to Log (a counter here, so the
// number is the tool's own cost: pipe reads, splitting, tails).
func BenchmarkShellLines(b *testing.B) {
	reg := NewRegistry(Options{})
	dir := b.TempDir()
	var lines atomic.Int64
	call := Call{Project: flow.Project{ID: "p", Path: dir}, Params: map[string]any{"command": "seq 1000000"},
		Log: func(string, string) { lines.Add(1) }}
	start := time.Now()
	for b.Loop() {
		if _, err := reg.Run(context.Background(), "shell", call); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(lines.Load())/time.Since(start).Seconds(), "lines/s")
	if lines.Load()%1000000 != 0 {
		b.Fatalf("lost lines: %d", lines.Load())
	}
}
