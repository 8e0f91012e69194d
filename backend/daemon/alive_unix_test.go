//go:build unix

package daemon_test

import "syscall"

// processExists reports whether a process with this id exists (signal 0
// checks without delivering anything).
func processExists(pid int) bool { return syscall.Kill(pid, 0) == nil }
