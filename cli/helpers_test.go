package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the flowweaver binary the tests run as real subprocesses.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "flowweaver-cli-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "flowweaver")
	build := exec.Command("go", "build", "-o", binary, "github.com/flowweaver/flowweaver")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build flowweaver: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// newProject makes a project folder with the given workflow files.
func newProject(t *testing.T, workflows map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	wfDir := filepath.Join(dir, ".flowweaver", "workflows")
	if err := os.MkdirAll(wfDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for id, body := range workflows {
		if err := os.WriteFile(filepath.Join(wfDir, id+".json"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// shellWF is a one-node workflow running command.
func shellWF(node, command string) string {
	b, _ := json.Marshal(map[string]any{"name": node, "nodes": []any{
		map[string]any{"id": node, "tool": "shell", "params": map[string]any{"command": command}},
	}, "edges": []any{}})
	return string(b)
}

// syncBuffer collects a subprocess's output while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// cliProc is a running `flowweaver` command.
type cliProc struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	done           chan struct{}
}

// startCLI starts flowweaver with args in dir (stdin from /dev/null: no
// terminal), with NO_COLOR unset so only the missing terminal decides.
func startCLI(t *testing.T, dir string, args ...string) *cliProc {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=")
	p := &cliProc{cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// wait returns the exit code, failing the test after a generous deadline.
func (p *cliProc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(120 * time.Second):
		t.Fatalf("flowweaver %v did not exit; stdout:\n%s\nstderr:\n%s", p.cmd.Args[1:], p.stdout, p.stderr)
	}
	return p.cmd.ProcessState.ExitCode()
}

// runCLI runs flowweaver to its end.
func runCLI(t *testing.T, dir string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	p := startCLI(t, dir, args...)
	code = p.wait(t)
	return p.stdout.String(), p.stderr.String(), code
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func fileExists(path string) bool { _, err := os.Stat(path); return err == nil }

// server is a `flowweaver serve` subprocess.
type server struct {
	cmd  *exec.Cmd
	url  string
	done chan struct{}
}

func startServe(t *testing.T, dataDir string) *server {
	t.Helper()
	cmd := exec.Command(binary, "serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir, "--workers", "4")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, done: make(chan struct{})}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "flowweaver listening on "); ok {
				urls <- u
			}
		}
		_ = cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() { s.kill() })
	select {
	case s.url = <-urls:
	case <-s.done:
		t.Fatal("serve exited before listening")
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not listen within 60s")
	}
	return s
}

func (s *server) kill() {
	select {
	case <-s.done:
	default:
		_ = s.cmd.Process.Signal(syscall.SIGKILL)
		<-s.done
	}
}

func (s *server) stop(t *testing.T) {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not stop")
	}
}

// token mints a token for dataDir with the real binary.
func token(t *testing.T, dataDir string) string {
	t.Helper()
	out, err := exec.Command(binary, "token", "--data-dir", dataDir, "--ttl", "30m").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// call sends a JSON request and decodes the JSON answer.
func call(t *testing.T, method, url, tok, body string) (int, map[string]any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return res.StatusCode, m
}
