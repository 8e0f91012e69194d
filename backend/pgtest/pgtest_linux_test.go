//go:build linux

// The tests here follow a server's processes through /proc (its children,
// their death with the test binary), so they only make sense on Linux.

package pgtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestStopLeavesNoProcessNoDirectoryNoGoroutine(t *testing.T) {
	Skip(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv, err := Start(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	pid := srv.PID()
	connect(t, srv.AdminDSN()) // a client backend, besides the auxiliary ones
	kids := children(pid)
	if len(kids) < 2 {
		t.Fatalf("postmaster %d has %d children, want its auxiliaries and a backend", pid, len(kids))
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	if pidAlive(pid) || anyAlive(kids) {
		t.Fatalf("postmaster %d or one of its backends %v still running after Stop", pid, kids)
	}
	if _, err := os.Stat(srv.dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("cluster dir %s still there: %v", srv.dir, err)
	}
	if err := srv.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

// TestServerDiesWithItsTestBinary kills -9 a process holding a running
// server (the test binary itself, re-executed): the kernel must take the
// server down with it, and the next Start must remove its directory.
func TestServerDiesWithItsTestBinary(t *testing.T) {
	Skip(t)
	if os.Getenv("FW_PGTEST_HOLDER") != "" {
		holdServer()
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestServerDiesWithItsTestBinary$", "-test.count=1")
	cmd.Env = append(os.Environ(), "FW_PGTEST_HOLDER=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pid int
	var dir string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if _, err := fmt.Sscanf(sc.Text(), "holding %d %s", &pid, &dir); err == nil {
			break
		}
	}
	if pid == 0 {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatal("holder never reported its server")
	}
	kids := children(pid)
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	deadline := time.Now().Add(60 * time.Second)
	for pidAlive(pid) || anyAlive(kids) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("postmaster %d or its backends %v outlived their test binary", pid, kids)
		}
		time.Sleep(50 * time.Millisecond)
	}
	sweepStale(filepath.Dir(dir))
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stale cluster dir %s not swept: %v", dir, err)
	}
}

// holdServer runs in the re-executed test binary: start, report, block.
func holdServer() {
	srv, err := Start(context.Background(), Options{})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Printf("holding %d %s\n", srv.PID(), srv.dir)
	select {}
}

func anyAlive(pids []int) bool {
	for _, p := range pids {
		if pidAlive(p) {
			return true
		}
	}
	return false
}
