//go:build unix && !linux

package procs

import (
	"os/exec"
	"syscall"
)

func setProcessGroup(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
}

// Identify returns the group of a child started by Start. Start times are
// not read here (no /proc): StartTicks stays 0.
func Identify(pid int) (Group, error) { return Group{Pgid: pid}, nil }

// Kill cannot tell a leftover group from one that reused its id without
// start times, so it kills nothing and says so.
func Kill(g Group) (int, error) { return 0, ErrUnverifiable }

// KillGroup sends SIGKILL to a live group this process started.
func KillGroup(pgid int) { _ = syscall.Kill(-pgid, syscall.SIGKILL) }
