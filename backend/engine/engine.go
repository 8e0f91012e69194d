// Package engine runs workflows: StartRun snapshots a workflow into a run
// and enqueues it as a durable queue job in one transaction; the job's
// handler executes the graph (ready-set scheduling, parallel branches,
// per-node timeout and retry) and checkpoints every node together with its
// event, so a run survives crashes and resumes where it stopped.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

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
