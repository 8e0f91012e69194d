//go:build !linux

package pgtest

import (
	"errors"
	"os"
	"os/exec"
	"time"
)

// supported is false: the process guards (parent-death signal, process
// groups read from /proc) are Linux's; elsewhere Start fails and the
// shared-cluster helpers skip.
const supported = false

type credential struct{}

type postmaster struct {
	pid  int
	done chan struct{}
	err  error
}

var errUnsupported = errors.New("pgtest: needs Linux")

func serverCredential() (*credential, error) { return nil, errUnsupported }

func asServerUser(*exec.Cmd, *credential) {}

func giveTo(string, *credential) error { return errUnsupported }

func launch(string, []string, string, *credential, *os.File) (*postmaster, error) {
	return nil, errUnsupported
}

func (p *postmaster) kill() {}

func (p *postmaster) shutdown(Shutdown, time.Duration) error { return errUnsupported }

func pidAlive(int) bool { return false }
