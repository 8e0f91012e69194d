package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/queue"
	"github.com/flowweaver/flowweaver/backend/store"
)

// The other flow.Runs methods: cancel a run, read one, list them, the
// active ones; outputs are cut to previews on the way out.

// CancelRun implements flow.Runs. A queued run is canceled at once; a
// running one is stopped by its worker (in this process immediately, in
// another within the queue's cancel poll interval).
func (e *Engine) CancelRun(ctx context.Context, projectID, runID string) error {
	var jobID int64
	err := e.db.Write(ctx, func(tx *store.Tx) error {
		st, job, err := tx.RunStatus(ctx, projectID, runID)
		if err != nil {
			return err
		}
		if st.Terminal() {
			return nil
		}
		if job == 0 {
			// A child run: it executes inside its parent's job. Stop it
			// where it runs; one that is not running here (its parent
			// waits in the queue) ends now.
			if stop, ok := e.inline.Load(runID); ok {
				stop.(context.CancelCauseFunc)(queue.ErrCanceled)
				return nil
			}
			return e.finishRunTx(ctx, tx, projectID, runID, "", flow.RunCanceled, "canceled", flow.NodeCanceled, nil)
		}
		jobID = job
		js, err := e.q.RequestCancel(ctx, tx, job)
		if err != nil {
			return err
		}
		if js == queue.Running {
			return nil // its worker writes the outcome
		}
		// Not on a worker (queued, waiting for a retry, or its job is gone):
		// the run ends here.
		return e.finishRunTx(ctx, tx, projectID, runID, "", flow.RunCanceled, "canceled", flow.NodeCanceled, nil)
	})
	if err != nil {
		return fmt.Errorf("cancel run: %w", err)
	}
	if jobID != 0 {
		e.q.Interrupt(jobID)
	}
	return nil
}

// Run implements flow.Runs: the run with its nodes (outputs cut to
// previews) and its workflow snapshot.
func (e *Engine) Run(ctx context.Context, projectID, runID string) (*flow.Run, error) {
	r, err := e.db.GetRun(ctx, projectID, runID)
	if err != nil {
		return nil, err
	}
	var wf flow.Workflow
	if json.Unmarshal(r.Workflow, &wf) == nil {
		r.Edges = EdgeStates(&wf, r.Nodes)
	}
	for i := range r.Nodes {
		r.Nodes[i].Output, _ = preview(r.Nodes[i].Output, e.cfg.PreviewBytes)
	}
	out := r.Run
	return &out, nil
}

// ListRuns implements flow.Runs.
func (e *Engine) ListRuns(ctx context.Context, f flow.RunFilter) (flow.RunPage, error) {
	if f.ProjectID == "" {
		return flow.RunPage{}, flow.Errorf(flow.EINVALID, "projectId is required")
	}
	switch f.Status {
	case "", flow.RunQueued, flow.RunRunning, flow.RunSucceeded, flow.RunFailed, flow.RunCanceled:
	default:
		return flow.RunPage{}, flow.Errorf(flow.EINVALID, "unknown run status %q", f.Status)
	}
	if f.Limit < 0 {
		return flow.RunPage{}, flow.Errorf(flow.EINVALID, "limit must not be negative")
	}
	return e.db.ListRuns(ctx, f)
}

// ActiveRuns implements flow.Runs (at most 500 runs, oldest first).
func (e *Engine) ActiveRuns(ctx context.Context, projectID string) ([]flow.Run, error) {
	runs, err := e.db.ActiveRuns(ctx, projectID, 500)
	if err != nil {
		return nil, err
	}
	for i := range runs {
		for j := range runs[i].Nodes {
			runs[i].Nodes[j].Output, _ = preview(runs[i].Nodes[j].Output, e.cfg.PreviewBytes)
		}
	}
	return runs, nil
}

// preview cuts a JSON output to about max bytes: small outputs are kept as
// they are, larger ones become a JSON string of their first bytes + "…".
func preview(out json.RawMessage, max int) (json.RawMessage, bool) {
	if len(out) <= max {
		return out, false
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(out[cut]) {
		cut--
	}
	b, _ := json.Marshal(string(out[:cut]) + "…")
	return b, true
}
