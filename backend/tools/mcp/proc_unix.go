//go:build unix

package mcp

import (
	"os/exec"
	"syscall"
)

// setProcessGroup puts the child in a new process group whose id is its pid,
// so killGroup reaches every helper it starts (npx, shells, language
// runtimes) and nothing is left behind.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// killGroup sends SIGKILL to the child's process group. ESRCH (nobody left)
// is the normal outcome after a clean exit and is ignored.
func killGroup(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
