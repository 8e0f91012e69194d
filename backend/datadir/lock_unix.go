//go:build !windows

package datadir

import (
	"errors"
	"os"
	"syscall"
)

// tryLock takes an exclusive flock(2) without waiting. The kernel drops it
// when the last descriptor closes, so a crash never leaves a stale lock;
// Go opens files close-on-exec, so child processes do not keep it past
// exec (between fork and exec they share it: see tryLockOrOrphan).
func tryLock(f *os.File) (bool, error) {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EWOULDBLOCK):
			return false, nil
		}
		return false, err
	}
}

func unlock(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
