//go:build !unix

package mcp

import "os/exec"

// setProcessGroup is a no-op where process groups do not exist; killGroup
// then ends only the server process itself.
func setProcessGroup(cmd *exec.Cmd) {}

func killGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
}
