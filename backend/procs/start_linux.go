package procs

import (
	"os/exec"
	"runtime"
	"syscall"
	"unsafe"
)

// Start starts cmd in a new process group whose leader is SIGKILLed when
// this process dies. See the package comment for why the fork happens on
// a goroutine locked to its OS thread until the child has exited.
func Start(cmd *exec.Cmd) (*Proc, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pgid = 0
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	p := &Proc{cmd: cmd, exited: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		err := cmd.Start()
		started <- err
		if err == nil {
			waitExitedNoReap(cmd.Process.Pid)
		}
		// The child is gone (or never started): the thread may be reused.
		runtime.UnlockOSThread()
		close(p.exited)
	}()
	if err := <-started; err != nil {
		<-p.exited
		return nil, err
	}
	return p, nil
}

func (p *Proc) wait() error { return p.cmd.Wait() }

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
			uintptr(unsafe.Pointer(&info[0])), wExited|wNoWait, 0, 0) //nolint:gosec // G103: waitid(2) fills siginfo_t through this pointer; info outlives the call
		if errno != syscall.EINTR {
			return
		}
	}
}
