// Command cpuwrap runs the program named by $REAL with its own arguments,
// forwards SIGINT and SIGTERM to it, and when it was started as `serve`
// appends its user+system CPU seconds to the file $CPULOG. Give it to a
// load tool in place of the flowweaver binary (`runs -fw-bin cpuwrap`):
// the tool's own `token` calls pass through, and the server's CPU per run
// is the logged seconds divided by the runs. That figure compares two
// binaries on a shared, noisy machine far better than runs per second.
//
//	go build -o /tmp/cpuwrap ./tools/cpuwrap
//	REAL=build/bin/flowweaver CPULOG=cpu.log runs -fw-bin /tmp/cpuwrap -runs=8000 -clients=16
package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

func main() {
	os.Exit(run())
}

func run() int {
	real := os.Getenv("REAL")
	if real == "" {
		fmt.Fprintln(os.Stderr, "cpuwrap: set REAL to the program to run")
		return 2
	}
	cmd := exec.Command(real, os.Args[1:]...) //nolint:gosec // G702: running $REAL with our arguments is what the wrapper is for
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "cpuwrap:", err)
		return 1
	}
	go func() {
		for s := range sig {
			_ = cmd.Process.Signal(s)
		}
	}()
	err := cmd.Wait()
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		if logErr := logCPU(os.Getenv("CPULOG"), cmd.ProcessState); logErr != nil {
			fmt.Fprintln(os.Stderr, "cpuwrap:", logErr)
		}
	}
	if err != nil {
		return 1
	}
	return 0
}

// logCPU appends the process's user+system CPU seconds to path.
func logCPU(path string, ps *os.ProcessState) error {
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600) //nolint:gosec // G703: the log the user named in $CPULOG
	if err != nil {
		return fmt.Errorf("open CPU log: %w", err)
	}
	_, err = fmt.Fprintf(f, "%.3f\n", (ps.UserTime() + ps.SystemTime()).Seconds())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
