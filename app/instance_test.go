package app

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/datadir"
)

// The helper process: the first desktop instance of a data dir, without a
// window. It prints "ready", then one JSON line per second launch it
// receives, and exits when its stdin closes.
const helperEnv = "FW_APP_TEST_INSTANCE_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		os.Exit(runInstanceHelper(dir))
	}
	os.Exit(m.Run())
}

func runInstanceHelper(dir string) int {
	in, err := Acquire(context.Background(), dir, Launch{}, AcquireOptions{})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println("ready")
	go func() {
		for l := range in.Launches() {
			b, _ := json.Marshal(l)
			fmt.Println(string(b))
		}
	}()
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // until the test closes stdin
	_ = in.Close()
	return 0
}

type helper struct {
	cmd   *exec.Cmd
	lines chan string
	stdin interface{ Close() error }
}

func startHelper(t *testing.T, dir string) *helper {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &helper{cmd: cmd, lines: make(chan string, 16), stdin: stdin}
	go func() {
		defer close(h.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			h.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	if l := h.next(t); l != "ready" {
		t.Fatalf("helper: %s", l)
	}
	return h
}

// next waits (generously) for the helper's next line.
func (h *helper) next(t *testing.T) string {
	t.Helper()
	select {
	case l, ok := <-h.lines:
		if !ok {
			t.Fatal("helper exited")
		}
		return l
	case <-time.After(60 * time.Second):
		t.Fatal("helper said nothing for 60 s")
	}
	return ""
}

// A second launch, in another process, finds the running instance through
// the data dir's instance file, hands it its arguments (the running one
// shows its window for them) and is told to exit: the database is never
// opened twice.
func TestSecondLaunchHandsItsArgumentsToTheRunningProcess(t *testing.T) {
	dir := t.TempDir()
	h := startHelper(t, dir)

	ctx := context.Background()
	_, err := Acquire(ctx, dir, Launch{Args: []string{"--data-dir", dir}, WorkingDirectory: "/somewhere"}, AcquireOptions{Wait: 30 * time.Second})
	if !errors.Is(err, ErrAlreadyRunning) {
		t.Fatalf("second launch: %v, want ErrAlreadyRunning", err)
	}
	var got Launch
	if err := json.Unmarshal([]byte(h.next(t)), &got); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Args, []string{"--data-dir", dir}) || got.WorkingDirectory != "/somewhere" {
		t.Fatalf("the running process got %+v", got)
	}

	// An autostart launch (--background) reaches it too; the shell keeps
	// its window as it is for that one (focusOnLaunch).
	if _, err := Acquire(ctx, dir, Launch{Args: []string{BackgroundFlag}}, AcquireOptions{Wait: 30 * time.Second}); !errors.Is(err, ErrAlreadyRunning) {
		t.Fatalf("background launch: %v", err)
	}
	if err := json.Unmarshal([]byte(h.next(t)), &got); err != nil || !slices.Equal(got.Args, []string{BackgroundFlag}) {
		t.Fatalf("background launch delivered %+v %v", got, err)
	}
}

// The focus endpoint wants the secret of the instance file: a process that
// cannot read the data dir cannot make the window do anything.
func TestFocusEndpointRefusesAWrongSecret(t *testing.T) {
	dir := t.TempDir()
	startHelper(t, dir)
	b, err := os.ReadFile(filepath.Join(dir, instanceFileName))
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(dir, instanceFileName)); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("instance file mode: %v %v", st.Mode(), err)
	}
	var info instanceInfo
	if err := json.Unmarshal(b, &info); err != nil {
		t.Fatal(err)
	}
	info.Secret = "wrong"
	forged, _ := json.Marshal(info) //nolint:gosec // G117: a forged instance file is the point of this test
	fake := t.TempDir()
	if err := os.WriteFile(filepath.Join(fake, instanceFileName), forged, 0o600); err != nil {
		t.Fatal(err)
	}
	err = postFocus(context.Background(), httpClient(), fake, []byte(`{"args":[]}`))
	if err == nil || !contains(err.Error(), "403") {
		t.Fatalf("wrong secret: %v, want a 403", err)
	}
}

// When the running instance dies (kill -9), the kernel drops its lock: the
// next launch becomes the instance, whatever the stale file says.
func TestLaunchAfterTheInstanceWasKilledTakesOver(t *testing.T) {
	dir := t.TempDir()
	h := startHelper(t, dir)
	if err := h.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	for range h.lines { // until it is gone
	}
	if _, err := os.Stat(filepath.Join(dir, instanceFileName)); err != nil {
		t.Fatalf("a killed instance leaves its file behind; this test needs it: %v", err)
	}
	in, err := Acquire(context.Background(), dir, Launch{}, AcquireOptions{Wait: 30 * time.Second})
	if err != nil {
		t.Fatalf("launch after kill -9: %v", err)
	}
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
}

// A data dir held by `serve` has no window to show: the launch is refused
// at once, naming the holder, instead of waiting for an answer.
func TestLaunchOnADataDirHeldByServeIsBusy(t *testing.T) {
	dir := t.TempDir()
	l, err := datadir.Acquire(dir, "serve")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Release() }()
	_, err = Acquire(context.Background(), dir, Launch{}, AcquireOptions{Wait: 30 * time.Second})
	if !errors.Is(err, ErrBusy) || !errors.Is(err, datadir.ErrLocked) {
		t.Fatalf("launch on serve's dir: %v", err)
	}
}

func httpClient() *http.Client { return &http.Client{Timeout: 30 * time.Second} }

func contains(s, sub string) bool { return strings.Contains(s, sub) }
