package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/flowweaver/flowweaver/backend/datadir"
	"github.com/flowweaver/flowweaver/backend/store"
)

// Exit statuses of every command (docs/cli.md).
const (
	ExitOK          = 0
	ExitFailed      = 1   // an error, or a run that failed
	ExitUsage       = 2   // bad flags or arguments, or an invalid or missing workflow
	ExitCorrupt     = 3   // the database is corrupt
	ExitLocked      = 4   // another process holds the data dir
	ExitTooNew      = 5   // the database was written by a newer version
	ExitInterrupted = 130 // Ctrl-C (the run was canceled first)
)

// usageError marks an error as the user's invocation being wrong (exit 2).
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

// UsageError marks err as a usage error: exit status 2.
func UsageError(err error) error { return usageError{err} }

// ExitError ends a command with Code; Err (optional) is printed.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode maps err to the exit status and prints it to stderr.
func ExitCode(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Err != nil {
			fmt.Fprintln(stderr, "flowweaver:", ee.Err)
		}
		return ee.Code
	}
	fmt.Fprintln(stderr, "flowweaver:", err)
	var ue usageError
	switch {
	case errors.As(err, &ue):
		return ExitUsage
	case errors.Is(err, store.ErrCorrupt):
		return ExitCorrupt
	case errors.Is(err, datadir.ErrLocked), errors.Is(err, store.ErrLocked):
		return ExitLocked
	case errors.Is(err, store.ErrTooNew):
		return ExitTooNew
	}
	return ExitFailed
}
