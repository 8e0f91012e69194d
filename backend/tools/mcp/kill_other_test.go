//go:build !unix

package mcp

import "os"

// killProcess ends pid at once (TerminateProcess on Windows).
func killProcess(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	defer func() { _ = p.Release() }()
	return p.Kill()
}
