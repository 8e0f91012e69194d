//go:build !linux

package procs

import "os/exec"

// Start starts cmd in a process group of its own where the system has
// them (setProcessGroup). There is no parent-death signal here, and no
// portable way to wait without reaping, so the process is reaped as soon
// as it exits; signalling its group afterwards relies on the group id not
// being reused within moments (it stays held by any member left).
func Start(cmd *exec.Cmd) (*Proc, error) {
	setProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Proc{cmd: cmd, exited: make(chan struct{})}
	go func() {
		defer close(p.exited)
		p.err = cmd.Wait()
	}()
	return p, nil
}

func (p *Proc) wait() error { return nil }
