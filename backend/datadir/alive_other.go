//go:build !unix

package datadir

// pidAlive cannot tell cheaply here; callers then rely on the process
// answering at the address it advertised.
func pidAlive(pid int) bool { return true }
