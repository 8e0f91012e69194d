package engine

import (
	"context"
	"math"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/queue"
	"github.com/flowweaver/flowweaver/backend/store"
)

// Immediate runs: a run of instant nodes is executed as it starts.
//
// An instant node changes nothing outside its run and returns at once: if,
// switch, and the tools that report Instant (log, transform, respond; see
// earlystart.go for self-contained nodes, of which these are the ones that
// never wait). A run made only of such nodes is executed by the worker that
// the queue would hand it to (queue.Reserve), before anything of it is
// committed; the run, the final checkpoint of every node and every event
// (run.queued, run.started, the nodes' events, the run's end) then commit
// together, in the start's transaction. The run costs one transaction
// instead of one for its start and one per step, and never waits for a
// worker to wake.
//
// Why that is safe: until the commit nothing of the run exists anywhere,
// and its nodes did nothing that anybody else could see. A crash before the
// commit loses the run as a crash before an ordinary start does (the caller
// got no answer, nothing was recorded); after it, the run has ended and
// nothing is left to resume. Clients see the same events in the same order
// as from a worker, only at once.
//
// It is only done when nothing else a user can see changes:
//   - a worker is free for the project (queue.Reserve): the project's limit
//     holds, and no queued run is overtaken;
//   - the run starts from the workflow's shared value (as a prepared run),
//     is not a re-run (those start from seeded checkpoints), and no node
//     has retries (a retry would wait for its backoff in the caller);
//   - the execution ends within Config.ImmediateBudget. Otherwise everything
//     it did is dropped and the run is started the ordinary way, from the
//     beginning, on a worker. A caller that goes away first starts nothing.
//
// The start's answer still says "queued": that is the status the run was
// accepted with, and, as for a run a free worker takes at once, it may
// have moved on when the caller reads it.

// InstantTools is what a ToolRunner may implement to tell which tools
// return at once (tools.Registry does). Without it no run is immediate.
type InstantTools interface {
	Instant(name string) bool
}

// instantGraph reports whether every node of g is instant and tried once.
func instantGraph(g *graph, t ToolRunner) bool {
	it, ok := t.(InstantTools)
	if !ok {
		return false
	}
	for i, instant := range nodesAre(g, it.Instant) {
		if n := g.nodes[i]; !instant || (n.Retry != nil && n.Retry.Max > 0) {
			return false
		}
	}
	return true
}

// runImmediately executes run r (queued, not inserted) of graph g at once
// on the worker that h reserved and commits the whole run in the start's
// transaction; queued is the run.queued event, written first. done is
// false when the run was not executed this way (it took longer than
// Config.ImmediateBudget): nothing was written, h is still reserved, and
// the caller starts the run the ordinary way. With done true, err is the
// outcome: nil once the run committed (h is given back), ctx's error when
// the caller went away first (nothing was written), or the commit's.
func (e *Engine) runImmediately(ctx context.Context, r *store.RunRow, g *graph, p *flow.Project, queued flow.Event, opts StartOptions, h *queue.Handoff) (done bool, err error) {
	snap := e.secretsFor(ctx, r.ProjectID)
	x, err := e.newExecution(nil, queue.Lease{}, r, g, *p, snap)
	if err != nil {
		return false, nil // a fresh run has no checkpoints to fail on; the ordinary start reports it
	}
	// Nothing flushes the lines while the nodes run (they are taken after
	// each node), so Log must never wait for room. (Nothing logs yet.)
	x.logs.maxLines = math.MaxInt
	begin := x.begin
	var w stepWrites
	w.event(x, flow.EventRunStarted, runPayload{RunID: r.ID, WorkflowID: r.WorkflowID, Status: flow.RunRunning, Attempt: 1})
	ran := make([]*nodeResult, len(g.nodes))
	for {
		for _, i := range x.decideSkips() {
			w.skipped(x, i)
		}
		start := x.ready(max(1, e.cfg.NodeParallelism))
		if len(start) == 0 {
			break
		}
		// The nodes that start together read the same env, as they do
		// when a worker launches them in parallel.
		env := x.env()
		for _, i := range start {
			x.status[i] = flow.NodeRunning
			w.start(x, i, false)
		}
		for _, i := range start {
			res := x.runNode(ctx, i, env)
			if err := ctx.Err(); err != nil {
				return true, err // the caller went away: nothing was written, and nothing will be
			}
			if e.cfg.Now().Sub(begin) > e.cfg.ImmediateBudget {
				return false, nil
			}
			w.lines(x, x.logs.take())
			x.apply(res)
			w.end(x, res, true)
			ran[i] = &res
		}
	}
	end := x.end()
	finished := e.cfg.Now()
	r.Status, r.StartedAt, r.FinishedAt = end.status, &begin, &finished
	if end.status == flow.RunFailed {
		r.Error = end.msg
	}
	nodes := make([]flow.NodeRun, len(g.nodes))
	for i, n := range g.nodes {
		nodes[i] = x.nodeEnd(i, n.ID, ran[i], end.pendingTo, finished)
	}
	d := end.duration
	last := runEndEvent(r.ProjectID, r.ID, r.WorkflowID, end.status, r.Error, &d)
	// Written with a context that the caller's going away does not cut
	// short: the run is whole and executed, and a statement failing
	// half-way would roll back every other step of the group commit.
	wctx := context.WithoutCancel(ctx)
	err = e.batch.do(func(tx *store.Tx) error {
		if opts.InTx != nil {
			if err := opts.InTx(wctx, tx); err != nil {
				return err
			}
		}
		if err := tx.InsertEndedRun(wctx, r, nodes); err != nil {
			if flow.ErrorCode(err) == flow.EINTERNAL && isForeignKey(err) {
				return flow.Errorf(flow.ENOTFOUND, "project %q not found", r.ProjectID)
			}
			return err
		}
		evs := make([]flow.Event, 0, len(w.evs)+2)
		evs = append(append(append(evs, queued), w.evs...), last)
		for i := range evs {
			if err := tx.AppendEvent(wctx, &evs[i]); err != nil {
				return err
			}
		}
		return nil
	}, true)
	if err != nil {
		return true, err // the caller gives h back (Release)
	}
	h.Done()
	return true, nil
}

// nodeEnd is node i's final checkpoint in an immediate run: res is its
// result if it ran; a node that never ended becomes pendingTo, like
// finishPendingNodes makes it.
func (x *execution) nodeEnd(i int, id string, res *nodeResult, pendingTo flow.NodeStatus, finished time.Time) flow.NodeRun {
	n := flow.NodeRun{NodeID: id, Status: x.status[i]}
	switch {
	case res != nil:
		started, ended := res.started, res.started.Add(res.duration)
		n.Attempt, n.StartedAt, n.FinishedAt, n.DurationMs = res.attempt, &started, &ended, res.duration.Milliseconds()
		if res.err != nil {
			n.Error = x.errs[i]
		} else {
			n.Output = res.output
		}
	case n.Status == flow.NodeSkipped:
		n.FinishedAt = &finished
	case pendingTo != "" && (n.Status == flow.NodePending || n.Status == flow.NodeRunning):
		n.Status, n.FinishedAt = pendingTo, &finished
	}
	return n
}
