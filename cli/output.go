package cli

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
)

// printer turns a run's events into terminal output, the same in both
// modes: log lines as "<nodeId> | <line>" (stdout lines on stdout, stderr
// lines on stderr), node endings and the summary on stderr, a spinner on
// stderr for long nodes when it is a terminal. In quiet mode (--json) it
// prints nothing.
type printer struct {
	stdout, stderr io.Writer
	color          bool
	quiet          bool
	spin           *spinner

	mu      sync.Mutex
	running map[string]time.Time // node -> start
	ended   map[string]bool      // node endings already printed
}

// outputOptions decide how a printer looks.
type outputOptions struct {
	quiet bool
}

func newPrinter(env *Env, opts outputOptions) *printer {
	p := &printer{
		stdout:  env.Stdout,
		stderr:  env.Stderr,
		quiet:   opts.quiet,
		color:   colorAllowed(env) && isTerminal(env.Stdout),
		running: map[string]time.Time{},
		ended:   map[string]bool{},
	}
	if !p.quiet && isTerminal(env.Stderr) {
		p.spin = newSpinner(env.Stderr, colorAllowed(env), p.runningNodes)
	}
	return p
}

// colorAllowed follows https://no-color.org and TERM=dumb.
func colorAllowed(env *Env) bool {
	return env.getenv("NO_COLOR") == "" && env.getenv("TERM") != "dumb"
}

// isTerminal reports whether w is a terminal.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

const (
	ansiReset = "\x1b[0m"
	ansiBold  = "\x1b[1m"
	ansiDim   = "\x1b[2m"
	ansiRed   = "\x1b[31m"
	ansiGreen = "\x1b[32m"
)

// nodePalette avoids red and green, which mean failure and success.
var nodePalette = [...]string{"\x1b[36m", "\x1b[35m", "\x1b[33m", "\x1b[34m", "\x1b[96m", "\x1b[95m", "\x1b[93m", "\x1b[94m"}

// nodeColor is stable per node id: the same node has the same colour in
// every run.
func nodeColor(id string) string {
	h := fnv.New32a()
	h.Write([]byte(id))
	return nodePalette[h.Sum32()%uint32(len(nodePalette))]
}

func (p *printer) paint(code, s string) string {
	if !p.color {
		return s
	}
	return code + s + ansiReset
}

// paintErr colours for stderr, which may be a terminal when stdout is not.
func (p *printer) paintErr(code, s string) string {
	if p.spin == nil || !p.spin.color {
		return s
	}
	return code + s + ansiReset
}

// write prints lines to w with the spinner line out of the way.
func (p *printer) write(w io.Writer, s string) {
	if p.quiet {
		return
	}
	if p.spin == nil {
		_, _ = io.WriteString(w, s)
		return
	}
	p.spin.mu.Lock()
	defer p.spin.mu.Unlock()
	p.spin.clearLocked()
	_, _ = io.WriteString(w, s)
}

func (p *printer) notice(msg string) {
	p.write(p.stderr, p.paintErr(ansiDim, "flowweaver: "+msg)+"\n")
}

// event prints one durable event of the run.
func (p *printer) event(ev event) {
	var pl struct {
		NodeID     string   `json:"nodeId"`
		Stream     string   `json:"stream"`
		Lines      []string `json:"lines"`
		Error      string   `json:"error"`
		DurationMs int64    `json:"durationMs"`
		Attempt    int      `json:"attempt"`
		Reason     string   `json:"reason"`
	}
	_ = json.Unmarshal(ev.Payload, &pl)
	switch ev.Event {
	case "node.log":
		w, col := p.stdout, p.paint
		if pl.Stream == "stderr" {
			w, col = p.stderr, p.paintErr
		}
		var b strings.Builder
		for _, l := range pl.Lines {
			b.WriteString(col(nodeColor(pl.NodeID), pl.NodeID) + " | " + l + "\n")
		}
		p.write(w, b.String())
	case "node.started":
		p.mu.Lock()
		p.running[pl.NodeID] = startTime(ev.TS)
		delete(p.ended, pl.NodeID)
		p.mu.Unlock()
	case "node.completed":
		p.end(pl.NodeID, p.paintErr(ansiGreen, "✓")+" "+pl.NodeID+" "+formatDuration(time.Duration(pl.DurationMs)*time.Millisecond))
	case "node.failed":
		p.end(pl.NodeID, p.paintErr(ansiRed, "✗")+" "+pl.NodeID+" "+shortError(pl.Error))
	case "node.canceled":
		p.end(pl.NodeID, p.paintErr(ansiDim, "■ "+pl.NodeID+" canceled"))
	case "node.skipped":
		p.end(pl.NodeID, p.paintErr(ansiDim, "- "+pl.NodeID+" skipped"))
	}
}

func startTime(ts time.Time) time.Time {
	if ts.IsZero() || time.Since(ts) < 0 {
		return time.Now()
	}
	return ts
}

func (p *printer) end(node, line string) {
	p.mu.Lock()
	delete(p.running, node)
	seen := p.ended[node]
	p.ended[node] = true
	p.mu.Unlock()
	if !seen {
		p.write(p.stderr, line+"\n")
	}
}

// snapshot syncs the running set with a run whose history could not be
// replayed (it was pruned, or the server's log was reset).
func (p *printer) snapshot(r *runInfo) {
	p.mu.Lock()
	p.running = map[string]time.Time{}
	for _, n := range r.Nodes {
		if n.Status == "running" {
			p.running[n.NodeID] = time.Now()
		}
	}
	p.mu.Unlock()
	p.notice("some of the run's history is no longer retained; showing its state from here on")
}

func (p *printer) runningNodes() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for n, t := range p.running {
		if d := time.Since(t); d >= time.Second {
			out = append(out, n+" "+formatDuration(d.Truncate(time.Second)))
		}
	}
	sort.Strings(out)
	return out
}

// summary prints the final line for run r on stderr.
func (p *printer) summary(r *runInfo) {
	d := ""
	if r.StartedAt != nil && r.FinishedAt != nil {
		d = " in " + formatDuration(r.FinishedAt.Sub(*r.StartedAt))
	}
	var line string
	switch r.Status {
	case "succeeded":
		line = p.paintErr(ansiGreen+ansiBold, "✓ "+r.WorkflowID+" succeeded") + d
	case "failed":
		line = p.paintErr(ansiRed+ansiBold, "✗ "+r.WorkflowID+" failed") + d
		if why := failureReason(r); why != "" {
			line += ": " + why
		}
	case "canceled":
		line = p.paintErr(ansiBold, "■ "+r.WorkflowID+" canceled") + d
	default:
		line = r.WorkflowID + " " + r.Status
	}
	counts := map[string]int{}
	for _, n := range r.Nodes {
		counts[n.Status]++
	}
	var parts []string
	for _, st := range []string{"succeeded", "failed", "canceled", "skipped", "pending", "running"} {
		if counts[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[st], st))
		}
	}
	if len(parts) > 0 {
		line += " · " + strings.Join(parts, ", ")
	}
	p.write(p.stderr, line+" · run "+r.ID+"\n")
}

// failureReason names the failed nodes and why, else the run's error.
func failureReason(r *runInfo) string {
	var why []string
	for _, n := range r.Nodes {
		if n.Status == "failed" {
			why = append(why, n.NodeID+" "+shortError(n.Error))
		}
	}
	if len(why) > 0 {
		return strings.Join(why, "; ")
	}
	return r.Error
}

var exitCodeRe = regexp.MustCompile(`exited with code (\d+)`)

// shortError is a node error for one line: "exit 3" for a shell command
// that exited non-zero, else the first line of the message.
func shortError(msg string) string {
	if m := exitCodeRe.FindStringSubmatch(msg); m != nil {
		return "exit " + m[1]
	}
	msg, _, _ = strings.Cut(strings.TrimSpace(msg), "\n")
	if msg == "" {
		return "failed"
	}
	return msg
}

// formatDuration is 12ms, 0.4s, 1.2s, 59.9s, 1m05s, 1h02m.
func formatDuration(d time.Duration) string {
	switch {
	case d < 100*time.Millisecond:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

func (p *printer) start() {
	if p.spin != nil {
		p.spin.start()
	}
}

func (p *printer) stop() {
	if p.spin != nil {
		p.spin.stop()
	}
}

// spinner draws one status line on a terminal's stderr for nodes that run
// longer than a second, and erases it before other output.
type spinner struct {
	w     io.Writer
	color bool
	what  func() []string

	mu    sync.Mutex
	shown bool
	frame int

	stopCh chan struct{}
	done   chan struct{}
}

func newSpinner(w io.Writer, color bool, what func() []string) *spinner {
	return &spinner{w: w, color: color, what: what}
}

var spinFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

func (s *spinner) start() {
	s.stopCh, s.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(s.done)
		t := time.NewTicker(120 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-s.stopCh:
				s.clear()
				return
			case <-t.C:
				s.draw()
			}
		}
	}()
}

func (s *spinner) stop() {
	if s.stopCh == nil {
		return
	}
	close(s.stopCh)
	<-s.done
	s.stopCh = nil
}

func (s *spinner) draw() {
	nodes := s.what()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(nodes) == 0 {
		s.clearLocked()
		return
	}
	s.frame = (s.frame + 1) % len(spinFrames)
	line := spinFrames[s.frame] + " " + strings.Join(nodes, " · ")
	if s.color {
		line = ansiDim + line + ansiReset
	}
	_, _ = io.WriteString(s.w, "\r\x1b[K"+line)
	s.shown = true
}

func (s *spinner) clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clearLocked()
}

func (s *spinner) clearLocked() {
	if s.shown {
		_, _ = io.WriteString(s.w, "\r\x1b[K")
		s.shown = false
	}
}

// printReview lists, one per line, what a trust review says would run.
func printReview(w io.Writer, rv *trustReview) {
	n := 0
	for _, wf := range rv.Workflows {
		for _, c := range wf.Commands {
			fmt.Fprintf(w, "  workflow %s: shell: %s\n", wf.ID, oneLine(c))
			n++
		}
	}
	for _, s := range rv.MCPServers {
		what := s.URL
		if s.Command != "" {
			what = strings.TrimSpace(s.Command + " " + strings.Join(s.Args, " "))
		}
		line := fmt.Sprintf("  MCP server %s (%s): %s", s.Server, s.File, what)
		if len(s.Env) > 0 {
			line += "  env: " + strings.Join(s.Env, ", ")
		}
		if len(s.Variables) > 0 {
			line += "  reads your: " + strings.Join(s.Variables, ", ")
		}
		fmt.Fprintln(w, line)
		n++
	}
	if n == 0 {
		fmt.Fprintln(w, "  (no shell commands or MCP servers found; its workflows' other tools)")
	}
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}
