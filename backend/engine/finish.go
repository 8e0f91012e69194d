package engine

import (
	"context"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/store"
)

// Ending a run: its status, its unfinished nodes and child runs, and its
// run.completed/failed/canceled event, in one transaction.

// runPayload is the payload of run.* events.
type runPayload struct {
	RunID      string         `json:"runId"`
	WorkflowID string         `json:"workflowId"`
	Status     flow.RunStatus `json:"status"`
	Error      string         `json:"error,omitempty"`
	Attempt    int            `json:"attempt,omitempty"`
	DurationMs *int64         `json:"durationMs,omitempty"`
	// ParentRunID is set on the events of child runs.
	ParentRunID string `json:"parentRunId,omitempty"`
	// Trigger is on run.queued: what started the run.
	Trigger *flow.RunTrigger `json:"trigger,omitempty"`
}

// finishRunTx ends a run in tx: status, its unfinished nodes, the event.
func (e *Engine) finishRunTx(ctx context.Context, tx *store.Tx, projectID, runID, workflowID string, st flow.RunStatus, msg string, pendingTo flow.NodeStatus, dur *int64) error {
	return e.finishRun(ctx, tx, runFinish{projectID: projectID, runID: runID, workflowID: workflowID, status: st, msg: msg, pendingTo: pendingTo, duration: dur})
}

// runFinish is how finishRun ends a run.
type runFinish struct {
	projectID, runID, workflowID string
	status                       flow.RunStatus
	msg                          string
	pendingTo                    flow.NodeStatus // what nodes that never ended become
	duration                     *int64
	// startedToo: the run's start is written in the same transaction
	// (one UPDATE stamps both).
	startedToo bool
	// noChildren: the run's workflow has no node that starts child runs,
	// so there are none to cancel and the lookup is skipped.
	noChildren bool
}

// finishRun ends a run in tx with its run.completed/failed/canceled event
// and cancels its unfinished child runs.
func (e *Engine) finishRun(ctx context.Context, tx *store.Tx, f runFinish) error {
	projectID, runID, workflowID, st, msg, pendingTo, dur := f.projectID, f.runID, f.workflowID, f.status, f.msg, f.pendingTo, f.duration
	if workflowID == "" {
		r, err := e.db.GetRun(ctx, projectID, runID)
		if err == nil {
			workflowID = r.WorkflowID
		}
	}
	errMsg := msg
	if st == flow.RunSucceeded || st == flow.RunCanceled {
		errMsg = ""
	}
	finish := tx.FinishRun
	if f.startedToo {
		finish = tx.FinishRunStartedNow
	}
	if err := finish(ctx, runID, st, errMsg, pendingTo); err != nil {
		return err
	}
	ev := runEndEvent(projectID, runID, workflowID, st, errMsg, dur)
	if err := tx.AppendEvent(ctx, &ev); err != nil {
		return err
	}
	// Child runs execute inside their parent's job: whatever of them is
	// unfinished when the parent ends can never continue.
	if f.noChildren {
		return nil
	}
	kids, wfs, err := tx.UnfinishedDescendants(ctx, runID)
	if err != nil {
		return err
	}
	for i, id := range kids {
		if err := tx.FinishRun(ctx, id, flow.RunCanceled, "", flow.NodeCanceled); err != nil {
			return err
		}
		ev := flow.NewEvent(projectID, flow.EventRunCanceled, id, wfs[i], runPayload{RunID: id, WorkflowID: wfs[i], Status: flow.RunCanceled, ParentRunID: runID})
		if err := tx.AppendEvent(ctx, &ev); err != nil {
			return err
		}
	}
	return nil
}

// runEndEvent is the run.completed, run.failed or run.canceled event of a
// run that ended with st.
func runEndEvent(projectID, runID, workflowID string, st flow.RunStatus, errMsg string, dur *int64) flow.Event {
	typ := map[flow.RunStatus]string{flow.RunSucceeded: flow.EventRunCompleted, flow.RunFailed: flow.EventRunFailed, flow.RunCanceled: flow.EventRunCanceled}[st]
	return flow.NewEvent(projectID, typ, runID, workflowID, runPayload{RunID: runID, WorkflowID: workflowID, Status: st, Error: errMsg, DurationMs: dur})
}
