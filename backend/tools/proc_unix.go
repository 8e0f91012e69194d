//go:build unix && !linux

package tools

import "os/exec"

// waiter tells when a started command's process has exited. Outside Linux
// there is no portable way to wait without reaping, so the process is
// reaped right away; signalling its group afterwards relies on the group
// id not being reused within moments (it is still held by any member left).
type waiter struct {
	exited chan struct{}
	err    error
}

func startWaiter(cmd *exec.Cmd) *waiter {
	w := &waiter{exited: make(chan struct{})}
	go func() {
		defer close(w.exited)
		w.err = cmd.Wait()
	}()
	return w
}

func (w *waiter) reap() error {
	<-w.exited
	return w.err
}
