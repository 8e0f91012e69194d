package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/procs"
	"github.com/flowweaver/flowweaver/backend/queue"
	"github.com/flowweaver/flowweaver/backend/store"
)

// Recovery after a crash: a crash is not a failure, and nothing of the
// interrupted attempt may run beside the next one.
//
// Every process group a node starts is recorded (table processes) from
// its start until it is gone. A node that the checkpoints still show as
// running was interrupted: before it runs again, whatever is left of its
// recorded groups is killed (the shell itself died with the server through
// its parent-death signal; its background jobs did not), and the re-run is
// the next attempt, with the reason recorded and announced in node.started
// so the UI can tell "attempt 2 — server restarted" apart from the
// interrupted attempt's log lines, which stay in the log.

// noteInterrupted marks node i as interrupted after it had started
// attempt prior.
func (x *execution) noteInterrupted(i, prior int) {
	if prior < 1 {
		prior = 1
	}
	x.prior[i] = prior
	if x.job != nil {
		x.reason[i] = queue.Interruption(x.job)
	}
	if x.reason[i] == "" {
		x.reason[i] = "server restarted"
	}
}

// reapInterrupted kills what is left of the recorded process groups of
// every interrupted node before any of them runs again.
func (x *execution) reapInterrupted(ctx context.Context) error {
	for i, prior := range x.prior {
		if prior == 0 {
			continue
		}
		if err := x.e.reapNode(ctx, x.run.ID, x.g.nodes[i].ID); err != nil {
			return err
		}
	}
	return nil
}

// reapNode kills the recorded groups of one node, of whichever owner: the
// node runs again, so its earlier attempt must not go on beside it.
func (e *Engine) reapNode(ctx context.Context, runID, nodeID string) error {
	rows, err := e.db.Processes(ctx, runID, nodeID)
	if err != nil {
		return err
	}
	for _, p := range rows {
		e.reap(ctx, p)
	}
	return nil
}

// reapOrphans kills the recorded groups of owners that are gone (nodes of
// runs that will not resume, stdio tool servers) when the engine starts.
func (e *Engine) reapOrphans(ctx context.Context) error {
	rows, err := e.db.Processes(ctx, "", "")
	if err != nil {
		return err
	}
	for _, p := range rows {
		if !e.q.OwnerAlive(p.Owner) {
			e.reap(ctx, p)
		}
	}
	return nil
}

// reap kills one recorded group and forgets it. A group that cannot be
// checked on this system is only logged: killing an unverified group id
// could hit an unrelated process.
func (e *Engine) reap(ctx context.Context, p store.ProcessRow) {
	g := procs.Group{Pgid: p.Pgid, StartTicks: p.StartTicks, BootID: p.BootID}
	n, err := procs.Kill(g)
	switch {
	case errors.Is(err, procs.ErrUnverifiable):
		e.log.Warn("processes of an interrupted attempt may still run", "run", p.RunID, "node", p.NodeID, "pgid", p.Pgid, "err", err)
	case err != nil:
		e.log.Error("kill processes of an interrupted attempt", "run", p.RunID, "node", p.NodeID, "pgid", p.Pgid, "err", err)
		return // keep the record: the next start tries again
	case n > 0:
		e.log.Info("killed processes left by an interrupted attempt", "run", p.RunID, "node", p.NodeID, "pgid", p.Pgid, "processes", n)
	}
	if err := e.db.DeleteProcess(ctx, p.ID); err != nil {
		e.log.Error("forget process record", "id", p.ID, "err", err)
	}
}

// processStarted is the tools.Call.Started hook of a node: it records the
// group and returns the func that forgets it once the group is gone.
func (e *Engine) processStarted(projectID, runID, nodeID string) func(pgid int) func() {
	return func(pgid int) func() {
		return e.recordProcess("node", projectID, runID, nodeID, pgid)
	}
}

// ProcessStarted records a stdio tool server's group (mcp Options.Started).
func (e *Engine) ProcessStarted(projectID string, pgid int) func() {
	return e.recordProcess("mcp", projectID, "", "", pgid)
}

func (e *Engine) recordProcess(kind, projectID, runID, nodeID string, pgid int) func() {
	g, err := procs.Identify(pgid)
	if err != nil {
		e.log.Warn("cannot identify a started process; a crash may leave it running", "pgid", pgid, "err", err)
		return nil
	}
	row := store.ProcessRow{Owner: e.q.Owner(), Kind: kind, ProjectID: projectID, RunID: runID, NodeID: nodeID,
		Pgid: g.Pgid, StartTicks: g.StartTicks, BootID: g.BootID}
	ctx := context.Background()
	if err := e.db.InsertProcess(ctx, &row); err != nil {
		e.log.Error("record started process", "pgid", pgid, "err", err)
		return nil
	}
	return func() {
		if err := e.db.DeleteProcess(ctx, row.ID); err != nil {
			e.log.Error("forget process record", "id", row.ID, "err", err)
		}
	}
}

// failInterruptedNodes, in the transaction where a run gives up, fails the
// nodes that were running: they were not canceled (nobody asked), and
// whether their work got done is unknown, which the error says.
func (e *Engine) failInterruptedNodes(ctx context.Context, tx *store.Tx, job *queue.Job, msg string) error {
	ids, err := tx.FailRunningNodes(ctx, job.Ref, "interrupted, outcome unknown: "+msg)
	if err != nil {
		return err
	}
	for _, id := range ids {
		ev := flow.NewEvent(job.ProjectID, flow.EventNodeFailed, job.Ref, "", map[string]any{
			"runId": job.Ref, "nodeId": id, "error": "interrupted, outcome unknown: " + msg})
		if err := tx.AppendEvent(ctx, &ev); err != nil {
			return fmt.Errorf("node.failed of %s: %w", id, err)
		}
	}
	return nil
}
