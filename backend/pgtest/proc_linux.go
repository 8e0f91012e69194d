//go:build linux

package pgtest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const supported = true

// credential is the OS user a server process runs as.
type credential = syscall.Credential

// postmaster is a running server process and its supervisor goroutine.
type postmaster struct {
	pid  int
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, set before done closes
}

// serverCredential is the OS user the server runs as: the postgres user
// when we are root (initdb and postgres refuse to run as root), else
// ourselves (nil: no change).
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pgtest: running as root needs the postgres OS user (Debian's postgresql package creates it): %w", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("pgtest: postgres uid %q: %w", u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("pgtest: postgres gid %q: %w", u.Gid, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

// sysProcAttr puts the server in its own process group (a Ctrl-C aimed at
// the test does not reach it; the postmaster shuts down on our signal,
// in order) and asks the kernel to SIGKILL it if its parent
// dies: a test binary that panics or is killed leaves no server running.
// Go applies the parent-death signal after switching credentials, which
// would otherwise clear it.
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
}

// giveTo hands dir to the server's user (no change when cred is nil).
func giveTo(dir string, cred *credential) error {
	if cred == nil {
		return nil
	}
	if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
		return fmt.Errorf("pgtest: chown %s: %w", dir, err)
	}
	return nil
}

// asServerUser makes cmd run like the server: same user, same guards.
func asServerUser(cmd *exec.Cmd, cred *credential) { cmd.SysProcAttr = sysProcAttr(cred) }

// launch starts the postmaster from a goroutine locked to its OS thread.
// The parent-death signal fires when the forking *thread* exits, not the
// process (go.dev/issue/27505), and the Go scheduler may retire idle
// threads; this goroutine keeps its thread until the postmaster exits and
// never unlocks it, so the thread ends only after the child is gone or when
// the whole test binary dies.
func launch(path string, args []string, dir string, cred *syscall.Credential, out *os.File) (*postmaster, error) {
	p := &postmaster{done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		cmd := exec.Command(path, args...)
		cmd.Dir = dir
		cmd.Stdout, cmd.Stderr = out, out
		cmd.SysProcAttr = sysProcAttr(cred)
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		p.pid = cmd.Process.Pid
		started <- nil
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return p, nil
}

// kill ends the process group at once and waits for it.
func (p *postmaster) kill() { _ = p.stop(syscall.SIGKILL, 10*time.Second) }

// shutdown maps a Shutdown mode to the postmaster's signals (see the
// PostgreSQL docs, "Shutting Down the Server").
func (p *postmaster) shutdown(how Shutdown, grace time.Duration) error {
	sig := map[Shutdown]syscall.Signal{ShutdownFast: syscall.SIGINT, ShutdownImmediate: syscall.SIGQUIT, ShutdownKill: syscall.SIGKILL}[how]
	return p.stop(sig, grace)
}

// stop sends sig to the postmaster, waits up to grace for it to exit, then
// kills it, and returns once neither it nor any of its backends is left.
//
// Backends call setsid(), so they are not in the postmaster's process
// group. On an orderly or immediate shutdown the postmaster exits only after
// its children; for a kill it is first frozen (SIGSTOP: it cannot fork any
// more), its children are listed and everything is killed.
func (p *postmaster) stop(sig syscall.Signal, grace time.Duration) error {
	if sig != syscall.SIGKILL {
		_ = syscall.Kill(p.pid, sig)
		select {
		case <-p.done:
			return nil
		case <-time.After(grace):
		}
	}
	_ = syscall.Kill(p.pid, syscall.SIGSTOP)
	kids := children(p.pid)
	_ = syscall.Kill(p.pid, syscall.SIGKILL)
	for _, k := range kids {
		_ = syscall.Kill(k, syscall.SIGKILL)
	}
	<-p.done
	deadline := time.Now().Add(30 * time.Second)
	for _, k := range kids {
		for pidAlive(k) {
			if time.Now().After(deadline) {
				return fmt.Errorf("pgtest: backend %d still running after SIGKILL", k)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return nil
}

// children lists the processes whose parent is pid.
func children(pid int) []int {
	var kids []int
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		fields := statFields(f)
		// state ppid pgrp ...
		if len(fields) >= 2 && fields[1] == strconv.Itoa(pid) {
			if k, err := strconv.Atoi(filepath.Base(filepath.Dir(f))); err == nil {
				kids = append(kids, k)
			}
		}
	}
	return kids
}

// statFields returns the fields of a /proc/PID/stat file after "(comm)",
// which may itself contain spaces and parentheses.
func statFields(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(b[i+1:]))
}

// pidAlive reports whether a process with this id exists and is not a zombie.
func pidAlive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	// Zombies do not count: orphaned backends are reaped by init, on its
	// own schedule.
	fields := statFields("/proc/" + strconv.Itoa(pid) + "/stat")
	return len(fields) > 0 && fields[0] != "Z" && fields[0] != "X"
}
