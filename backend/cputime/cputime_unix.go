//go:build unix

// Package cputime reads the CPU time this process has used. Benchmarks
// report it per operation (cpu-ns/op, cpu-us/delivery): on a shared,
// loaded machine that figure stays comparable between runs when the
// wall-clock ns/op does not.
package cputime

import (
	"syscall"
	"time"
)

// Process is the user+system CPU time of this process so far; 0 when the
// system does not say.
func Process() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
