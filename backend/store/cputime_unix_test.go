//go:build unix

package store_test

import (
	"syscall"
	"time"
)

// processCPU is the user+system CPU time of this process so far: a
// benchmark's CPU per op stays comparable while other work loads the
// machine, when its wall-clock ns/op does not.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
