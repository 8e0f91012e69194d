package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/queue"
	"github.com/flowweaver/flowweaver/backend/store"
)

// Child runs (workflow and forEach nodes) are ordinary runs in the
// database, with their own events and run: channel, but they have no
// queue job: they execute inside their parent's job, on goroutines of
// the parent's worker, and their writes are fenced by the parent's lease.
// So a parent waiting for its children never holds a worker that a child
// would need (no deadlock with any number of workers, even one), the
// concurrency of a forEach is bounded by its own param, canceling the
// parent cancels the children through the context, and after a crash the
// parent's job resumes, finds its children by (parent run, node, item),
// reuses the finished ones and resumes the others from their checkpoints.

// childRef is a child run found in the database.
type childRef struct {
	id     string
	status flow.RunStatus
}

// ChildResult is the output of a workflow node and one entry of a
// forEach node's results.
type ChildResult struct {
	Index   *int                       `json:"index,omitempty"`
	RunID   string                     `json:"runId"`
	Status  flow.RunStatus             `json:"status"`
	Outputs map[string]json.RawMessage `json:"outputs"`
	Error   string                     `json:"error,omitempty"`
}

// runChild runs (or resumes, or reads the result of) one child run of
// parent's node nodeID; index is the forEach item or -1.
func (e *Engine) runChild(ctx context.Context, parent *execution, nodeID string, index int, workflowID string, inputs map[string]any, existing *childRef) (ChildResult, error) {
	var row *store.RunRow
	if existing != nil {
		r, err := e.db.GetRun(ctx, parent.run.ProjectID, existing.id)
		if err != nil {
			return ChildResult{}, err
		}
		if r.Status.Terminal() {
			return resultOf(r), nil
		}
		row = r
	} else {
		r, err := e.createChild(ctx, parent, nodeID, index, workflowID, inputs)
		if err != nil {
			return ChildResult{}, err
		}
		row = r
	}
	var wf flow.Workflow
	if err := json.Unmarshal(row.Workflow, &wf); err != nil {
		return ChildResult{}, fmt.Errorf("child run %s: snapshot: %w", row.ID, err)
	}
	g, err := newGraph(&wf)
	if err != nil {
		return ChildResult{}, err
	}
	x, err := e.newExecution(nil, parent.lease, row, g, parent.project, parent.secrets)
	if err != nil {
		return ChildResult{}, err
	}
	x.child = true
	if err := x.reapInterrupted(ctx); err != nil {
		return ChildResult{}, err
	}
	x.outputs = map[string]json.RawMessage{}
	for _, n := range row.Nodes {
		if n.Status == flow.NodeSucceeded && len(n.Output) > 0 {
			x.outputs[n.NodeID] = n.Output
		}
	}
	cctx, cancel := context.WithCancelCause(ctx)
	e.inline.Store(row.ID, cancel)
	defer func() {
		e.inline.Delete(row.ID)
		cancel(nil)
	}()
	// A cancel that came before the registration above ended the run in
	// the database: do not execute it.
	if st, err := e.db.RunState(ctx, row.ID); err != nil {
		return ChildResult{}, err
	} else if st.Terminal() {
		r, err := e.db.GetRun(ctx, parent.run.ProjectID, row.ID)
		if err != nil {
			return ChildResult{}, err
		}
		return resultOf(r), nil
	}
	err = x.loop(cctx)
	res := ChildResult{RunID: row.ID, Outputs: x.outputs}
	if index >= 0 {
		res.Index = &index
	}
	switch {
	case err != nil && ctx.Err() == nil && errors.Is(err, queue.ErrCanceled):
		res.Status, res.Error = flow.RunCanceled, "canceled"
		return res, nil // the child alone was canceled
	case err != nil:
		return ChildResult{}, err
	case x.result == nil:
		return ChildResult{}, fmt.Errorf("child run %s ended without a result", row.ID)
	}
	res.Status = x.result.status
	if res.Status != flow.RunSucceeded {
		res.Error = x.result.msg
	}
	return res, nil
}

// resultOf builds the result of a finished child run from its record.
func resultOf(r *store.RunRow) ChildResult {
	res := ChildResult{RunID: r.ID, Status: r.Status, Error: r.Error, Outputs: map[string]json.RawMessage{}, Index: r.ItemIndex}
	for _, n := range r.Nodes {
		if n.Status == flow.NodeSucceeded && len(n.Output) > 0 {
			res.Outputs[n.NodeID] = n.Output
		}
	}
	if r.Status == flow.RunCanceled && res.Error == "" {
		res.Error = "canceled"
	}
	return res
}

// createChild snapshots the called workflow into a new child run (with
// its run.queued event), after the depth check.
func (e *Engine) createChild(ctx context.Context, parent *execution, nodeID string, index int, workflowID string, inputs map[string]any) (*store.RunRow, error) {
	depth := parent.run.Depth + 1
	if depth > e.cfg.MaxCallDepth {
		chain := e.callChain(ctx, parent.run)
		return nil, flow.Errorf("recursion_limit", "workflow calls are nested deeper than %d (%s -> %s): a workflow probably calls itself; stop the recursion with an if node or raise the limit",
			e.cfg.MaxCallDepth, strings.Join(chain, " -> "), workflowID)
	}
	wf, err := e.cfg.Workflows.Get(ctx, parent.run.ProjectID, workflowID)
	if err != nil {
		return nil, fmt.Errorf("node %s: workflow %q: %w", nodeID, workflowID, err)
	}
	g, err := newGraph(wf)
	if err != nil {
		return nil, err
	}
	engineKeys := []string{}
	if index >= 0 {
		engineKeys = append(engineKeys, "item", "index")
	}
	if inputs, err = e.runInputs(wf, inputs, engineKeys...); err != nil {
		var fe *flow.Error
		if errors.As(err, &fe) { // the node's error names the called workflow
			return nil, &flow.Error{Code: fe.Code, Message: fmt.Sprintf("workflow %q: %s", workflowID, fe.Message), Details: fe.Details}
		}
		return nil, err
	}
	snapshot, err := json.Marshal(wf)
	if err != nil {
		return nil, fmt.Errorf("snapshot workflow: %w", err)
	}
	r := &store.RunRow{Run: flow.Run{ID: e.ids.next("r", e.cfg.Now()), ProjectID: parent.run.ProjectID, WorkflowID: workflowID,
		Status: flow.RunQueued, Inputs: inputs, Workflow: snapshot,
		ParentRunID: parent.run.ID, ParentNodeID: nodeID, Depth: depth}}
	if index >= 0 {
		r.ItemIndex = &index
	}
	wctx := context.WithoutCancel(ctx) // see loop: a step must not fail half-way on cancel
	parent.writePendingStarts(wctx)    // the calling node's node.started precedes its child's run.queued
	err = e.batch.do(func(tx *store.Tx) error {
		if err := e.q.LeaseHeld(wctx, tx, parent.lease); err != nil {
			return err
		}
		if err := tx.InsertRun(wctx, r, g.ids()); err != nil {
			return err
		}
		ev := flow.NewEvent(r.ProjectID, flow.EventRunQueued, r.ID, workflowID,
			runPayload{RunID: r.ID, WorkflowID: workflowID, Status: flow.RunQueued, ParentRunID: parent.run.ID})
		return tx.AppendEvent(wctx, &ev)
	}, false)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// callChain is the workflow ids from the top-level run down to r.
func (e *Engine) callChain(ctx context.Context, r *store.RunRow) []string {
	chain := []string{r.WorkflowID}
	id := r.ParentRunID
	for i := 0; id != "" && i < 64; i++ {
		pid, wf, err := e.db.RunParent(ctx, id)
		if err != nil {
			break
		}
		chain = append(chain, wf)
		id = pid
	}
	for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
		chain[i], chain[j] = chain[j], chain[i]
	}
	return chain
}

// EventNodeProgress reports a forEach node's progress (an extension of
// docs/workflows.md, forEach): {"runId","nodeId","done","total","failed"}.
const EventNodeProgress = "node.progress"

// forEach runs the node's workflow once per item, at most concurrency at
// a time, and outputs the results in item order.
func (x *execution) forEach(ctx context.Context, n flow.Node, params map[string]any) (any, error) {
	items, ok := asList(params["items"])
	if !ok {
		return nil, flow.Errorf(flow.EINVALID, "forEach %s: items must be a list, not %T", n.ID, params["items"])
	}
	wfID, err := stringParam(n, params, "workflowId")
	if err != nil {
		return nil, err
	}
	base, err := mapParam(n, params, "inputs")
	if err != nil {
		return nil, err
	}
	conc := 4
	switch v := params["concurrency"].(type) {
	case float64:
		conc = int(v)
	case int:
		conc = v
	}
	conc = max(1, min(conc, 64))
	continueOnError, _ := params["continueOnError"].(bool)
	kids, err := x.e.db.ChildRuns(ctx, x.run.ID, n.ID)
	if err != nil {
		return nil, err
	}
	existing := make(map[int]*childRef, len(kids))
	for _, k := range kids {
		if k.ItemIndex >= 0 && k.ItemIndex < len(items) && existing[k.ItemIndex] == nil {
			existing[k.ItemIndex] = &childRef{id: k.ID, status: k.Status}
		}
	}

	results := make([]ChildResult, len(items))
	gctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	var next, done, failed atomic.Int64
	var firstErr error
	var errOnce sync.Once
	prog := &progress{x: x, nodeID: n.ID, total: len(items), every: 250 * time.Millisecond}
	prog.report(0, 0, false)
	var wg sync.WaitGroup
	for w := 0; w < min(conc, len(items)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(items) || gctx.Err() != nil {
					return
				}
				inputs := make(map[string]any, len(base)+2)
				for k, v := range base {
					inputs[k] = v
				}
				inputs["item"], inputs["index"] = items[i], i
				res, err := x.e.runChild(gctx, x, n.ID, i, wfID, inputs, existing[i])
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					stop(queue.ErrCanceled)
					return
				}
				idx := i
				res.Index = &idx
				results[i] = res
				f := failed.Load()
				if res.Status != flow.RunSucceeded {
					f = failed.Add(1)
					if !continueOnError {
						errOnce.Do(func() {
							firstErr = &flow.Error{Code: "child_failed", Message: fmt.Sprintf("item %d (child run %s) %s: %s", i, res.RunID, res.Status, res.Error)}
						})
						stop(queue.ErrCanceled)
					}
				}
				prog.report(int(done.Add(1)), int(f), false)
			}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	prog.report(int(done.Load()), int(failed.Load()), true)
	if firstErr != nil {
		return nil, firstErr
	}
	return map[string]any{"results": results, "count": len(items), "succeeded": len(items) - int(failed.Load()), "failed": int(failed.Load())}, nil
}

// asList returns v as a list of JSON values: references give []any, but
// an expression such as {{ 1..10 }} gives []int, which JSON turns into one.
func asList(v any) ([]any, bool) {
	if l, ok := v.([]any); ok {
		return l, true
	}
	b, err := json.Marshal(v)
	if err != nil || len(b) == 0 || b[0] != '[' {
		return nil, false
	}
	var l []any
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, false
	}
	return l, true
}

// progress writes throttled node.progress events.
type progress struct {
	x      *execution
	nodeID string
	total  int
	every  time.Duration
	mu     sync.Mutex
	last   time.Time
	sent   int
}

func (p *progress) report(done, failed int, final bool) {
	p.mu.Lock()
	now := time.Now()
	if !final && done != 0 && done != p.total && now.Sub(p.last) < p.every {
		p.mu.Unlock()
		return
	}
	if done < p.sent && !final {
		p.mu.Unlock()
		return
	}
	p.last, p.sent = now, done
	p.mu.Unlock()
	x := p.x
	ctx := context.Background()
	payload := map[string]any{"runId": x.run.ID, "nodeId": p.nodeID, "done": done, "total": p.total, "failed": failed}
	x.writePendingStarts(ctx) // node.progress after its node.started
	x.e.batch.submit(func(tx *store.Tx) error {
		if err := x.e.q.LeaseHeld(ctx, tx, x.lease); err != nil {
			return err
		}
		return x.event(ctx, tx, EventNodeProgress, payload)
	}, false)
}
