package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/queue"
	"github.com/flowweaver/flowweaver/backend/store"
	"github.com/flowweaver/flowweaver/backend/tools"
)

// handler adapts the engine to queue.Handler.
type handler struct{ e *Engine }

func (h handler) Work(ctx context.Context, job *queue.Job) error { return h.e.execute(ctx, job) }

// Dead fails the run whose job gave up (in the transaction that buries
// the job).
func (h handler) Dead(ctx context.Context, tx *store.Tx, job *queue.Job, reason string) error {
	st, _, err := tx.RunStatus(ctx, "", job.Ref)
	if err != nil || st.Terminal() {
		return nil
	}
	return h.e.finishRunTx(ctx, tx, job.ProjectID, job.Ref, "", flow.RunFailed,
		fmt.Sprintf("run gave up after %d attempts: %s", job.Attempt, reason), flow.NodeCanceled, nil)
}

// nodeResult is what a node goroutine reports.
type nodeResult struct {
	idx      int
	attempt  int
	output   json.RawMessage
	value    any // decoded output for downstream env
	err      error
	started  time.Time
	duration time.Duration
}

// execution is one attempt of running a run's graph.
type execution struct {
	e       *Engine
	job     *queue.Job
	lease   queue.Lease
	run     *store.RunRow
	g       *graph
	project flow.Project
	status  []flow.NodeStatus
	values  map[string]any // outputs of succeeded nodes, for the env
	failed  []string       // "node: error" of failed nodes
	logs    *logBuffer
	begin   time.Time
}

// execute runs (or resumes) the run of job.
func (e *Engine) execute(ctx context.Context, job *queue.Job) error {
	r, err := e.db.GetRun(ctx, job.ProjectID, job.Ref)
	if flow.ErrorCode(err) == flow.ENOTFOUND {
		return nil // the run (or its project) was deleted: nothing to do
	}
	if err != nil {
		return err
	}
	if r.Status.Terminal() {
		return nil
	}
	var wf flow.Workflow
	if err := json.Unmarshal(r.Workflow, &wf); err != nil {
		return e.failUnrunnable(ctx, job, r, fmt.Sprintf("run snapshot is unreadable: %v", err))
	}
	g, err := newGraph(&wf)
	if err != nil {
		return e.failUnrunnable(ctx, job, r, flow.ErrorMessage(err))
	}
	p, err := e.db.ProjectForRun(ctx, job.ProjectID)
	if flow.ErrorCode(err) == flow.ENOTFOUND {
		return nil
	}
	if err != nil {
		return err
	}
	x := &execution{e: e, job: job, lease: job.Lease(), run: r, g: g, project: *p,
		status: make([]flow.NodeStatus, len(g.nodes)), values: map[string]any{},
		logs: newLogBuffer(e.cfg.LogBatchLines, e.cfg.LogBufferLines, e.cfg.MaxLineBytes), begin: e.cfg.Now()}
	// Resume from the checkpoints: finished nodes keep their state and
	// output; a node caught running by a crash runs again.
	for i := range x.status {
		x.status[i] = flow.NodePending
	}
	for _, n := range r.Nodes {
		i, ok := g.index[n.NodeID]
		if !ok {
			continue
		}
		switch n.Status {
		case flow.NodeSucceeded:
			x.status[i] = n.Status
			var v any
			if len(n.Output) > 0 {
				if err := json.Unmarshal(n.Output, &v); err != nil {
					return fmt.Errorf("decode checkpoint of %s: %w", n.NodeID, err)
				}
			}
			x.values[n.NodeID] = map[string]any{"output": v}
		case flow.NodeFailed, flow.NodeSkipped, flow.NodeCanceled:
			x.status[i] = n.Status
			if n.Status == flow.NodeFailed {
				x.failed = append(x.failed, n.NodeID+": "+n.Error)
			}
		}
	}
	return x.loop(ctx)
}

// failUnrunnable fails a run whose snapshot cannot be executed.
func (e *Engine) failUnrunnable(ctx context.Context, job *queue.Job, r *store.RunRow, msg string) error {
	return e.db.Write(ctx, func(tx *store.Tx) error {
		if err := e.q.LeaseHeld(ctx, tx, job.Lease()); err != nil {
			return err
		}
		if err := e.finishRunTx(ctx, tx, r.ProjectID, r.ID, r.WorkflowID, flow.RunFailed, msg, flow.NodeSkipped, nil); err != nil {
			return err
		}
		return e.q.Finish(ctx, tx, job.Lease(), queue.Finish{State: queue.Completed})
	})
}

// loop is the scheduler: one transaction per step checkpoints the nodes
// that ended, marks nodes that can no longer run as skipped, starts the
// nodes that became ready and, when nothing is left, ends the run and its
// job. Node tools run in goroutines after the transaction that recorded
// their start committed.
func (x *execution) loop(ctx context.Context) error {
	results := make(chan nodeResult, len(x.g.nodes))
	running := 0
	flushDone := make(chan struct{})
	stopFlush := make(chan struct{})
	go x.flushLoop(stopFlush, flushDone)
	defer func() {
		close(stopFlush)
		<-flushDone
		x.logs.close()
	}()

	var done []nodeResult
	first := x.run.Status == flow.RunQueued || x.run.StartedAt == nil
	for {
		if ctx.Err() != nil {
			return x.interrupted(ctx, results, running, done)
		}
		var start []int
		finished := false
		err := x.e.batch.do(func(tx *store.Tx) error {
			start, finished = nil, false
			if err := x.e.q.LeaseHeld(ctx, tx, x.lease); err != nil {
				return err
			}
			if first {
				if err := tx.SetRunStarted(ctx, x.run.ID); err != nil {
					return err
				}
				if err := x.event(ctx, tx, flow.EventRunStarted, runPayload{RunID: x.run.ID, WorkflowID: x.run.WorkflowID, Status: flow.RunRunning, Attempt: x.job.Attempt}); err != nil {
					return err
				}
			}
			if err := x.flushTx(ctx, tx); err != nil {
				return err
			}
			for _, r := range done {
				if err := x.checkpoint(ctx, tx, r); err != nil {
					return err
				}
			}
			if err := x.skipUnreachable(ctx, tx); err != nil {
				return err
			}
			start = x.ready(x.e.cfg.NodeParallelism - running)
			for _, i := range start {
				if err := tx.StartNode(ctx, x.run.ID, x.g.nodes[i].ID, 1); err != nil {
					return err
				}
				n := x.g.nodes[i]
				if err := x.event(ctx, tx, flow.EventNodeStarted, map[string]any{"runId": x.run.ID, "nodeId": n.ID, "tool": n.Tool, "attempt": 1}); err != nil {
					return err
				}
			}
			if running == 0 && len(start) == 0 {
				finished = true
				return x.finish(ctx, tx)
			}
			return nil
		}, false)
		if err != nil {
			// The step did not commit: keep the ended nodes to record them
			// on the way out (interrupted) or let the job retry.
			if errors.Is(err, queue.ErrLeaseLost) {
				x.abandon(results, running)
				return err
			}
			if ctx.Err() != nil {
				return x.interrupted(ctx, results, running, done)
			}
			x.abandon(results, running)
			return fmt.Errorf("run %s step: %w", x.run.ID, err)
		}
		first = false
		done = done[:0]
		if finished {
			return nil
		}
		for _, i := range start {
			x.status[i] = flow.NodeRunning
			running++
			go func(i int, env map[string]any) { results <- x.runNode(ctx, i, env) }(i, x.env())
		}
		// Wait for at least one node, then take whatever else ended so one
		// transaction records them all.
		select {
		case r := <-results:
			running--
			done = append(done, r)
		case <-ctx.Done():
			continue
		}
	drain:
		for {
			select {
			case r := <-results:
				running--
				done = append(done, r)
			default:
				break drain
			}
		}
	}
}

// abandon waits for running nodes without recording anything: the lease
// is gone or the database failed, and the next attempt redoes them.
func (x *execution) abandon(results chan nodeResult, running int) {
	for ; running > 0; running-- {
		<-results
	}
}

// interrupted handles a canceled job context: cancel (record canceled),
// shutdown (record what finished, hand the run back) or lost lease
// (record nothing).
func (x *execution) interrupted(ctx context.Context, results chan nodeResult, running int, done []nodeResult) error {
	cause := context.Cause(ctx)
	for ; running > 0; running-- {
		done = append(done, <-results)
	}
	if errors.Is(cause, queue.ErrLeaseLost) {
		return cause
	}
	wctx := context.WithoutCancel(ctx)
	canceled := errors.Is(cause, queue.ErrCanceled)
	err := x.e.batch.do(func(tx *store.Tx) error {
		if err := x.e.q.LeaseHeld(wctx, tx, x.lease); err != nil {
			return err
		}
		if err := x.flushTx(wctx, tx); err != nil {
			return err
		}
		for _, r := range done {
			if r.err == nil {
				if err := x.checkpoint(wctx, tx, r); err != nil {
					return err
				}
				continue
			}
			if !canceled {
				continue // interrupted by shutdown: it runs again on resume
			}
			n := x.g.nodes[r.idx]
			x.status[r.idx] = flow.NodeCanceled
			if err := tx.FinishNode(wctx, x.run.ID, n.ID, flow.NodeCanceled, r.attempt, r.duration.Milliseconds(), nil, "canceled"); err != nil {
				return err
			}
			if err := x.event(wctx, tx, EventNodeCanceled, map[string]any{"runId": x.run.ID, "nodeId": n.ID}); err != nil {
				return err
			}
		}
		if !canceled {
			return nil
		}
		if err := x.e.finishRunTx(wctx, tx, x.run.ProjectID, x.run.ID, x.run.WorkflowID, flow.RunCanceled, "canceled", flow.NodeCanceled, nil); err != nil {
			return err
		}
		return x.e.q.Finish(wctx, tx, x.lease, queue.Finish{State: queue.Canceled, LastError: "canceled"})
	}, false)
	if err != nil {
		return err
	}
	return cause
}

// event appends a durable event of this run.
func (x *execution) event(ctx context.Context, tx *store.Tx, typ string, payload any) error {
	ev := flow.NewEvent(x.run.ProjectID, typ, x.run.ID, x.run.WorkflowID, payload)
	return tx.AppendEvent(ctx, &ev)
}

// checkpoint records a node's end with its event.
func (x *execution) checkpoint(ctx context.Context, tx *store.Tx, r nodeResult) error {
	n := x.g.nodes[r.idx]
	ms := r.duration.Milliseconds()
	if r.err != nil {
		x.status[r.idx] = flow.NodeFailed
		msg := flow.ErrorMessage(r.err)
		if flow.ErrorCode(r.err) == flow.EINTERNAL {
			msg = r.err.Error()
		}
		x.failed = append(x.failed, n.ID+": "+msg)
		if err := tx.FinishNode(ctx, x.run.ID, n.ID, flow.NodeFailed, r.attempt, ms, nil, msg); err != nil {
			return err
		}
		return x.event(ctx, tx, flow.EventNodeFailed, map[string]any{"runId": x.run.ID, "nodeId": n.ID, "error": msg, "durationMs": ms, "attempt": r.attempt})
	}
	x.status[r.idx] = flow.NodeSucceeded
	x.values[n.ID] = map[string]any{"output": r.value}
	if err := tx.FinishNode(ctx, x.run.ID, n.ID, flow.NodeSucceeded, r.attempt, ms, r.output, ""); err != nil {
		return err
	}
	out, cut := preview(r.output, x.e.cfg.PreviewBytes)
	p := map[string]any{"runId": x.run.ID, "nodeId": n.ID, "durationMs": ms, "output": out, "attempt": r.attempt}
	if cut {
		p["outputTruncated"] = true
		p["outputBytes"] = len(r.output)
	}
	if out == nil {
		p["output"] = nil
	}
	return x.event(ctx, tx, flow.EventNodeCompleted, p)
}

// skipUnreachable marks pending nodes with a failed, skipped or canceled
// upstream node as skipped, in graph order so a chain skips in one step.
func (x *execution) skipUnreachable(ctx context.Context, tx *store.Tx) error {
	for changed := true; changed; {
		changed = false
		for i, n := range x.g.nodes {
			if x.status[i] != flow.NodePending {
				continue
			}
			var cause string
			for _, u := range x.g.up[i] {
				if s := x.status[u]; s == flow.NodeFailed || s == flow.NodeSkipped || s == flow.NodeCanceled {
					cause = x.g.nodes[u].ID
					break
				}
			}
			if cause == "" {
				continue
			}
			x.status[i] = flow.NodeSkipped
			changed = true
			if err := tx.SetNodeStatus(ctx, x.run.ID, flow.NodeSkipped, n.ID); err != nil {
				return err
			}
			if err := x.event(ctx, tx, flow.EventNodeSkipped, map[string]any{"runId": x.run.ID, "nodeId": n.ID, "reason": "upstream " + cause + " did not succeed"}); err != nil {
				return err
			}
		}
	}
	return nil
}

// ready returns up to max pending nodes whose upstream all succeeded.
func (x *execution) ready(max int) []int {
	var out []int
	for i := range x.g.nodes {
		if len(out) >= max {
			break
		}
		if x.status[i] != flow.NodePending {
			continue
		}
		ok := true
		for _, u := range x.g.up[i] {
			if x.status[u] != flow.NodeSucceeded {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, i)
		}
	}
	return out
}

// finish ends the run and completes its job in tx.
func (x *execution) finish(ctx context.Context, tx *store.Tx) error {
	st, msg := flow.RunSucceeded, ""
	if len(x.failed) > 0 {
		st, msg = flow.RunFailed, "node "+x.failed[0]
	}
	var dur *int64
	if x.run.StartedAt != nil {
		d := tx.Now().Sub(*x.run.StartedAt).Milliseconds()
		dur = &d
	} else {
		d := x.e.cfg.Now().Sub(x.begin).Milliseconds()
		dur = &d
	}
	var pendingTo flow.NodeStatus
	for _, s := range x.status {
		if s == flow.NodePending || s == flow.NodeRunning {
			pendingTo = flow.NodeSkipped
		}
	}
	if err := x.e.finishRunTx(ctx, tx, x.run.ProjectID, x.run.ID, x.run.WorkflowID, st, msg, pendingTo, dur); err != nil {
		return err
	}
	return x.e.q.Finish(ctx, tx, x.lease, queue.Finish{State: queue.Completed})
}

// env is what references and the transform tool read: the run inputs and
// the outputs of succeeded nodes. A fresh map per node: goroutines read it
// while the scheduler adds outputs.
func (x *execution) env() map[string]any {
	nodes := make(map[string]any, len(x.values))
	for k, v := range x.values {
		nodes[k] = v
	}
	inputs := x.run.Inputs
	if inputs == nil {
		inputs = map[string]any{}
	}
	return map[string]any{"inputs": inputs, "nodes": nodes}
}

// runNode runs one node with its retries and timeout.
func (x *execution) runNode(ctx context.Context, i int, env map[string]any) nodeResult {
	n := x.g.nodes[i]
	res := nodeResult{idx: i, started: x.e.cfg.Now()}
	defer func() { res.duration = x.e.cfg.Now().Sub(res.started) }()
	tries := 1
	var backoff time.Duration
	if n.Retry != nil && n.Retry.Max > 0 {
		tries += n.Retry.Max
		backoff = time.Duration(n.Retry.BackoffMs) * time.Millisecond
	}
	params, err := resolveParams(n.Params, env)
	if err != nil {
		res.attempt, res.err = 1, err
		return res
	}
	call := tools.Call{Project: x.project, RunID: x.run.ID, NodeID: n.ID, Params: params, Env: env,
		Log: func(stream, line string) { x.logs.Log(n.ID, stream, line) }}
	for attempt := 1; ; attempt++ {
		res.attempt = attempt
		out, err := x.callTool(ctx, n, call)
		if err == nil {
			res.output, res.value, res.err = x.encode(i, out)
			return res
		}
		res.err = err
		if ctx.Err() != nil || attempt >= tries {
			return res
		}
		wait := backoff << (attempt - 1)
		x.logs.Log(n.ID, "stderr", fmt.Sprintf("attempt %d of %d failed: %s; retrying in %s", attempt, tries, flow.ErrorMessage(err), wait))
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return res
			case <-t.C:
			}
		}
	}
}

// callTool runs the tool once, under the node's timeout.
func (x *execution) callTool(ctx context.Context, n flow.Node, call tools.Call) (out any, err error) {
	tctx := ctx
	if n.TimeoutMs > 0 {
		var cancel context.CancelFunc
		tctx, cancel = context.WithTimeout(ctx, time.Duration(n.TimeoutMs)*time.Millisecond)
		defer cancel()
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("tool %s panicked: %v", n.Tool, r)
		}
	}()
	out, err = x.e.cfg.Tools.Run(tctx, n.Tool, call)
	if err != nil && ctx.Err() == nil && errors.Is(tctx.Err(), context.DeadlineExceeded) {
		return nil, flow.Errorf("timeout", "node %s timed out after %dms", n.ID, n.TimeoutMs)
	}
	return out, err
}

// encode turns a tool's output into its checkpoint JSON and, when
// downstream nodes will read it, the decoded value (decoding the JSON
// gives fresh and resumed runs the same types).
func (x *execution) encode(i int, out any) (json.RawMessage, any, error) {
	if out == nil {
		return nil, nil, nil
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, nil, fmt.Errorf("output of node %s is not JSON: %w", x.g.nodes[i].ID, err)
	}
	if len(x.g.down[i]) == 0 {
		return b, nil, nil
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, nil, fmt.Errorf("output of node %s: %w", x.g.nodes[i].ID, err)
	}
	return b, v, nil
}

// flushLoop writes buffered log lines every LogFlushInterval, or at once
// when a batch is full.
func (x *execution) flushLoop(stop, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(x.e.cfg.LogFlushInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		case <-x.logs.kick:
		}
		if err := x.flush(); err != nil {
			if !errors.Is(err, queue.ErrLeaseLost) {
				x.e.log.Error("write node logs", "run", x.run.ID, "err", err)
			}
			x.logs.close() // drop further lines; the run's own writes report the failure
			return
		}
	}
}

// flush writes buffered lines in their own transaction.
func (x *execution) flush() error {
	x.logs.mu.Lock()
	empty := len(x.logs.lines) == 0
	x.logs.mu.Unlock()
	if empty {
		return nil
	}
	ctx := context.Background()
	return x.e.batch.do(func(tx *store.Tx) error {
		if err := x.e.q.LeaseHeld(ctx, tx, x.lease); err != nil {
			return err
		}
		return x.flushTx(ctx, tx)
	}, false)
}

// flushTx writes buffered lines as node.log events in tx. Taking the
// lines inside the transaction is what keeps them in order: the DB's
// single writer serialises every take with its commit.
func (x *execution) flushTx(ctx context.Context, tx *store.Tx) error {
	lines := x.logs.take()
	for _, b := range batches(x.run.ID, lines, x.e.cfg.LogBatchLines, 256<<10) {
		if err := x.event(ctx, tx, flow.EventNodeLog, b); err != nil {
			return err
		}
	}
	return nil
}
