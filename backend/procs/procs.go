// Package procs starts the OS processes of nodes and tool servers so that
// nothing of them outlives the server, and finds what an interrupted
// server left behind.
//
// Two mechanisms work together:
//
//   - Start puts the child in a process group of its own and, on Linux,
//     asks the kernel to SIGKILL it when its parent dies (PR_SET_PDEATHSIG),
//     so even kill -9 of the server ends it at once. The parent-death
//     signal fires when the *thread* that forked the child exits, not the
//     process (golang/go#27505): Go may end an OS thread when a goroutine
//     locked to it returns. Start therefore forks on a goroutine locked to
//     its thread and keeps it locked until the child has exited, so the
//     thread cannot end under a living child.
//   - The parent-death signal reaches only the direct child: what the child
//     started (a shell's background jobs, npx's node) stays in the group.
//     Identify returns what is needed to find that group again later, and
//     the caller records it in the database; Kill, run at the next start
//     before the interrupted work runs again, kills what is left of it,
//     checking process start times so that a recycled process id is never
//     hit.
//
// Elsewhere (macOS, the BSDs) there is no parent-death signal: the group
// dies when the server stops or cancels it, and a crash leaves it running
// until Kill, which outside Linux cannot check start times and so only
// reports the group instead of killing it.
package procs

import (
	"errors"
	"os/exec"
)

// Group identifies a process group started by Start, across restarts of
// the server: the group id (the leader's pid), the leader's start time in
// clock ticks since boot, and the boot it belongs to. Zero StartTicks means
// the start time could not be read (not Linux).
type Group struct {
	Pgid       int    `json:"pgid"`
	StartTicks uint64 `json:"startTicks"`
	BootID     string `json:"bootId"`
}

// Proc is a started child process.
type Proc struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // the reaping error where the platform reaps early
}

// Exited is closed once the process has exited. On Linux it has not been
// reaped yet: its pid, and so its group id, stays reserved until Wait, so
// signalling the group in between can never hit a process that reused the
// id.
func (p *Proc) Exited() <-chan struct{} { return p.exited }

// Pid is the child's pid, which is also its process group id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Wait waits for the exit and reaps the process; it returns what
// exec.Cmd.Wait returns. Call it once.
func (p *Proc) Wait() error {
	<-p.exited
	if p.err != nil {
		return p.err
	}
	return p.wait()
}

// ErrUnverifiable is returned by Kill where start times cannot be checked.
var ErrUnverifiable = errors.New("process start times cannot be checked on this system")
