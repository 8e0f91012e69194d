package tools

import (
	"os/exec"
	"syscall"
	"unsafe"
)

// waiter tells when a started command's process has exited and reaps it
// separately. On Linux the exit is observed with waitid(WNOWAIT), which
// leaves the process a zombie: its pid, and so its process group id, stays
// reserved until reap, so signalling the group in between can never hit an
// unrelated process that reused the id.
type waiter struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

func startWaiter(cmd *exec.Cmd) *waiter {
	w := &waiter{cmd: cmd, exited: make(chan struct{})}
	go func() {
		defer close(w.exited)
		waitExitedNoReap(cmd.Process.Pid)
	}()
	return w
}

// reap collects the exit status; call it after exited is closed.
func (w *waiter) reap() error {
	<-w.exited
	return w.cmd.Wait()
}

// waitExitedNoReap blocks until pid has exited, without reaping it. Any
// error other than EINTR (ECHILD if someone else reaped it) ends the wait:
// cmd.Wait then reports what happened.
func waitExitedNoReap(pid int) {
	const (
		pPID    = 1          // P_PID
		wExited = 0x4        // WEXITED
		wNoWait = 0x01000000 // WNOWAIT
	)
	var info [128]byte // siginfo_t
	for {
		_, _, errno := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(pid),
			uintptr(unsafe.Pointer(&info[0])), wExited|wNoWait, 0, 0)
		if errno != syscall.EINTR {
			return
		}
	}
}
