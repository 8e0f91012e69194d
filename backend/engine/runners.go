package engine

import "context"

// runners run an execution's nodes on goroutines that are reused from
// node to node, at most NodeParallelism of them.
//
// A fresh goroutine per node starts with a small stack that grows (is
// copied) as the tool's call deepens: on a chain of quick nodes that
// growth was about 5% of the server's CPU. A runner's stack grows once,
// for the first node it runs, and runners run on the engine's pooled
// goroutines (package gopool), so a run of one node does not grow a
// fresh one either. Runners belong to the execution's loop:
// they exit when it closes them (close), after their current node; a
// node's result goes to the loop's results channel, which has room for
// every node, so a runner never waits on it.
type runners struct {
	ctx     context.Context
	x       *execution
	results chan<- nodeResult
	work    chan nodeWork // unbuffered: a send succeeds when a runner is idle
	n, max  int
}

// nodeWork is one node to run with the env it reads.
type nodeWork struct {
	i   int
	env map[string]any
}

func newRunners(ctx context.Context, x *execution, results chan<- nodeResult, max int) *runners {
	return &runners{ctx: ctx, x: x, results: results, work: make(chan nodeWork), max: max}
}

// run starts node i on an idle runner, or on a new one while fewer than
// max exist. The caller never has max nodes running when it calls run, so
// with max runners one of them is idle or about to be.
func (r *runners) run(i int, env map[string]any) {
	w := nodeWork{i: i, env: env}
	if r.n < r.max {
		select {
		case r.work <- w:
			return
		default:
		}
		r.n++
		r.x.e.nodeGoroutines.Go(r.loop)
	}
	r.work <- w
}

func (r *runners) loop() {
	for w := range r.work {
		r.results <- r.x.runNode(r.ctx, w.i, w.env)
	}
}

// close makes the runners exit once idle (the loop returns).
func (r *runners) close() { close(r.work) }
