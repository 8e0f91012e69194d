//go:build unix

package testserver

import (
	"os"
	"syscall"
)

// freeze stops the whole process, so it answers nothing (not even pings)
// until it is killed: a hung server as the host sees it.
func freeze() error { return syscall.Kill(os.Getpid(), syscall.SIGSTOP) }
