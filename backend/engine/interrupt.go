package engine

import (
	"context"
	"errors"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/queue"
	"github.com/flowweaver/flowweaver/backend/store"
)

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
	var ok, stopped []nodeResult
	for _, r := range done {
		switch {
		case r.err == nil:
			x.apply(r)
			ok = append(ok, r)
		case canceled:
			x.status[r.idx] = flow.NodeCanceled
			stopped = append(stopped, r)
		}
		// interrupted by shutdown: the node runs again on resume
	}
	x.stepMu.Lock()
	var w stepWrites
	w.startRecord(x, x.takeStart(), nil, false)
	w.lines(x, x.logs.take())
	for _, r := range ok {
		w.end(x, r, false)
	}
	s := x.e.batch.submit(func(tx *store.Tx) error {
		if err := x.e.q.LeaseHeld(wctx, tx, x.lease); err != nil {
			return err
		}
		if err := w.apply(wctx, tx, x.run.ID); err != nil {
			return err
		}
		if !canceled {
			return nil
		}
		for _, r := range stopped {
			n := x.g.nodes[r.idx]
			if err := tx.FinishNode(wctx, x.run.ID, n.ID, flow.NodeCanceled, r.attempt, r.duration.Milliseconds(), nil, "canceled"); err != nil {
				return err
			}
			if err := x.event(wctx, tx, EventNodeCanceled, nodeRef{RunID: x.run.ID, NodeID: n.ID}); err != nil {
				return err
			}
		}
		if err := x.e.finishRunTx(wctx, tx, x.run.ProjectID, x.run.ID, x.run.WorkflowID, flow.RunCanceled, "canceled", flow.NodeCanceled, nil); err != nil {
			return err
		}
		if x.child {
			return nil
		}
		return x.e.q.Finish(wctx, tx, x.lease, queue.Finish{State: queue.Canceled, LastError: "canceled"})
	}, false)
	x.stepMu.Unlock()
	<-s.done
	if s.err != nil {
		return s.err
	}
	return cause
}
