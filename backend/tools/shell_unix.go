//go:build unix

package tools

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/procs"
)

// Run starts the command in its own process group, streams its output and
// waits for it. The sequence, and why:
//
//  1. The command gets its own process group, so everything it starts can
//     be signalled at once with kill(-pgid), and (procs.Start, on Linux) a
//     parent-death signal, so kill -9 of the server ends the shell at once.
//     call.Started records the group so that a restarted server can kill
//     what the shell left behind before the node runs again.
//  2. stdout/stderr are os.Pipes read by two goroutines owned by Run; the
//     child gets the write ends directly (no copying goroutine in exec).
//  3. Exit is detected without reaping the shell (waitid WNOWAIT on
//     Linux): while the shell is an unreaped zombie its pid, and so the
//     group id, cannot be reused, which makes every later kill(-pgid) safe.
//  4. On cancel/timeout: SIGTERM to the group, ShellKillGrace, SIGKILL.
//  5. After the shell exited, background processes may still hold the
//     pipes. They get ShellPipeGrace; then the group is SIGKILLed and, if a
//     process outside the group (setsid) still holds a pipe, reading stops.
//  6. Whatever is left of the group is SIGKILLed: a node's processes end
//     with the node (a daemon meant to outlive it must leave the group,
//     e.g. with setsid).
//  7. Wait reaps the shell: no zombie, and Log is never called after Run
//     returns because both readers have finished.
func (t *shellTool) Run(ctx context.Context, call Call) (any, error) {
	if err := shellSpec.validate(call.Params); err != nil {
		return nil, err
	}
	command := call.Params["command"].(string)
	if command == "" {
		return nil, flow.Errorf(flow.EINVALID, "shell: invalid params: command is empty")
	}
	env := stringMap(call.Params["env"])
	if err := envProblems(env); err != nil {
		return nil, err
	}
	dir, err := t.workDir(call.Project, strParam(call.Params, "cwd", ""))
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, ctxError(ctx, "shell")
	}

	cmd := exec.Command("/bin/sh", "-c", command)
	cmd.Dir = dir
	cmd.Env = t.environ(call, env)
	// Stdin stays nil: the command reads /dev/null, never the daemon's stdin.

	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("shell: stdout pipe: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		_ = outR.Close()
		_ = outW.Close()
		return nil, fmt.Errorf("shell: stderr pipe: %w", err)
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	start := t.opts.Now()
	proc, err := procs.Start(cmd)
	_ = outW.Close() // the child holds its own copies now
	_ = errW.Close()
	if err != nil {
		_ = outR.Close()
		_ = errR.Close()
		return nil, flow.Errorf(flow.EUNAVAILABLE, "shell: cannot start /bin/sh: %v", err)
	}
	pgid := proc.Pid()
	if call.Started != nil {
		if forget := call.Started(pgid); forget != nil {
			defer forget() // runs after the group is gone and the shell reaped
		}
	}

	stdout := newLineStream("stdout", call.Log, t.opts.MaxLineBytes, t.opts.ShellTail)
	stderr := newLineStream("stderr", call.Log, t.opts.MaxLineBytes, t.opts.ShellTail)
	var readers sync.WaitGroup
	readers.Go(func() { stdout.consume(outR) })
	readers.Go(func() { stderr.consume(errR) })
	readDone := make(chan struct{})
	go func() { readers.Wait(); close(readDone) }()

	canceled := false
	select {
	case <-proc.Exited():
	case <-ctx.Done():
		canceled = true
		t.terminate(pgid, proc.Exited())
	}

	// The shell has exited (and on Linux is not yet reaped).
	// Processes it left in the background may still hold the pipes.
	done := ctx.Done()
	if canceled {
		done = nil // already terminating: let the group's SIGTERM take effect
	}
	grace := time.NewTimer(t.opts.ShellPipeGrace)
	select {
	case <-readDone:
	case <-done:
		canceled = true
		t.abandonPipes(pgid, readDone, outR, errR)
	case <-grace.C:
		t.abandonPipes(pgid, readDone, outR, errR)
	}
	grace.Stop()
	<-readDone
	// Nothing of the command may survive the node, even what closed its
	// output or ignored SIGTERM. The unreaped shell keeps pgid ours.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	waitErr := proc.Wait()
	_ = outR.Close()
	_ = errR.Close()

	out := map[string]any{
		"exitCode":   0,
		"stdout":     stdout.tail.String(),
		"stderr":     stderr.tail.String(),
		"durationMs": t.opts.Now().Sub(start).Milliseconds(),
	}
	if stdout.tail.truncated {
		out["stdoutTruncated"] = true
	}
	if stderr.tail.truncated {
		out["stderrTruncated"] = true
	}
	if n := stdout.cut + stderr.cut; n > 0 {
		out["linesCut"] = n
	}
	code, signal := exitStatus(cmd, waitErr)
	out["exitCode"] = code
	if signal != "" {
		out["signal"] = signal
	}
	if canceled {
		return out, ctxError(ctx, "shell")
	}
	if waitErr != nil && code == 0 && signal == "" {
		return out, fmt.Errorf("shell: wait: %w", waitErr)
	}
	if code != 0 || signal != "" {
		msg := fmt.Sprintf("shell: command exited with code %d", code)
		if signal != "" {
			msg = "shell: command was killed by signal " + signal
		}
		if last := lastLines(out["stderr"].(string), stderrLinesInError); last != "" {
			msg += ": " + last
		}
		return out, &flow.Error{Code: EToolFailed, Message: msg, Details: map[string]any{"exitCode": code}}
	}
	return out, nil
}

// terminate ends the process group of a canceled command: SIGTERM, then
// SIGKILL if the shell is still there after the grace period. It returns
// once the shell has exited.
func (t *shellTool) terminate(pgid int, exited <-chan struct{}) {
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	grace := time.NewTimer(t.opts.ShellKillGrace)
	defer grace.Stop()
	select {
	case <-exited:
		return
	case <-grace.C:
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	<-exited
}

// abandonPipes stops waiting for output held open by leftover background
// processes: their group is killed, they get a short moment to let the
// pipes drain, then the reads are cut off with a deadline.
func (t *shellTool) abandonPipes(pgid int, readDone <-chan struct{}, pipes ...*os.File) {
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	drain := time.NewTimer(200 * time.Millisecond)
	defer drain.Stop()
	select {
	case <-readDone:
		return
	case <-drain.C:
	}
	for _, p := range pipes {
		_ = p.SetReadDeadline(time.Now())
	}
}

// workDir resolves the cwd param inside the project folder. os.Root does
// the check, so a symlinked directory pointing out of the project is
// refused as well. The command itself is not confined: it runs with the
// user's rights, like a terminal opened in the folder.
func (t *shellTool) workDir(p flow.Project, cwd string) (string, error) {
	root, err := openProjectRoot("shell", p)
	if err != nil {
		return "", err
	}
	defer root.Close()
	if cwd == "" {
		return root.Name(), nil
	}
	rel, err := cleanRel("shell", "cwd", cwd)
	if err != nil {
		return "", err
	}
	fi, err := root.Stat(rel)
	if err != nil {
		return "", rootError("shell", "cwd", rel, err)
	}
	if !fi.IsDir() {
		return "", flow.Errorf(flow.EINVALID, "shell: cwd %q is not a directory", filepath.ToSlash(rel))
	}
	return filepath.Join(root.Name(), rel), nil
}

// environ is the base environment, then FLOWWEAVER_* variables that tell
// the command where it runs, then the node's env (later entries win).
func (t *shellTool) environ(call Call, env map[string]string) []string {
	base := t.opts.ShellEnv
	if base == nil {
		base = os.Environ()
	}
	out := make([]string, 0, len(base)+3+len(env))
	out = append(out, base...)
	out = append(out,
		"FLOWWEAVER_PROJECT_DIR="+call.Project.Path,
		"FLOWWEAVER_RUN_ID="+call.RunID,
		"FLOWWEAVER_NODE_ID="+call.NodeID,
	)
	for _, k := range sortedKeys(env) {
		out = append(out, k+"="+env[k])
	}
	return out
}

// exitStatus returns the exit code and, for a command killed by a signal,
// the signal's name (exit code -1 then).
func exitStatus(cmd *exec.Cmd, waitErr error) (int, string) {
	var ee *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &ee) {
		return -1, ""
	}
	st := cmd.ProcessState
	if st == nil {
		return -1, ""
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return -1, ws.Signal().String()
	}
	return st.ExitCode(), ""
}
