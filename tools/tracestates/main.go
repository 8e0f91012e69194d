// Command tracestates sums, from a Go execution trace, how long the
// goroutines whose stack shows a function went running, runnable (waiting
// for a processor), in system calls and waiting, the waits split by what
// they waited on. It is how docs/benchmarks.md tells whether the one
// SQLite writer of a busy `serve` waits for the disk, for a processor or
// for work.
//
//	curl -o t.trace 'http://127.0.0.1:PORT/debug/pprof/trace?seconds=1'   # serve --pprof 127.0.0.1:PORT
//	go run ./tools/tracestates -match 'batcher).lead' t.trace
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"golang.org/x/exp/trace"
)

func main() {
	match := flag.String("match", "batcher).lead", "a substring of a function in the goroutines' stacks")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: tracestates [-match FUNC] TRACE")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *match); err != nil {
		fmt.Fprintln(os.Stderr, "tracestates:", err)
		os.Exit(1)
	}
}

// goroutine is one goroutine's state since its last transition and the
// time it spent in each state.
type goroutine struct {
	state   trace.GoState
	since   trace.Time
	waitsOn string
	matched bool
	time    map[string]trace.Time
}

func run(path, match string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	r, err := trace.NewReader(f)
	if err != nil {
		return fmt.Errorf("read trace: %w", err)
	}
	gs := map[trace.GoID]*goroutine{}
	var first, last trace.Time
	for {
		ev, err := r.ReadEvent()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read trace: %w", err)
		}
		if first == 0 {
			first = ev.Time()
		}
		last = ev.Time()
		if ev.Kind() != trace.EventStateTransition {
			continue
		}
		st := ev.StateTransition()
		if st.Resource.Kind != trace.ResourceGoroutine {
			continue
		}
		id := st.Resource.Goroutine()
		g := gs[id]
		if g == nil {
			g = &goroutine{time: map[string]trace.Time{}}
			gs[id] = g
		}
		from, to := st.Goroutine()
		g.add(from, ev.Time())
		g.state, g.since = to, ev.Time()
		if to == trace.GoWaiting {
			g.waitsOn = st.Reason + " @" + firstOwnFrame(st.Stack)
		}
		// The goroutine's own stack: in its state transitions, or in the
		// events it emits itself.
		g.matched = g.matched || stackHas(st.Stack, match) || (ev.Goroutine() == id && stackHas(ev.Stack(), match))
	}
	total := map[string]trace.Time{}
	n := 0
	for _, g := range gs {
		if !g.matched {
			continue
		}
		n++
		g.add(g.state, last)
		for k, v := range g.time {
			total[k] += v
		}
	}
	keys := make([]string, 0, len(total))
	for k := range total {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Printf("trace %.3f s, %d goroutines whose stack shows %q\n", float64(last-first)/1e9, n, match)
	for _, k := range keys {
		fmt.Printf("  %-60s %9.1f ms\n", k, float64(total[k])/1e6)
	}
	return nil
}

// add counts the time since the last transition to the state s.
func (g *goroutine) add(s trace.GoState, now trace.Time) {
	if g.since == 0 || s == trace.GoNotExist || s == trace.GoUndetermined {
		return
	}
	k := s.String()
	if s == trace.GoWaiting {
		k = "Waiting: " + g.waitsOn
	}
	g.time[k] += now - g.since
}

func stackHas(s trace.Stack, fn string) bool {
	for f := range s.Frames() {
		if strings.Contains(f.Func, fn) {
			return true
		}
	}
	return false
}

// firstOwnFrame names the innermost function outside the runtime: what a
// waiting goroutine waits in.
func firstOwnFrame(s trace.Stack) string {
	for f := range s.Frames() {
		if !strings.HasPrefix(f.Func, "runtime.") && !strings.HasPrefix(f.Func, "internal/") {
			return f.Func
		}
	}
	return "?"
}
