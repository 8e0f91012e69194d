//go:build !unix

package procs

import "os/exec"

// setProcessGroup does nothing here: Windows has job objects, which
// Flow Weaver does not use yet, so a tool server's helpers are not tracked.
func setProcessGroup(cmd *exec.Cmd) {}

// Identify returns the process; without process groups it is the group.
func Identify(pid int) (Group, error) { return Group{Pgid: pid}, nil }

// Kill is not supported here.
func Kill(g Group) (int, error) { return 0, ErrUnverifiable }

// KillGroup kills nothing: there are no process groups.
func KillGroup(pgid int) {}
