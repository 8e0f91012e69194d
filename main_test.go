package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/pgtest"
	"github.com/flowweaver/flowweaver/cli"
)

// binary is the flowweaver binary built once for the subprocess tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "flowweaver-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "flowweaver")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build flowweaver: %v\n%s", err, out)
		os.Exit(1)
	}
	// pgtest.Run stops the throwaway PostgreSQL cluster the cluster tests
	// (main_cluster_test.go) start.
	code := pgtest.Run(m)
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// server is a `flowweaver serve` subprocess.
type server struct {
	cmd      *exec.Cmd
	url      string
	loginURL string
	done     chan struct{} // closed when the process has exited
	waitErr  error         // cmd.Wait's answer; read it after <-done
}

// startServe runs `flowweaver serve` on a free port and waits for the
// listening line.
func startServe(t *testing.T, dataDir string, extra ...string) *server {
	t.Helper()
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir}, extra...)
	cmd := exec.Command(binary, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, done: make(chan struct{})}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		s.waitErr = cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	})
	deadline := time.After(60 * time.Second)
	for s.url == "" || s.loginURL == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("serve exited before printing its URLs")
			}
			if u, ok := strings.CutPrefix(l, "flowweaver listening on "); ok {
				s.url = u
			}
			if u, ok := strings.CutPrefix(l, "open "); ok {
				s.loginURL = u
			}
		case <-deadline:
			t.Fatal("no listening line within 60s")
		}
	}
	go func() {
		for range lines {
		}
	}()
	return s
}

// stop sends sig and returns the exit code.
func (s *server) stop(t *testing.T, sig os.Signal) int {
	t.Helper()
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.done:
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not exit within 60s")
	}
	return s.cmd.ProcessState.ExitCode()
}

// getJSON sends a GET with an optional bearer token and decodes the answer.
func getJSON(t *testing.T, url, token string) (int, map[string]any) {
	t.Helper()
	return sendJSON(t, "GET", url, token, "")
}

// sendJSON sends method with a JSON body (if any) and an optional bearer
// token, and decodes the JSON answer.
func sendJSON(t *testing.T, method, url, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, m
}

func TestServeEndToEnd(t *testing.T) {
	dataDir := t.TempDir()
	s := startServe(t, dataDir)
	if !strings.HasPrefix(s.url, "http://127.0.0.1:") || !strings.Contains(s.loginURL, "/#code=") {
		t.Fatalf("urls: %q %q", s.url, s.loginURL)
	}
	if code, body := getJSON(t, s.url+"/api/health", ""); code != 200 || body["status"] != "ok" {
		t.Fatalf("health: %d %v", code, body)
	}
	// A token from `flowweaver token` with the same data dir works.
	out, err := exec.Command(binary, "token", "--data-dir", dataDir, "--ttl", "5m").Output()
	if err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimSpace(string(out))
	if strings.Count(tok, ".") != 2 || strings.Contains(tok, "\n") {
		t.Fatalf("token output %q", out)
	}
	if code, _ := getJSON(t, s.url+"/api/projects", tok); code != 200 {
		t.Fatalf("projects with minted token: %d", code)
	}
	if st, err := os.Stat(filepath.Join(dataDir, "jwt.key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("jwt.key: %v %v", st, err)
	}
	if code := s.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code after SIGTERM = %d, want 0", code)
	}
}

func TestServeSIGINT(t *testing.T) {
	s := startServe(t, t.TempDir())
	if code := s.stop(t, os.Interrupt); code != 0 {
		t.Fatalf("exit code after SIGINT = %d, want 0", code)
	}
}

func TestServeRefusesRemoteAddr(t *testing.T) {
	out, err := exec.Command(binary, "serve", "--addr", "0.0.0.0:0", "--data-dir", t.TempDir()).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--allow-remote") {
		t.Fatalf("non-loopback addr: %v %s", err, out)
	}
}

func TestServeRefusesCorruptDatabase(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "flowweaver.db"), []byte(strings.Repeat("not a database ", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "serve", "--addr", "127.0.0.1:0", "--data-dir", dir)
	out, err := cmd.CombinedOutput()
	if err == nil || cmd.ProcessState.ExitCode() != cli.ExitCorrupt || !strings.Contains(string(out), "corrupt") {
		t.Fatalf("corrupt db: exit %d, %s", cmd.ProcessState.ExitCode(), out)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"bogus"}, {"serve", "--nope"}, {"token", "--ttl", "-1s"}} {
		cmd := exec.Command(binary, args...)
		out, _ := cmd.CombinedOutput()
		if cmd.ProcessState.ExitCode() != cli.ExitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, cmd.ProcessState.ExitCode(), cli.ExitUsage, out)
		}
	}
}

// TestKill9MidRunResumes kills the real server with SIGKILL while a run is
// between two nodes. After a restart on the same data dir the run finishes,
// and the node that had finished before the kill ran exactly once.
func TestKill9MidRunResumes(t *testing.T) {
	dataDir, projectDir := t.TempDir(), t.TempDir()
	s := startServe(t, dataDir)
	tok := mintToken(t, dataDir)
	pid := createTrustedProject(t, s.url, tok, "crash", projectDir)
	wf := `{"name":"crash","nodes":[
		{"id":"count","tool":"shell","params":{"command":"echo ran >> count.txt"}},
		{"id":"wait","tool":"shell","params":{"command":"sleep 3"}},
		{"id":"after","tool":"file.write","params":{"path":"after.txt","content":"done"}}],
		"edges":[{"source":"count","target":"wait"},{"source":"wait","target":"after"}]}`
	if code, res := sendJSON(t, "PUT", s.url+"/api/projects/"+pid+"/workflows/crash", tok, wf); code != 200 {
		t.Fatalf("workflow: %d %v", code, res)
	}
	code, res := sendJSON(t, "POST", s.url+"/api/projects/"+pid+"/workflows/crash/runs", tok, `{}`)
	if code != 202 {
		t.Fatalf("run: %d %v", code, res)
	}
	runID := res["runId"].(string)

	nodeStatus := func(url, node string) string {
		_, run := getJSON(t, url+"/api/runs/"+runID, tok)
		nodes, _ := run["nodes"].([]any)
		for _, n := range nodes {
			m := n.(map[string]any)
			if m["nodeId"] == node {
				return m["status"].(string)
			}
		}
		return ""
	}
	deadline := time.Now().Add(60 * time.Second)
	for nodeStatus(s.url, "wait") != "running" {
		if time.Now().After(deadline) {
			t.Fatal("the wait node never started")
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done

	s2 := startServe(t, dataDir)
	deadline = time.Now().Add(90 * time.Second)
	for {
		_, run := getJSON(t, s2.url+"/api/runs/"+runID, tok)
		if run["status"] == "succeeded" {
			break
		}
		if run["status"] == "failed" || run["status"] == "canceled" || time.Now().After(deadline) {
			t.Fatalf("run after restart: %v", run)
		}
		time.Sleep(50 * time.Millisecond)
	}
	count, _ := os.ReadFile(filepath.Join(projectDir, "count.txt"))
	if string(count) != "ran\n" {
		t.Fatalf("the finished node ran %d times (count.txt %q)", strings.Count(string(count), "ran"), count)
	}
	if b, _ := os.ReadFile(filepath.Join(projectDir, "after.txt")); string(b) != "done" {
		t.Fatalf("after.txt = %q", b)
	}
	// The event log is complete and ordered: one run.completed, seqs increasing.
	_, evs := getJSON(t, s2.url+"/api/projects/"+pid+"/events?channel=run:"+runID, tok)
	var last float64
	completed := 0
	for _, e := range evs["events"].([]any) {
		m := e.(map[string]any)
		if m["seq"].(float64) <= last {
			t.Fatalf("seq %v after %v", m["seq"], last)
		}
		last = m["seq"].(float64)
		if m["event"] == "run.completed" {
			completed++
		}
	}
	if completed != 1 {
		t.Fatalf("%d run.completed events", completed)
	}
	if code := s2.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// mintToken prints a token for the data dir with the CLI, as a script would.
func mintToken(t *testing.T, dataDir string) string {
	t.Helper()
	out, err := exec.Command(binary, "token", "--data-dir", dataDir, "--ttl", "10m").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// createTrustedProject registers projectDir as a trusted project (runs of
// untrusted ones are refused) and returns its id.
func createTrustedProject(t *testing.T, url, tok, name, projectDir string) string {
	t.Helper()
	code, p := sendJSON(t, "POST", url+"/api/projects", tok, `{"name":"`+name+`","path":"`+projectDir+`","trusted":true}`)
	if code != 201 {
		t.Fatalf("project: %d %v", code, p)
	}
	return p["id"].(string)
}
