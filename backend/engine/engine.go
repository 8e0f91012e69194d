// Package engine runs workflows: StartRun snapshots a workflow into a run
// and enqueues it as a durable queue job in one transaction; the job's
// handler executes the graph (ready-set scheduling, parallel branches,
// per-node timeout and retry) and checkpoints every node together with its
// event, so a run survives crashes and resumes where it stopped.
package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/gopool"
	"github.com/flowweaver/flowweaver/backend/inputs"
	"github.com/flowweaver/flowweaver/backend/queue"
	"github.com/flowweaver/flowweaver/backend/store"
	"github.com/flowweaver/flowweaver/backend/tools"
)

// ToolRunner runs a tool by name (the tools registry satisfies it).
type ToolRunner interface {
	Run(ctx context.Context, name string, call tools.Call) (any, error)
}

// WorkflowSource reads a project's workflow (the workflow package
// satisfies it). A missing workflow is a not_found *flow.Error.
type WorkflowSource interface {
	Get(ctx context.Context, projectID, workflowID string) (*flow.Workflow, error)
}

// SharedWorkflowSource is a WorkflowSource that can hand out its own,
// read-only value of a workflow: the same pointer for as long as the
// workflow is unchanged (workflow.Service.Shared). Runs of an unchanged
// workflow then share its compiled snapshot and graph (compiledCache), and
// a run handed to a worker here executes that graph without decoding its
// snapshot, so the values must be what decoding JSON gives (float64
// numbers, map[string]any objects), as they are from a workflow file.
type SharedWorkflowSource interface {
	WorkflowSource
	Shared(ctx context.Context, projectID, workflowID string) (*flow.Workflow, error)
}

// RunGate says whether a project may run workflows (trust.Policy
// satisfies it): nil, or an error with code untrusted.
type RunGate interface {
	CheckRun(ctx context.Context, projectID string) error
}

// JobKind is the queue job kind of a run.
const JobKind = "run"

// EventNodeCanceled is sent for a node that was running when its run was
// canceled (an extension of the wire contract, docs/websocket.md).
const EventNodeCanceled = "node.canceled"

// Config configures an Engine. Zero values take the documented defaults.
type Config struct {
	// DB is the database. Required.
	DB *store.DB
	// Tools runs node tools. Required.
	Tools ToolRunner
	// Workflows reads workflows for StartRun. Required.
	Workflows WorkflowSource
	// Secrets resolves {{ secrets.NAME }} and masks secret values in
	// everything a run records. Nil: no secrets.
	Secrets SecretSource
	// Queue configures the job queue and worker pool (Workers,
	// ProjectLimit, LeaseDuration, StopGrace, ...); Store is filled in.
	// Queue.Workers is the daemon's --workers (default 64).
	Queue queue.Config
	// MaxAttempts is how often a run's job is tried when the engine
	// itself fails (database error, crash) before the run is failed.
	// Node failures are not job failures. Default 5.
	MaxAttempts int
	// NodeParallelism bounds the nodes of one run that execute at once.
	// Default 4.
	NodeParallelism int
	// PreviewBytes caps the output carried by node.completed and by run
	// reads. Default 2048.
	PreviewBytes int
	// StartRecordDelay is how long the start of a run and of its nodes
	// may wait to be written together with their end (startrecord.go).
	// Default 5ms; negative writes every start at once.
	StartRecordDelay time.Duration
	// ImmediateBudget is how long a run of instant nodes may execute as it
	// starts, to be committed whole with its start (immediate.go), before it
	// is started on a worker instead. Default 50ms; negative: never.
	ImmediateBudget time.Duration
	// LogFlushInterval is how long log lines wait before they are written
	// as a node.log event. Default 50ms.
	LogFlushInterval time.Duration
	// LogBatchLines caps the lines of one node.log event; a full batch is
	// written at once. Default 1000.
	LogBatchLines int
	// LogBufferLines is how many lines a run may buffer before Log waits
	// for the database. Default 20000.
	LogBufferLines int
	// MaxLineBytes cuts longer log lines. Default 16 KiB.
	MaxLineBytes int
	// Trust is asked before a run is started and again before a worker
	// executes it: an untrusted project's runs are refused (REST 403,
	// WebSocket error "untrusted") and one whose trust was revoked while
	// it was queued does not execute. The daemon always sets it (the
	// backend/trust policy); nil lets every project run (engine tests).
	Trust RunGate
	// MaxCallDepth bounds the nesting of child runs (workflow and forEach
	// nodes calling workflows that call workflows...). Default 10.
	MaxCallDepth int
	// Now is the clock for durations. Default time.Now.
	Now func() time.Time
	// Logger receives operational errors. Default slog.Default().
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 5
	}
	if c.NodeParallelism <= 0 {
		c.NodeParallelism = 4
	}
	if c.PreviewBytes <= 0 {
		c.PreviewBytes = 2048
	}
	if c.ImmediateBudget == 0 {
		// The caller's request waits for it and a reserved worker is busy:
		// long enough for a chain of quick nodes on a busy machine, short
		// enough that falling back costs little.
		c.ImmediateBudget = 50 * time.Millisecond
	}
	if c.StartRecordDelay == 0 {
		c.StartRecordDelay = 5 * time.Millisecond
	}
	if c.LogFlushInterval <= 0 {
		c.LogFlushInterval = 50 * time.Millisecond
	}
	if c.LogBatchLines <= 0 {
		c.LogBatchLines = 1000
	}
	if c.LogBufferLines <= 0 {
		c.LogBufferLines = 20000
	}
	if c.LogBufferLines < c.LogBatchLines {
		c.LogBufferLines = c.LogBatchLines
	}
	if c.MaxLineBytes <= 0 {
		c.MaxLineBytes = 16 << 10
	}
	if c.MaxCallDepth <= 0 {
		c.MaxCallDepth = 10
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Queue.Logger == nil {
		c.Queue.Logger = c.Logger
	}
	if c.Queue.MaxAttempts <= 0 {
		c.Queue.MaxAttempts = c.MaxAttempts
	}
	return c
}

func (c Config) validate() error {
	switch {
	case c.DB == nil:
		return errors.New("engine config: DB is required")
	case c.Tools == nil:
		return errors.New("engine config: Tools is required")
	case c.Workflows == nil:
		return errors.New("engine config: Workflows is required")
	}
	return nil
}

// Engine implements flow.Runs.
type Engine struct {
	cfg   Config
	db    *store.DB
	q     *queue.Queue
	log   *slog.Logger
	batch *batcher

	// inputSchemas keeps the compiled inputs declarations (runInputs).
	inputSchemas inputs.Cache
	// compiled keeps each workflow's snapshot and graph for its runs
	// (prepared.go).
	compiled compiledCache
	// prepared holds the runs started here until a worker here takes them.
	prepared preparedRuns
	// nodeGoroutines are what executions run their nodes on (runners.go).
	nodeGoroutines *gopool.Pool

	projects sync.Map // id -> *flow.Project
	inline   sync.Map // run id of a child run executing here -> context.CancelCauseFunc
	ids      ids
}

var _ flow.Runs = (*Engine)(nil)

// New builds an Engine and its queue. Start runs the workers.
func New(cfg Config) (*Engine, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	b := &batcher{db: cfg.DB, max: 256}
	cfg.Queue.Store = queue.NewGroupCommitStore(cfg.DB, func(ctx context.Context, fn func(tx *store.Tx) error) error {
		return b.do(fn, true)
	})
	// A SQLite database belongs to this process alone (the data-dir lock):
	// runs started here may go straight to a free worker.
	cfg.Queue.Handoff = cfg.DB.Dialect() == store.SQLite
	q, err := queue.New(cfg.Queue)
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	e := &Engine{cfg: cfg, db: cfg.DB, q: q, log: cfg.Logger, batch: b, nodeGoroutines: gopool.New(nodeGoroutineLinger)}
	e.compiled.isInstant = func(g *graph) bool { return instantGraph(g, cfg.Tools) }
	q.Handle(JobKind, handler{e})
	return e, nil
}

// Start rescues runs of dead workers and starts the worker pool.
//
// Before any job runs, the process groups that a dead server's nodes and
// tool servers left behind are killed (see recovery.go).
func (e *Engine) Start(ctx context.Context) error {
	if err := e.reapOrphans(ctx); err != nil {
		return fmt.Errorf("engine start: %w", err)
	}
	return e.q.Start(ctx)
}

// Stop stops the workers: running runs get Queue.StopGrace to finish, then
// are interrupted and handed back to the queue; they resume from their
// checkpoints at the next Start (of this or another process).
func (e *Engine) Stop(ctx context.Context) error {
	err := e.q.Stop(ctx)
	e.batch.wait()
	e.nodeGoroutines.Close() // every execution has ended with its job
	return err
}

// nodeGoroutineLinger is how long an idle node goroutine waits for the
// next node before it exits.
const nodeGoroutineLinger = 5 * time.Second

// ForgetProject drops the engine's cached copy of a deleted project.
func (e *Engine) ForgetProject(id string) { e.projects.Delete(id) }

// Queue is the engine's job queue (stats and job listing for the API).
func (e *Engine) Queue() *queue.Queue { return e.q }

// QueueStats is the body of GET /api/queue.
func (e *Engine) QueueStats(ctx context.Context) (queue.Stats, error) { return e.q.Stats(ctx) }

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

// ids makes time-ordered ids: the millisecond clock and a counter in hex
// (strictly increasing within the process, so runs list in start order),
// then 6 random bytes (unique across processes). Ids that grow with time
// also make inserts into the runs and node_runs B-trees append at the end,
// so a commit touches few pages.
type ids struct {
	mu     sync.Mutex
	lastMs int64
	seq    int64
}

func (g *ids) next(prefix string, now time.Time) string {
	g.mu.Lock()
	ms := now.UnixMilli()
	if ms <= g.lastMs {
		ms = g.lastMs
		g.seq++
	} else {
		g.lastMs, g.seq = ms, 0
	}
	seq := g.seq
	g.mu.Unlock()
	var b [6]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s_%012x%04x%s", prefix, ms, seq&0xffff, hex.EncodeToString(b[:]))
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToUpper(s), strings.ToUpper(sub))
}
