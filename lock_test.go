package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/datadir"
	"github.com/flowweaver/flowweaver/cli"
)

// TestSecondServeOnHeldDataDirExits4: a second `serve` on a data dir held
// by a first one exits 4 with a message naming the first one's PID, and
// the first keeps serving. The runtime file names the first while it
// runs and is removed when it stops.
func TestSecondServeOnHeldDataDirExits4(t *testing.T) {
	dataDir := t.TempDir()
	s := startServe(t, dataDir)
	pid := s.cmd.Process.Pid

	rt := readRuntimeFile(t, dataDir)
	if rt.PID != pid || rt.URL != s.url || rt.Kind != "serve" {
		t.Fatalf("runtime file %+v, want pid %d url %s", rt, pid, s.url)
	}

	cmd := exec.Command(binary, "serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir)
	out, _ := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != cli.ExitLocked {
		t.Fatalf("second serve: exit %d, want %d (%s)", code, cli.ExitLocked, out)
	}
	if !strings.Contains(string(out), fmt.Sprintf("pid %d", pid)) {
		t.Fatalf("second serve does not name the holder's pid %d: %s", pid, out)
	}
	if strings.Contains(string(out), "listening") {
		t.Fatalf("second serve listened: %s", out)
	}

	tok := mint(t, dataDir)
	if code, _ := getJSON(t, s.url+"/api/projects", tok); code != 200 {
		t.Fatalf("first serve after the refusal: %d", code)
	}
	if code, body := sendJSON(t, "POST", s.url+"/api/projects", tok, `{"name":"p","path":"`+t.TempDir()+`"}`); code != 201 {
		t.Fatalf("first serve cannot write after the refusal: %d %v", code, body)
	}
	if code := s.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("first serve exit %d", code)
	}
	if _, err := os.Stat(filepath.Join(dataDir, datadir.RuntimeFileName)); !os.IsNotExist(err) {
		t.Fatalf("runtime file after a clean stop: %v", err)
	}
}

// TestServeAfterKill9IgnoresStaleRuntimeFile: kill -9 leaves the runtime
// file behind, but not the lock; the next serve starts and replaces it.
func TestServeAfterKill9IgnoresStaleRuntimeFile(t *testing.T) {
	dataDir := t.TempDir()
	s := startServe(t, dataDir)
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-s.done: // killed: the exit status is the signal
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not die on SIGKILL")
	}
	stale := readRuntimeFile(t, dataDir)
	if datadir.Live(dataDir, &stale) {
		t.Fatal("the runtime file of a killed server looks live")
	}
	s2 := startServe(t, dataDir)
	rt := readRuntimeFile(t, dataDir)
	if rt.PID != s2.cmd.Process.Pid || rt.URL != s2.url || !datadir.Live(dataDir, &rt) {
		t.Fatalf("runtime file after restart %+v", rt)
	}
	s2.stop(t, syscall.SIGTERM)
}

// TestServesStartedTogetherExactlyOneServes starts two servers on one
// data dir at the same instant, a few times: each time exactly one
// listens and the other exits 4.
func TestServesStartedTogetherExactlyOneServes(t *testing.T) {
	for round := range 3 {
		dataDir := t.TempDir()
		var cmds [2]*exec.Cmd
		var outs [2]*lockedBuffer
		for i := range cmds {
			outs[i] = &lockedBuffer{}
			cmds[i] = exec.Command(binary, "serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir)
			cmds[i].Stdout, cmds[i].Stderr = outs[i], outs[i]
		}
		for _, c := range cmds {
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
		}
		done := make(chan int, 2)
		for i, c := range cmds {
			go func() { _ = c.Wait(); done <- i }()
		}
		// One of them exits 4; the other is then the one serving.
		var loser int
		select {
		case loser = <-done:
		case <-time.After(60 * time.Second):
			t.Fatalf("round %d: neither server exited: %s | %s", round, outs[0], outs[1])
		}
		winner := 1 - loser
		if code := cmds[loser].ProcessState.ExitCode(); code != cli.ExitLocked {
			t.Fatalf("round %d: the server that exited ended %d, want %d: %s", round, code, cli.ExitLocked, outs[loser])
		}
		deadline := time.Now().Add(60 * time.Second)
		for !strings.Contains(outs[winner].String(), "listening on") {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the other server never listened: %s", round, outs[winner])
			}
			time.Sleep(20 * time.Millisecond)
		}
		if !strings.Contains(outs[loser].String(), fmt.Sprintf("pid %d", cmds[winner].Process.Pid)) {
			t.Fatalf("round %d: refusal does not name pid %d: %s", round, cmds[winner].Process.Pid, outs[loser])
		}
		_ = cmds[winner].Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			t.Fatal("serve did not stop")
		}
		if code := cmds[winner].ProcessState.ExitCode(); code != 0 {
			t.Fatalf("round %d: winner exit %d: %s", round, code, outs[winner])
		}
	}
}

func readRuntimeFile(t *testing.T, dataDir string) datadir.Runtime {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, datadir.RuntimeFileName))
	if err != nil {
		t.Fatal(err)
	}
	var rt datadir.Runtime
	if err := json.Unmarshal(b, &rt); err != nil {
		t.Fatalf("runtime file %q: %v", b, err)
	}
	return rt
}

func mint(t *testing.T, dataDir string) string {
	t.Helper()
	out, err := exec.Command(binary, "token", "--data-dir", dataDir, "--ttl", "10m").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// lockedBuffer collects a subprocess's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }
