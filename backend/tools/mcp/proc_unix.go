//go:build unix

package mcp

import (
	"os/exec"
	"syscall"
)

// killGroup sends SIGKILL to the child's process group. ESRCH (nobody left)
// is the normal outcome after a clean exit and is ignored.
func killGroup(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
