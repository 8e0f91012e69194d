package main

import (
	"runtime/debug"
	"testing"
)

// TestTuneGCLeavesAnExplicitGOGCAlone: without GOGC the collector's
// target becomes gcPercent; with GOGC set, the runtime's own reading of it
// stays.
func TestTuneGCLeavesAnExplicitGOGCAlone(t *testing.T) {
	orig := debug.SetGCPercent(100)
	defer debug.SetGCPercent(orig)

	tuneGC(func(string) string { return "" })
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Fatalf("GOGC unset: target %d, want %d", got, gcPercent)
	}
	tuneGC(func(k string) string {
		if k == "GOGC" {
			return "50"
		}
		return ""
	})
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("GOGC set: target changed to %d", got)
	}
}
