package engine

import (
	"context"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/store"
)

// stepWrites is what one step of an execution writes, prepared by the
// goroutine that submits the step: the node and run rows to update, and
// the events with their payloads already encoded. Encoding the payloads
// here, instead of inside the step, keeps JSON (about 5% of the server's
// CPU on a chain of quick nodes) out of the single writer, where every
// other run's step waits for it. The step then only runs SQL (apply).
//
// Everything a step records is decided in memory before it is submitted
// (the scheduler's state for a node does not change once it ended), so
// preparing it early records the same as writing it in the step did.
type stepWrites struct {
	rows []rowWrite
	evs  []flow.Event
}

// rowWrite is one row update of a step.
type rowWrite struct {
	kind       rowKind
	node       string
	status     flow.NodeStatus
	attempt    int
	ms         int64
	output     []byte
	msg        string
	startedToo bool // the node's start is written by this end's UPDATE
}

type rowKind int

const (
	rowRunStarted  rowKind = iota // SetRunStarted
	rowNodeStarted                // StartNode
	rowNodeReason                 // SetNodeReason (msg)
	rowNodeEnded                  // FinishNode / FinishNodeStartedNow
	rowNodeSkipped                // SetNodeStatus skipped
)

// event adds an event of the execution's run, encoding its payload now.
func (w *stepWrites) event(x *execution, typ string, payload any) {
	w.evs = append(w.evs, flow.NewEvent(x.run.ProjectID, typ, x.run.ID, x.run.WorkflowID, payload))
}

// apply writes the rows, then appends the events in the order they were
// added.
func (w *stepWrites) apply(ctx context.Context, tx *store.Tx, runID string) error {
	for _, r := range w.rows {
		var err error
		switch r.kind {
		case rowRunStarted:
			err = tx.SetRunStarted(ctx, runID)
		case rowNodeStarted:
			err = tx.StartNode(ctx, runID, r.node, r.attempt)
		case rowNodeReason:
			err = tx.SetNodeReason(ctx, runID, r.node, r.msg)
		case rowNodeEnded:
			finish := tx.FinishNode
			if r.startedToo {
				finish = tx.FinishNodeStartedNow
			}
			err = finish(ctx, runID, r.node, r.status, r.attempt, r.ms, r.output, r.msg)
		case rowNodeSkipped:
			err = tx.SetNodeStatus(ctx, runID, flow.NodeSkipped, r.node)
		}
		if err != nil {
			return err
		}
	}
	for i := range w.evs {
		ev := w.evs[i] // AppendEvent stamps its copy
		if err := tx.AppendEvent(ctx, &ev); err != nil {
			return err
		}
	}
	return nil
}

// startRecord adds r: the run's row and run.started, then each node's
// start. Nodes in ended end in the same step: their row is written once,
// by their end's UPDATE (FinishNodeStartedNow), so only their
// node.started (and the reason of a re-run) is added here. The run's row
// is likewise left to the finishing UPDATE when runMerged.
func (w *stepWrites) startRecord(x *execution, r startRecord, ended []nodeResult, runMerged bool) {
	if r.run {
		if !runMerged {
			w.rows = append(w.rows, rowWrite{kind: rowRunStarted})
		}
		w.event(x, flow.EventRunStarted, runPayload{RunID: x.run.ID, WorkflowID: x.run.WorkflowID, Status: flow.RunRunning, Attempt: x.attempt(), ParentRunID: x.run.ParentRunID})
	}
	for _, i := range r.nodes {
		w.start(x, i, !endsIn(ended, i))
	}
}

// start adds that node i starts its attempt, with node.started carrying
// the attempt and, for a re-run, why it runs again (recovery.go). row is
// false when the node also ends in the same step.
func (w *stepWrites) start(x *execution, i int, row bool) {
	n := x.g.nodes[i]
	attempt := x.prior[i] + 1
	if row {
		w.rows = append(w.rows, rowWrite{kind: rowNodeStarted, node: n.ID, attempt: attempt})
	}
	p := nodeStartedPayload{RunID: x.run.ID, NodeID: n.ID, Tool: n.Tool, Attempt: attempt}
	if r := x.reason[i]; r != "" {
		w.rows = append(w.rows, rowWrite{kind: rowNodeReason, node: n.ID, msg: r})
		p.Reason, p.InterruptedAttempt = r, x.prior[i]
	}
	w.event(x, flow.EventNodeStarted, p)
}

// lines adds log lines as node.log events. Lines are taken from the buffer
// under stepMu right before their step is submitted, and steps commit in
// submission order, so events keep the order of the lines; the lines of a
// node that ended are taken before the step that records its end, so they
// precede its node.completed.
func (w *stepWrites) lines(x *execution, lines []logLine) {
	for _, b := range batches(x.run.ID, lines, x.e.cfg.LogBatchLines, 256<<10) {
		w.event(x, flow.EventNodeLog, b)
	}
}

// end adds a node's end (its checkpoint) with its event. startedToo: the
// node's start is written in the same step, so this one UPDATE stamps its
// start as well.
func (w *stepWrites) end(x *execution, r nodeResult, startedToo bool) {
	n := x.g.nodes[r.idx]
	ms := r.duration.Milliseconds()
	if r.err != nil {
		msg := errorText(r.err)
		w.rows = append(w.rows, rowWrite{kind: rowNodeEnded, node: n.ID, status: flow.NodeFailed, attempt: r.attempt, ms: ms, msg: msg, startedToo: startedToo})
		w.event(x, flow.EventNodeFailed, nodeFailedPayload{RunID: x.run.ID, NodeID: n.ID, Error: msg, DurationMs: ms,
			Attempt: r.attempt, Edges: x.outEdges(r.idx), Handled: x.handled(r.idx)})
		return
	}
	w.rows = append(w.rows, rowWrite{kind: rowNodeEnded, node: n.ID, status: flow.NodeSucceeded, attempt: r.attempt, ms: ms, output: r.output, startedToo: startedToo})
	out, cut := preview(r.output, x.e.cfg.PreviewBytes)
	p := nodeCompletedPayload{RunID: x.run.ID, NodeID: n.ID, DurationMs: ms, Output: out, Attempt: r.attempt, Edges: x.outEdges(r.idx), Branch: r.branch}
	if cut {
		p.OutputTruncated, p.OutputBytes = true, len(r.output)
	}
	w.event(x, flow.EventNodeCompleted, p)
}

// skipped adds a skipped node with its event.
func (w *stepWrites) skipped(x *execution, i int) {
	n := x.g.nodes[i]
	w.rows = append(w.rows, rowWrite{kind: rowNodeSkipped, node: n.ID})
	w.event(x, flow.EventNodeSkipped, nodeSkippedPayload{RunID: x.run.ID, NodeID: n.ID,
		Reason: x.why[i].reason(), Cause: x.why[i].from, UpstreamFailed: x.why[i].failed, Edges: x.outEdges(i)})
}
