package flow

import (
	"context"
	"encoding/json"
)

// The service contracts below are what the transport layers (httpapi, hub)
// consume. Each is implemented by one backend package and wired together in
// daemon. Every method is scoped to a project so a caller can never reach
// another project's data by guessing an id.

// Runs starts, cancels and reads workflow runs (implemented by engine).
type Runs interface {
	// StartRun snapshots the workflow, and in one transaction inserts the
	// run, its pending nodes, its queue job and a durable run.queued event.
	StartRun(ctx context.Context, projectID, workflowID string, inputs map[string]any) (*Run, error)
	// CancelRun cancels a queued or running run of the project. Canceling a
	// finished run is a no-op; a run of another project is not_found.
	CancelRun(ctx context.Context, projectID, runID string) error
	// Run returns the run with every node's status, timings, output preview
	// and error. projectID "" means any project (for GET /api/runs/{id}).
	Run(ctx context.Context, projectID, runID string) (*Run, error)
	// ListRuns lists runs newest first.
	ListRuns(ctx context.Context, f RunFilter) (RunPage, error)
	// ActiveRuns returns the queued and running runs of a project with their
	// node states: the snapshot of the project: channel.
	ActiveRuns(ctx context.Context, projectID string) ([]Run, error)
}

// RunFilter selects runs for ListRuns.
type RunFilter struct {
	ProjectID  string
	WorkflowID string    // optional
	Status     RunStatus // optional
	Limit      int       // default 50, max 500
	Cursor     string    // opaque, from RunPage.Next
	// ParentRunID and ParentNodeID select the child runs of a run (and of
	// one of its nodes); TopLevel leaves child runs out.
	ParentRunID  string
	ParentNodeID string
	TopLevel     bool
}

// RunPage is one page of runs.
type RunPage struct {
	Runs []Run  `json:"runs"`
	Next string `json:"next,omitempty"`
}

// Workflows stores and reads workflows (implemented by workflow).
type Workflows interface {
	// Save validates and writes the workflow. baseVersion < 0 means
	// "overwrite whatever is there"; otherwise a mismatch is a conflict
	// error whose Details is a WorkflowConflict. by names the editor (a
	// connection id or "api") for the workflow.updated event.
	Save(ctx context.Context, projectID, workflowID string, wf *Workflow, baseVersion int64, by string) (int64, error)
	Get(ctx context.Context, projectID, workflowID string) (*Workflow, error)
	List(ctx context.Context, projectID string) ([]Workflow, error)
	Delete(ctx context.Context, projectID, workflowID string) error
}

// WorkflowConflict is the Details of a conflict error from Workflows.Save.
type WorkflowConflict struct {
	Version  int64     `json:"version"`
	Workflow *Workflow `json:"workflow"`
}

// Problem is one validation problem; Node/Edge point at what it concerns so
// the UI can show it on the canvas.
type Problem struct {
	Field   string `json:"field"`
	Node    string `json:"node,omitempty"`
	Edge    *int   `json:"edge,omitempty"`
	Message string `json:"message"`
}

// ToolCatalog lists the tools of a project (built-in and MCP).
type ToolCatalog interface {
	ListTools(ctx context.Context, projectID string) ([]Tool, error)
}

// Commands is what a WebSocket connection can ask of the backend.
type Commands interface {
	ToolCatalog
	StartRun(ctx context.Context, projectID, workflowID string, inputs map[string]any) (*Run, error)
	CancelRun(ctx context.Context, projectID, runID string) error
	SaveWorkflow(ctx context.Context, projectID, workflowID string, wf json.RawMessage, baseVersion int64, by string) (int64, error)
	// Snapshot returns the current state of a channel for a subscribe reply:
	// project: -> {"runs": [...active runs]}, run: -> the run, workflow: ->
	// {"version", "workflow"}, tools: -> {"tools": [...]}. An unknown id
	// returns a not_found error.
	Snapshot(ctx context.Context, projectID, channel string) (any, error)
}
