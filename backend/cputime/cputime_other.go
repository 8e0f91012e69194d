//go:build !unix

// Package cputime reads the CPU time this process has used. Benchmarks
// report it per operation (cpu-ns/op, cpu-us/delivery): on a shared,
// loaded machine that figure stays comparable between runs when the
// wall-clock ns/op does not.
package cputime

import "time"

// Process is not measured on this system: it is always 0, and so are the
// benchmarks' CPU figures.
func Process() time.Duration { return 0 }
