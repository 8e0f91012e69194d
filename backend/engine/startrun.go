package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/queue"
	"github.com/flowweaver/flowweaver/backend/store"
)

// Starting a run: StartRun and StartRunWith snapshot the workflow and write
// the run, its pending nodes, its job and run.queued in one transaction.

// StartOptions are the extras of StartRunWith.
type StartOptions struct {
	// Priority orders runs in the queue (higher first). Default 0.
	Priority int

	// rerun is set by RerunFrom: the run re-run and the recorded nodes
	// the new run starts with.
	rerun *rerunSeed
	// Trigger is what started the run (the run JSON's "trigger"); nil
	// means a manual run, {"type": "manual"}.
	Trigger *flow.RunTrigger
	// TriggerInputs becomes inputs.trigger (the full record: a webhook's
	// body, headers and query, a schedule's slot, the changed files). nil
	// means Trigger itself. Whatever the caller put into inputs["trigger"]
	// is replaced, so a manual run cannot pretend to be a schedule.
	TriggerInputs map[string]any
	// InTx runs first in the transaction that inserts the run and its job;
	// its error aborts the start and writes nothing. A schedule claims its
	// slot here, so the slot and its run commit together or not at all.
	InTx func(ctx context.Context, tx *store.Tx) error
	// Workflow is the workflow as the caller already read it (a trigger
	// that read it to find its own definition): the run executes exactly
	// that version, and it is not read twice. nil reads it now.
	Workflow *flow.Workflow
	// WorkflowShared says that Workflow is the SharedWorkflowSource's own
	// read-only value (from Shared): the run then shares its version's
	// compiled form, and may be prepared or immediate like a run whose
	// workflow the engine read itself.
	WorkflowShared bool
}

// StartRun implements flow.Runs.
func (e *Engine) StartRun(ctx context.Context, projectID, workflowID string, inputs map[string]any) (*flow.Run, error) {
	return e.StartRunWith(ctx, projectID, workflowID, inputs, StartOptions{})
}

// StartRunWith starts a run with options: the workflow is snapshotted and
// the run, its pending nodes, its job and the run.queued event are written
// in one transaction. A run of instant nodes that a free worker can take
// is executed first and written whole, already ended (immediate.go).
func (e *Engine) StartRunWith(ctx context.Context, projectID, workflowID string, inputs map[string]any, opts StartOptions) (*flow.Run, error) {
	if err := e.checkTrust(ctx, projectID); err != nil {
		return nil, err
	}
	wf, shared, err := e.workflowToRun(ctx, projectID, workflowID, opts.Workflow, opts.WorkflowShared)
	if err != nil {
		return nil, err
	}
	c, err := e.compiled.get(projectID, workflowID, wf, shared)
	if err != nil {
		return nil, err
	}
	g, snapshot := c.g, c.snapshot
	inputs = maps.Clone(inputs)
	if inputs == nil {
		inputs = map[string]any{}
	}
	if opts.Trigger == nil {
		opts.Trigger = flow.ManualTrigger()
	}
	if opts.TriggerInputs != nil {
		inputs["trigger"] = opts.TriggerInputs
	} else {
		inputs["trigger"] = opts.Trigger
	}
	if _, err := json.Marshal(inputs); err != nil {
		return nil, flow.Errorf(flow.EINVALID, "inputs are not JSON: %v", err)
	}
	if inputs, err = e.runInputs(wf, inputs, "trigger"); err != nil {
		return nil, err
	}
	r := &store.RunRow{Run: flow.Run{ID: e.ids.next("r", e.cfg.Now()), ProjectID: projectID, WorkflowID: workflowID,
		Status: flow.RunQueued, Inputs: inputs, Trigger: opts.Trigger, Workflow: snapshot}}
	p, err := e.project(ctx, projectID)
	if err != nil {
		return nil, err
	}
	queued := flow.NewEvent(projectID, flow.EventRunQueued, r.ID, workflowID, runPayload{RunID: r.ID, WorkflowID: workflowID, Status: flow.RunQueued, Trigger: opts.Trigger})
	jp := jobPayload{WorkflowID: workflowID, Inputs: inputs, Workflow: snapshot}
	if opts.rerun != nil {
		r.RerunOf, r.RerunFrom = opts.rerun.of, opts.rerun.from
		jp.Workflow = nil // the first attempt reads the seeded checkpoints
	}
	// The worker of this process that takes the run executes it as built
	// here (preparedRuns). Only a shared workflow is handed over as it is:
	// it was decoded from JSON, so its params have the types that a resumed
	// run decodes from the snapshot (a caller's own may hold an int where
	// the snapshot gives a float64).
	prepared := shared && opts.rerun == nil
	// A free worker takes the run as it commits (queue.Handoff), without
	// a claim of its own; otherwise the run waits in the queue.
	handoff := e.q.Reserve(projectID)
	if handoff != nil && prepared && c.instant && e.cfg.ImmediateBudget > 0 {
		// Executed at once, committed with its start (immediate.go). The
		// answer is the run as it was accepted: queued.
		out := r.Run
		done, err := e.runImmediately(ctx, r, g, p, queued, opts, handoff)
		if done {
			if err != nil {
				handoff.Release()
				return nil, fmt.Errorf("start run: %w", err)
			}
			out.Workflow, out.CreatedAt = nil, r.CreatedAt
			return &out, nil
		}
	}
	if prepared {
		e.prepared.put(r.ID, &preparedRun{run: r, g: g})
	}
	// notStarted undoes the hand-off and the prepared run when the run
	// does not start.
	notStarted := func(err error) error {
		e.prepared.drop(r.ID)
		if handoff != nil {
			handoff.Release()
		}
		return fmt.Errorf("start run: %w", err)
	}
	var payload []byte
	if handoff == nil || !prepared {
		// What a first attempt needs if it does not find the run prepared
		// (claimed after a restart, or by another node); a prepared run
		// handed off is taken here at once.
		if payload, err = json.Marshal(jp); err != nil {
			return nil, notStarted(err)
		}
	}
	err = e.batch.do(func(tx *store.Tx) error {
		if opts.InTx != nil {
			if err := opts.InTx(ctx, tx); err != nil {
				return err
			}
		}
		job := queue.NewJob{ProjectID: projectID, Kind: JobKind, Ref: r.ID, Priority: opts.Priority, Payload: payload}
		var jobID int64
		var err error
		if handoff != nil {
			jobID, err = e.q.EnqueueClaimed(ctx, tx, job, handoff)
		} else {
			jobID, err = e.q.Enqueue(ctx, tx, job)
		}
		if err != nil {
			if flow.ErrorCode(err) == flow.EINTERNAL && isForeignKey(err) {
				return flow.Errorf(flow.ENOTFOUND, "project %q not found", projectID)
			}
			return err
		}
		r.JobID = jobID
		if err := tx.InsertRun(ctx, r, g.ids()); err != nil {
			return err
		}
		if err := opts.rerun.write(ctx, tx, r.ID); err != nil {
			return err
		}
		ev := queued // AppendEvent stamps its copy
		return tx.AppendEvent(ctx, &ev)
	}, true)
	if err != nil {
		return nil, notStarted(err)
	}
	out := r.Run // copied before a worker may take r
	out.Workflow = nil
	if handoff != nil {
		handoff.Start()
	}
	return &out, nil
}

// workflowToRun returns the workflow a run starts with: the caller's own
// (ownShared: it is the source's shared value), or the source's; shared
// tells whether the value is the source's shared one, whose pointer
// identifies the workflow's version.
func (e *Engine) workflowToRun(ctx context.Context, projectID, workflowID string, own *flow.Workflow, ownShared bool) (*flow.Workflow, bool, error) {
	if own != nil {
		_, isSource := e.cfg.Workflows.(SharedWorkflowSource)
		return own, ownShared && isSource, nil
	}
	if src, ok := e.cfg.Workflows.(SharedWorkflowSource); ok {
		wf, err := src.Shared(ctx, projectID, workflowID)
		return wf, err == nil, err
	}
	wf, err := e.cfg.Workflows.Get(ctx, projectID, workflowID)
	return wf, false, err
}

func (e *Engine) checkTrust(ctx context.Context, projectID string) error {
	if e.cfg.Trust == nil {
		return nil
	}
	return e.cfg.Trust.CheckRun(ctx, projectID)
}

func isForeignKey(err error) bool {
	return err != nil && containsFold(err.Error(), "FOREIGN KEY")
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToUpper(s), strings.ToUpper(sub))
}
