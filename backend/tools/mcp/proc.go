package mcp

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/flowweaver/flowweaver/backend/procs"
)

// proc is one stdio server process. It owns its pipes and its process
// group: stop kills the group, so helpers the server started die with it.
type proc struct {
	cmd     *exec.Cmd
	stdin   *os.File // our end of the child's stdin
	stdout  *os.File // our end of the child's stdout
	stderr  *tailBuffer
	exited  chan struct{} // closed once the child has been waited for
	waitErr error         // valid after exited is closed
	noise   *tailBuffer   // stdout lines that were not JSON-RPC

	stopOnce sync.Once
}

// startProc starts cfg's command in a process group of its own that dies
// with the daemon (procs.Start). environ is the base environment (the
// daemon's); cfg.Env overrides it. started (may be nil) records the group.
func startProc(cfg *serverConfig, environ []string, started func(pgid int) func()) (*proc, error) {
	cmd := exec.Command(cfg.Command, cfg.Args...)
	cmd.Dir = cfg.Cwd
	cmd.Env = mergeEnv(environ, cfg.Env, cfg.Unset)
	// WaitDelay bounds how long Wait waits for the stderr copier when a
	// grandchild that escaped the group still holds the pipe.
	cmd.WaitDelay = time.Second

	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("stdin pipe: %w", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		_ = inR.Close()
		_ = inW.Close()
		return nil, fmt.Errorf("stdout pipe: %w", err)
	}
	p := &proc{cmd: cmd, stdin: inW, stdout: outR, stderr: newTailBuffer(20), noise: newTailBuffer(5), exited: make(chan struct{})}
	cmd.Stdin = inR
	cmd.Stdout = outW
	cmd.Stderr = p.stderr
	pr, err := procs.Start(cmd)
	if err != nil {
		_ = inR.Close()
		_ = inW.Close()
		_ = outR.Close()
		_ = outW.Close()
		return nil, fmt.Errorf("start %s: %w", cfg.Command, err)
	}
	// The child holds its own copies; ours must go so EOF arrives when it exits.
	_ = inR.Close()
	_ = outW.Close()
	var forget func()
	if started != nil {
		forget = started(pr.Pid())
	}
	go func() {
		<-pr.Exited()
		// Helpers left in the group have lost their parent: end them too
		// (on Linux the unreaped server still holds the group id).
		killGroup(cmd)
		p.waitErr = pr.Wait()
		if forget != nil {
			forget()
		}
		close(p.exited)
	}()
	return p, nil
}

func mergeEnv(base []string, set map[string]string, unset []string) []string {
	drop := map[string]bool{}
	for k := range set {
		drop[k] = true
	}
	for _, k := range unset {
		drop[k] = true
	}
	out := make([]string, 0, len(base)+len(set))
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			out = append(out, kv)
		}
	}
	for k, v := range set {
		out = append(out, k+"="+v)
	}
	return out
}

// stop ends the process the way the MCP spec asks a host to: close stdin,
// give the server grace to exit, then kill its whole process group. It
// returns once the process has been reaped.
func (p *proc) stop(grace time.Duration) {
	p.stopOnce.Do(func() {
		_ = p.stdin.Close()
		select {
		case <-p.exited:
		case <-time.After(grace):
		}
		killGroup(p.cmd)
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			// A process that survives SIGKILL this long is stuck in the
			// kernel; there is nothing more a user-space host can do.
		}
		_ = p.stdout.Close()
	})
}

// reason describes how the process ended, with the tail of its stderr,
// which is where servers explain why they gave up.
func (p *proc) reason() string {
	var msg string
	select {
	case <-p.exited:
		if p.waitErr == nil {
			msg = "exited with status 0"
		} else {
			msg = "exited: " + p.waitErr.Error() // "exit status 3", "signal: killed"
		}
	default:
		msg = "connection lost"
	}
	if t := p.stderr.String(); t != "" {
		msg += "; stderr: " + t
	}
	return msg
}

func (p *proc) pid() int {
	if p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// rpcReader passes on only the stdout lines that look like JSON-RPC
// messages. Servers that print banners or debug output on stdout are common;
// the SDK would drop the whole connection at the first such line, so the
// host filters them out (and keeps a few for the status).
type rpcReader struct {
	br      *bufio.Reader
	pending []byte
	noise   *tailBuffer
	tap     func([]byte) // sees every JSON-RPC line before the SDK does
}

// maxLine bounds one stdout line (the SDK's own default frame limit).
const maxLine = 16 << 20

func newRPCReader(r io.Reader, noise *tailBuffer, tap func([]byte)) *rpcReader {
	return &rpcReader{br: bufio.NewReaderSize(r, 64<<10), noise: noise, tap: tap}
}

func (r *rpcReader) Read(p []byte) (int, error) {
	for len(r.pending) == 0 {
		line, err := r.readLine()
		if len(line) > 0 && isRPCLine(line) {
			r.tap(line)
			r.pending = append(line, '\n')
			break
		}
		if len(bytes.TrimSpace(line)) > 0 {
			r.noise.Write(append(bytes.Clone(line), '\n')) //nolint:errcheck // never fails
		}
		if err != nil {
			return 0, err
		}
	}
	n := copy(p, r.pending)
	r.pending = r.pending[n:]
	return n, nil
}

// readLine returns the next line without its newline; a line longer than
// maxLine is discarded.
func (r *rpcReader) readLine() ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.br.ReadSlice('\n')
		if len(line)+len(chunk) <= maxLine {
			line = append(line, chunk...)
		} else {
			line = line[:0:0]
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return bytes.TrimRight(line, "\r\n"), err
	}
}

func (r *rpcReader) Close() error { return nil } // proc.stop closes the pipe

func isRPCLine(line []byte) bool {
	t := bytes.TrimSpace(line)
	if len(t) == 0 || (t[0] != '{' && t[0] != '[') {
		return false
	}
	return bytes.Contains(t, []byte(`"jsonrpc"`)) && json.Valid(t)
}

// tailBuffer keeps the last lines written to it.
type tailBuffer struct {
	mu      sync.Mutex
	max     int
	lines   []string
	partial []byte
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

func (t *tailBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.partial = append(t.partial, b...)
	for {
		i := bytes.IndexByte(t.partial, '\n')
		if i < 0 {
			break
		}
		t.add(string(t.partial[:i]))
		t.partial = t.partial[i+1:]
	}
	if len(t.partial) > 4096 {
		t.add(string(t.partial))
		t.partial = nil
	}
	return len(b), nil
}

func (t *tailBuffer) add(line string) {
	line = strings.TrimSpace(line)
	if line == "" {
		return
	}
	if len(line) > 500 {
		line = line[:500] + "…"
	}
	t.lines = append(t.lines, line)
	if len(t.lines) > t.max {
		t.lines = t.lines[len(t.lines)-t.max:]
	}
}

// String returns the kept lines joined by " | " (one status line).
func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := t.lines
	if p := strings.TrimSpace(string(t.partial)); p != "" {
		lines = append(lines[:len(lines):len(lines)], p)
	}
	return strings.Join(lines, " | ")
}
