//go:build linux || darwin

package cli_test

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/flowweaver/flowweaver/cli"
)

// ttyProc is flowweaver on a pseudo-terminal: stdin, stdout and stderr
// are the terminal, as in an interactive shell.
type ttyProc struct {
	cmd  *exec.Cmd
	tty  *os.File
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
}

func startTTY(t *testing.T, dir string, env []string, args ...string) *ttyProc {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 120})
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	p := &ttyProc{cmd: cmd, tty: f, done: make(chan struct{})}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			p.mu.Lock()
			p.out.Write(buf[:n])
			p.mu.Unlock()
			if err != nil {
				break
			}
		}
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = f.Close()
	})
	return p
}

func (p *ttyProc) output() string { p.mu.Lock(); defer p.mu.Unlock(); return p.out.String() }

func (p *ttyProc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(120 * time.Second):
		t.Fatalf("no exit; output:\n%q", p.output())
	}
	return p.cmd.ProcessState.ExitCode()
}

// TestRunTerminalPromptsForTrust: on a terminal an untrusted project gets
// a y/N question; "n" runs nothing (exit 2), "y" trusts and runs, with the
// node id coloured. NO_COLOR turns the colours off.
func TestRunTerminalPromptsForTrust(t *testing.T) {
	dataDir := t.TempDir()
	proj := newProject(t, map[string]string{"build": shellWF("build", "touch ran.marker; echo built; sleep 1.5")})
	mcp := `{"mcpServers": {"marker": {"command": "sh", "args": ["-c", "touch mcp.marker"], "env": {"TOKEN": "${env:HOME}"}}}}`
	if err := os.WriteFile(filepath.Join(proj, ".mcp.json"), []byte(mcp), 0o644); err != nil {
		t.Fatal(err)
	}

	no := startTTY(t, proj, []string{"NO_COLOR=", "TERM=xterm"}, "run", "--data-dir", dataDir, "build")
	waitFor(t, "the trust question", func() bool { return strings.Contains(no.output(), "[y/N]") })
	if !strings.Contains(no.output(), "workflow build: shell: touch ran.marker; echo built; sleep 1.5") {
		t.Errorf("the question does not show the workflow's command:\n%q", no.output())
	}
	if !strings.Contains(no.output(), "MCP server marker (.mcp.json): sh -c touch mcp.marker  env: TOKEN") {
		t.Errorf("the question does not show the MCP server:\n%q", no.output())
	}
	_, _ = io.WriteString(no.tty, "n\n")
	if code := no.wait(t); code != cli.ExitUsage {
		t.Fatalf("answer n: exit %d\n%q", code, no.output())
	}
	if fileExists(filepath.Join(proj, "ran.marker")) {
		t.Fatal("the project ran after the user said no")
	}
	if fileExists(filepath.Join(proj, "mcp.marker")) {
		t.Fatal("the untrusted project's MCP server was started")
	}

	yes := startTTY(t, proj, []string{"NO_COLOR=", "TERM=xterm"}, "run", "--data-dir", dataDir, "build")
	waitFor(t, "the trust question", func() bool { return strings.Contains(yes.output(), "[y/N]") })
	_, _ = io.WriteString(yes.tty, "y\n")
	if code := yes.wait(t); code != 0 {
		t.Fatalf("answer y: exit %d\n%q", code, yes.output())
	}
	out := yes.output()
	if !strings.Contains(out, "\x1b[") || !strings.Contains(out, "build"+"\x1b[0m | built") {
		t.Fatalf("no coloured node prefix on a terminal:\n%q", out)
	}
	if !strings.Contains(out, "⠙") && !strings.Contains(out, "⠹") && !strings.Contains(out, "⠸") {
		t.Errorf("no spinner on a terminal for a 1.5s node:\n%q", out)
	}

	plain := startTTY(t, proj, []string{"NO_COLOR=1", "TERM=xterm"}, "run", "--data-dir", dataDir, "build")
	if code := plain.wait(t); code != 0 {
		t.Fatalf("NO_COLOR run (trusted now, no question): exit %d\n%q", code, plain.output())
	}
	if out := plain.output(); strings.Contains(out, "[y/N]") || strings.Contains(out, "\x1b[3") || !strings.Contains(out, "build | built") {
		t.Fatalf("NO_COLOR output:\n%q", out)
	}
}
