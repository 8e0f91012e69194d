//go:build windows

package mcp

import (
	"errors"
	"syscall"
)

// alive reports whether pid is a running process. An exited process stays
// openable while someone holds a handle to it, so a zero-timeout wait on it
// tells running (WAIT_TIMEOUT) from exited.
func alive(pid int) bool {
	h, err := syscall.OpenProcess(syscall.SYNCHRONIZE, false, uint32(pid))
	if err != nil {
		return errors.Is(err, syscall.ERROR_ACCESS_DENIED)
	}
	defer func() { _ = syscall.CloseHandle(h) }()
	ev, err := syscall.WaitForSingleObject(h, 0)
	return err == nil && ev == syscall.WAIT_TIMEOUT
}
