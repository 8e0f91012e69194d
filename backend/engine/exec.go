package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/queue"
	"github.com/flowweaver/flowweaver/backend/secrets"
	"github.com/flowweaver/flowweaver/backend/store"
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
	msg := fmt.Sprintf("run gave up after %d attempts: %s", job.Attempt, reason)
	if err := h.e.failInterruptedNodes(ctx, tx, job, msg); err != nil {
		return err
	}
	return h.e.finishRunTx(ctx, tx, job.ProjectID, job.Ref, "", flow.RunFailed, msg, flow.NodeSkipped, nil)
}

// nodeResult is what a node goroutine reports.
type nodeResult struct {
	idx      int
	attempt  int
	output   json.RawMessage
	value    any    // decoded output for downstream env
	branch   string // the branch a branching node took
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
	errs    []string       // error of each failed node
	branch  []string       // the branch a succeeded branching node took
	why     []skipCause    // why each skipped node was skipped
	// child is set for a child run executed inside its parent's job:
	// it has no job of its own (writes are fenced by the parent's lease).
	child  bool
	result *runEnd // how the run ended, once it did
	// outputs collects every node's output JSON for the run's result
	// (child runs only).
	outputs map[string]json.RawMessage
	logs    *logBuffer
	secrets *secrets.Snapshot // the project's secrets, read when the execution starts
	mask    *secrets.Masker   // applied to log lines, outputs and errors before they are recorded
	begin   time.Time
	stepMu  sync.Mutex // orders taking log lines with submitting the step that writes them
	// unwritten is what was started but not written yet (startrecord.go);
	// guarded by stepMu.
	unwritten startRecord
	// prior is, per node, how many attempts of it an interrupted execution
	// already started (they count: the re-run is attempt prior+1), and
	// reason why it runs again ("server restarted"); see recovery.go.
	prior  []int
	reason []string
	// early is, per node, whether it may start before the step recording
	// its upstream nodes' ends committed (earlystart.go).
	early []bool
	delay *time.Timer // the start record's delay, reused (startDelay)
}

// execute runs (or resumes) the run of job.
func (e *Engine) execute(ctx context.Context, job *queue.Job) error {
	r, g, err := e.runToExecute(ctx, job)
	if flow.ErrorCode(err) == flow.ENOTFOUND {
		return nil // the run (or its project) was deleted: nothing to do
	}
	if err != nil || g == nil {
		return err
	}
	p, err := e.project(ctx, job.ProjectID)
	if flow.ErrorCode(err) == flow.ENOTFOUND {
		return nil
	}
	if err != nil {
		return err
	}
	// Trust may have been revoked while the run waited in the queue (or
	// before a restart resumed it): it must not execute any further node.
	if err := e.checkTrust(ctx, job.ProjectID); flow.ErrorCode(err) == flow.EUNTRUSTED {
		return e.failUnrunnable(ctx, job, r, "the project is not trusted any more: "+flow.ErrorMessage(err))
	} else if err != nil && flow.ErrorCode(err) != flow.ENOTFOUND {
		return err
	}
	snap := e.secretsFor(ctx, job.ProjectID)
	x, err := e.newExecution(job, job.Lease(), r, g, *p, snap)
	if err != nil {
		return err
	}
	if err := x.reapInterrupted(ctx); err != nil {
		return err
	}
	return x.loop(ctx)
}

// newExecution prepares the execution of run r, resumed from its
// checkpoints: finished nodes keep their state and output; a node caught
// running by a crash runs again.
func (e *Engine) newExecution(job *queue.Job, lease queue.Lease, r *store.RunRow, g *graph, p flow.Project, snap *secrets.Snapshot) (*execution, error) {
	x := &execution{e: e, job: job, lease: lease, run: r, g: g, project: p,
		status: make([]flow.NodeStatus, len(g.nodes)), values: map[string]any{},
		errs: make([]string, len(g.nodes)), branch: make([]string, len(g.nodes)), why: make([]skipCause, len(g.nodes)),
		logs:    newLogBuffer(e.cfg.LogBatchLines, e.cfg.LogBufferLines, e.cfg.MaxLineBytes, snap.Masker),
		secrets: snap, mask: snap.Masker, begin: e.cfg.Now(),
		prior: make([]int, len(g.nodes)), reason: make([]string, len(g.nodes)), early: selfContained(g, e.cfg.Tools)}
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
					return nil, fmt.Errorf("decode checkpoint of %s: %w", n.NodeID, err)
				}
			}
			x.values[n.NodeID] = map[string]any{"output": v}
			x.branch[i] = branchOf(v)
		case flow.NodeFailed, flow.NodeSkipped, flow.NodeCanceled:
			x.status[i] = n.Status
			if n.Status == flow.NodeFailed {
				x.errs[i] = n.Error
				x.values[n.NodeID] = map[string]any{"output": nil, "error": n.Error}
			}
		case flow.NodeRunning:
			x.noteInterrupted(i, n.Attempt) // it runs again, as the next attempt
		}
	}
	x.recomputeSkipCauses()
	return x, nil
}

// jobPayload is what a run's job carries so the first attempt needs no
// read of the run: a fresh run has no checkpoints yet.
type jobPayload struct {
	WorkflowID string          `json:"workflowId"`
	Inputs     map[string]any  `json:"inputs,omitempty"`
	Workflow   json.RawMessage `json:"workflow,omitempty"` // omitted for re-runs: they start from seeded checkpoints
}

// runToExecute returns job's run and its graph: as StartRunWith prepared
// them for a first attempt of a run started in this process, otherwise loaded
// (loadRun) and built from the run's snapshot. The graph is nil when there
// is nothing to execute: the run already ended, or its snapshot cannot be
// executed, which fails the run (failUnrunnable).
func (e *Engine) runToExecute(ctx context.Context, job *queue.Job) (*store.RunRow, *graph, error) {
	if job.Attempt == 1 {
		if p := e.prepared.take(job.Ref); p != nil {
			return p.run, p.g, nil
		}
	}
	r, err := e.loadRun(ctx, job)
	if err != nil || r.Status.Terminal() {
		return r, nil, err
	}
	var wf flow.Workflow
	if err := json.Unmarshal(r.Workflow, &wf); err != nil {
		return r, nil, e.failUnrunnable(ctx, job, r, fmt.Sprintf("run snapshot is unreadable: %v", err))
	}
	g, err := newGraph(&wf)
	if err != nil {
		return r, nil, e.failUnrunnable(ctx, job, r, flow.ErrorMessage(err))
	}
	return r, g, nil
}

// loadRun returns the run to execute: from the job payload on the first
// attempt, from the database (with its checkpoints) on later ones.
func (e *Engine) loadRun(ctx context.Context, job *queue.Job) (*store.RunRow, error) {
	if job.Attempt == 1 && len(job.Payload) > 0 {
		var p jobPayload
		if err := json.Unmarshal(job.Payload, &p); err == nil && len(p.Workflow) > 0 {
			return &store.RunRow{Run: flow.Run{ID: job.Ref, ProjectID: job.ProjectID, WorkflowID: p.WorkflowID,
				Status: flow.RunQueued, Inputs: p.Inputs, Workflow: p.Workflow}, JobID: job.ID}, nil
		}
	}
	return e.db.GetRun(ctx, job.ProjectID, job.Ref)
}

// project returns a project, cached: a project's id and path never change,
// and a deleted project's jobs are deleted with it.
func (e *Engine) project(ctx context.Context, id string) (*flow.Project, error) {
	if p, ok := e.projects.Load(id); ok {
		return p.(*flow.Project), nil
	}
	p, err := e.db.ProjectForRun(ctx, id)
	if err != nil {
		return nil, err
	}
	e.projects.Store(id, p)
	return p, nil
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

// loop is the scheduler. Each step decides in memory which ended nodes to
// record, which nodes can no longer run (skipped), which became ready and
// whether the run is over, then hands the writes to the group committer
// as one step: the nodes' checkpoints with their events, in one
// transaction. Started nodes are launched without waiting for that commit
// (steps commit in submission order, so node.started is always durable
// before the node's node.completed; a crash in between reruns the node
// exactly as if it had crashed after the commit). Only the last step, the
// one that ends the run and its job, is waited for.
func (x *execution) loop(ctx context.Context) error {
	// Steps write with a context that a cancel does not cut short: a step
	// failing half-way would roll back the whole group commit, other
	// runs' steps included. Cancellation is seen by the loop itself.
	wctx := context.WithoutCancel(ctx)
	results := make(chan nodeResult, len(x.g.nodes))
	nodes := newRunners(ctx, x, results, max(1, x.e.cfg.NodeParallelism))
	defer nodes.close()
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
	var prev *step
	x.stepMu.Lock()
	x.unwritten.run = x.run.Status == flow.RunQueued || x.run.StartedAt == nil
	x.stepMu.Unlock()
loop:
	for {
		if ctx.Err() != nil {
			return x.interrupted(ctx, results, running, done)
		}
		for _, r := range done {
			x.apply(r)
		}
		skipped := x.decideSkips()
		start := x.ready(x.e.cfg.NodeParallelism - running)
		for _, i := range start {
			x.status[i] = flow.NodeRunning
		}
		finished := running == 0 && len(start) == 0
		var end runEnd
		if finished {
			end = x.end()
			x.result = &end
		}
		ended, before := done, prev
		x.stepMu.Lock()
		// The starts of self-contained nodes launched now wait for the
		// start delay (startrecord.go): a quick node's start is then
		// written with its end. A step is submitted when there is
		// something else to write. Any other node's start is written now.
		delayStarts := len(start) > 0 && x.e.cfg.StartRecordDelay >= 0 && x.startsEarly(start)
		var s *step
		if len(ended) > 0 || len(skipped) > 0 || finished || (!delayStarts && len(start) > 0) {
			// Starts pending from earlier come first; nodes starting now
			// (when not delayed) come after the ends that freed them.
			rec := x.takeStart()
			runMerged := rec.run && finished
			lines := x.logs.take()
			startNow := start
			if delayStarts {
				startNow = nil
			}
			// Prepared here, outside the single writer; sized for one row
			// and one event per node it names, plus the run's and the lines'.
			nodes := len(rec.nodes) + len(ended) + len(skipped) + len(startNow)
			w := stepWrites{rows: make([]rowWrite, 0, nodes+1), evs: make([]flow.Event, 0, nodes+3)}
			w.startRecord(x, rec, ended, runMerged)
			w.lines(x, lines)
			for _, r := range ended {
				w.end(x, r, slices.Contains(rec.nodes, r.idx))
			}
			for _, i := range skipped {
				w.skipped(x, i)
			}
			for _, i := range startNow {
				w.start(x, i, true)
			}
			s = x.e.batch.submit(func(tx *store.Tx) error {
				if before != nil && before.err != nil {
					return before.err // an earlier step of this run did not commit
				}
				if err := x.e.q.LeaseHeld(wctx, tx, x.lease); err != nil {
					return err
				}
				if err := w.apply(wctx, tx, x.run.ID); err != nil {
					return err
				}
				if finished {
					return x.writeFinish(wctx, tx, end, runMerged)
				}
				return nil
			}, false)
			prev = s
		}
		if delayStarts {
			x.unwritten.nodes = append(x.unwritten.nodes, start...)
		}
		x.stepMu.Unlock()
		done = nil
		// A node starts only after its upstream nodes' checkpoints and its
		// own start are durable, unless it is self-contained
		// (earlystart.go): a crash then never reruns a node whose
		// downstream already ran, and a node that may have acted outside
		// the run (a process, a request) runs again as attempt n+1
		// ("server restarted"), never as the attempt it interrupted.
		// Steps commit in order, so waiting for this one waits for the
		// earlier ones too.
		if s != nil && (finished || (len(start) > 0 && !x.startsEarly(start))) {
			<-s.done
			if s.err != nil {
				x.abandon(results, running)
				return fmt.Errorf("run %s: %w", x.run.ID, s.err)
			}
		}
		if finished {
			return nil
		}
		if err := failed(prev); err != nil {
			// An earlier step did not commit (one not waited for): stop
			// now rather than run nodes whose steps would only repeat it.
			x.abandon(results, running)
			return fmt.Errorf("run %s: %w", x.run.ID, err)
		}
		// The start delay runs from the launch: the wait for a commit
		// above is not the node's time.
		var delay <-chan time.Time
		stopDelay := func() {}
		if delayStarts {
			delay, stopDelay = x.startDelay()
		}
		for _, i := range start {
			running++
			nodes.run(i, x.env())
		}
		// Wait for at least one node, then take whatever else ended so one
		// step records them all. When the start delay passes first, the
		// starts are written on their own.
	wait:
		for {
			select {
			case r := <-results:
				running--
				done = append(done, r)
				break wait
			case <-delay:
				delay = nil
				prev = x.submitStart(wctx, prev)
			case <-ctx.Done():
				stopDelay()
				continue loop
			}
		}
		stopDelay()
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

// event appends a durable event of this run.
func (x *execution) event(ctx context.Context, tx *store.Tx, typ string, payload any) error {
	ev := flow.NewEvent(x.run.ProjectID, typ, x.run.ID, x.run.WorkflowID, payload)
	return tx.AppendEvent(ctx, &ev)
}

// errorText is the message recorded for a failed node.
func errorText(err error) string {
	if flow.ErrorCode(err) == flow.EINTERNAL {
		return err.Error()
	}
	return flow.ErrorMessage(err)
}

// apply records a node's end in memory.
func (x *execution) apply(r nodeResult) {
	n := x.g.nodes[r.idx]
	if r.err != nil {
		x.status[r.idx] = flow.NodeFailed
		x.errs[r.idx] = errorText(r.err)
		// A failure handler reads what went wrong: {{ nodes.<id>.error }}.
		x.values[n.ID] = map[string]any{"output": nil, "error": x.errs[r.idx]}
		return
	}
	x.status[r.idx] = flow.NodeSucceeded
	x.values[n.ID] = map[string]any{"output": r.value}
	x.branch[r.idx] = r.branch
	if x.outputs != nil && len(r.output) > 0 {
		x.outputs[n.ID] = r.output
	}
}

// runEnd is how a run ends, decided in memory.
type runEnd struct {
	status    flow.RunStatus
	msg       string
	pendingTo flow.NodeStatus
	duration  int64
}

func (x *execution) end() runEnd {
	e := runEnd{status: flow.RunSucceeded}
	for i, st := range x.status {
		if st == flow.NodeFailed && !x.handled(i) {
			e.status, e.msg = flow.RunFailed, "node "+x.g.nodes[i].ID+": "+x.errs[i]
			break
		}
	}
	for _, s := range x.status {
		if s == flow.NodePending || s == flow.NodeRunning {
			e.pendingTo = flow.NodeSkipped
		}
	}
	if x.run.StartedAt != nil {
		e.duration = x.e.cfg.Now().Sub(*x.run.StartedAt).Milliseconds()
	} else {
		e.duration = x.e.cfg.Now().Sub(x.begin).Milliseconds()
	}
	return e
}

// writeFinish ends the run and completes its job in tx. startedToo: the
// run's start is written in the same step.
func (x *execution) writeFinish(ctx context.Context, tx *store.Tx, e runEnd, startedToo bool) error {
	d := e.duration
	if err := x.e.finishRun(ctx, tx, runFinish{projectID: x.run.ProjectID, runID: x.run.ID, workflowID: x.run.WorkflowID,
		status: e.status, msg: e.msg, pendingTo: e.pendingTo, duration: &d, startedToo: startedToo, noChildren: !x.g.startsChildren()}); err != nil {
		return err
	}
	if x.child {
		return nil
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

// flush writes buffered lines in their own step.
func (x *execution) flush() error {
	x.stepMu.Lock()
	lines := x.logs.take()
	if len(lines) == 0 {
		x.stepMu.Unlock()
		return nil
	}
	var w stepWrites
	w.startRecord(x, x.takeStart(), nil, false) // the starts of these lines' nodes come first
	w.lines(x, lines)
	ctx := context.Background()
	s := x.e.batch.submit(func(tx *store.Tx) error {
		if err := x.e.q.LeaseHeld(ctx, tx, x.lease); err != nil {
			return err
		}
		return w.apply(ctx, tx, x.run.ID)
	}, false)
	x.stepMu.Unlock()
	<-s.done
	return s.err
}

// abandon waits for running nodes without recording anything: the step
// failed, and the next attempt redoes them from the checkpoints.
func (x *execution) abandon(results chan nodeResult, running int) {
	for ; running > 0; running-- {
		<-results
	}
}
