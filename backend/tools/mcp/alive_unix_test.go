//go:build unix

package mcp

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"
)

// alive reports whether pid is a live process (a zombie counts as gone:
// it has exited and only waits for its parent, possibly init, to reap it).
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return runtime.GOOS != "linux"
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}
