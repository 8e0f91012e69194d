package flow

import (
	"encoding/json"
	"time"
)

// Project is a folder opened in Flow Weaver.
type Project struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Path string `json:"path"`
	// Trusted says the user allowed this project to run what its folder
	// brings (workflows, MCP servers, triggers). Until then it is browse
	// only; see backend/trust.
	Trusted   bool      `json:"trusted"`
	CreatedAt time.Time `json:"createdAt"`
}

// Workflow is a graph of tool invocations. It is stored as a file in the
// project folder; Version is kept by the server and grows by one per save.
type Workflow struct {
	ID      string `json:"id,omitempty"`
	Name    string `json:"name"`
	Version int64  `json:"version,omitempty"`
	Nodes   []Node `json:"nodes"`
	Edges   []Edge `json:"edges"`
	// Inputs declares the run inputs as a JSON Schema object schema
	// (backend/inputs): the run form's fields, their defaults, and what
	// every run start checks. Empty: the workflow declares none.
	Inputs json.RawMessage `json:"inputs,omitempty"`
	// Triggers start the workflow by itself (schedule, webhook, files).
	Triggers []Trigger `json:"triggers,omitempty"`
}

// Node is one tool invocation in a workflow.
type Node struct {
	ID        string         `json:"id"`
	Tool      string         `json:"tool"`
	Label     string         `json:"label,omitempty"`
	Params    map[string]any `json:"params,omitempty"`
	Retry     *RetryPolicy   `json:"retry,omitempty"`
	TimeoutMs int64          `json:"timeoutMs,omitempty"`
	Position  *Position      `json:"position,omitempty"`
}

// RetryPolicy says how often a failed node is tried again.
type RetryPolicy struct {
	Max       int   `json:"max"`
	BackoffMs int64 `json:"backoffMs,omitempty"`
}

// Position is the node's place on the canvas; it has no effect on execution.
type Position struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// Edge says when Target may run after Source ended. On is "" or
// EdgeSuccess (after Source succeeded), EdgeFailure (after it failed: the
// failure is then handled), EdgeAlways (after it succeeded or failed), or
// the name of a branch of a branching node (if: "true"/"false"; switch: a
// case or "default").
type Edge struct {
	Source string `json:"source"`
	Target string `json:"target"`
	On     string `json:"on,omitempty"`
}

// Edge conditions other than branch names.
const (
	EdgeSuccess = "success"
	EdgeFailure = "failure"
	EdgeAlways  = "always"
)

// Condition is the edge's On with the default applied.
func (e Edge) Condition() string {
	if e.On == "" {
		return EdgeSuccess
	}
	return e.On
}

// RunStatus is the lifecycle state of a run.
type RunStatus string

const (
	RunQueued    RunStatus = "queued"
	RunRunning   RunStatus = "running"
	RunSucceeded RunStatus = "succeeded"
	RunFailed    RunStatus = "failed"
	RunCanceled  RunStatus = "canceled"
)

// Terminal reports whether no further transition can happen.
func (s RunStatus) Terminal() bool {
	return s == RunSucceeded || s == RunFailed || s == RunCanceled
}

// NodeStatus is the state of one node within a run.
type NodeStatus string

const (
	NodePending   NodeStatus = "pending"
	NodeRunning   NodeStatus = "running"
	NodeSucceeded NodeStatus = "succeeded"
	NodeFailed    NodeStatus = "failed"
	NodeSkipped   NodeStatus = "skipped"
	NodeCanceled  NodeStatus = "canceled"
)

// Run is one execution of a workflow.
type Run struct {
	ID         string          `json:"id"`
	ProjectID  string          `json:"projectId"`
	WorkflowID string          `json:"workflowId"`
	Status     RunStatus       `json:"status"`
	Inputs     map[string]any  `json:"inputs,omitempty"`
	Trigger    *RunTrigger     `json:"trigger,omitempty"`
	Error      string          `json:"error,omitempty"`
	CreatedAt  time.Time       `json:"createdAt"`
	StartedAt  *time.Time      `json:"startedAt,omitempty"`
	FinishedAt *time.Time      `json:"finishedAt,omitempty"`
	Nodes      []NodeRun       `json:"nodes,omitempty"`
	Workflow   json.RawMessage `json:"workflow,omitempty"`
	// ParentRunID is the run whose workflow or forEach node started this
	// one (a child run); ParentNodeID is that node and ItemIndex the
	// forEach item (-1 otherwise). Depth is 0 for a top-level run.
	ParentRunID  string `json:"parentRunId,omitempty"`
	ParentNodeID string `json:"parentNodeId,omitempty"`
	ItemIndex    *int   `json:"itemIndex,omitempty"`
	Depth        int    `json:"depth,omitempty"`
	// RerunOf is the run this one re-runs from node RerunFrom: the nodes
	// before it kept their recorded results.
	RerunOf   string `json:"rerunOf,omitempty"`
	RerunFrom string `json:"rerunFrom,omitempty"`
	// Edges says, per workflow edge (in workflow order), whether the
	// engine took it: "taken", "untaken" or "pending". Filled by run reads.
	Edges []EdgeState `json:"edges,omitempty"`
}

// EdgeState is the engine's decision about one edge of a run.
type EdgeState struct {
	Source string `json:"source"`
	Target string `json:"target"`
	On     string `json:"on"`
	State  string `json:"state"`
}

// NodeRun is the checkpointed state of one node of a run.
type NodeRun struct {
	NodeID     string          `json:"nodeId"`
	Status     NodeStatus      `json:"status"`
	Attempt    int             `json:"attempt"`
	StartedAt  *time.Time      `json:"startedAt,omitempty"`
	FinishedAt *time.Time      `json:"finishedAt,omitempty"`
	DurationMs int64           `json:"durationMs,omitempty"`
	Output     json.RawMessage `json:"output,omitempty"`
	Error      string          `json:"error,omitempty"`
	// Reason says why the current attempt runs when an earlier one was
	// interrupted ("server restarted"); empty for a first attempt.
	Reason string `json:"reason,omitempty"`
}

// Tool describes a tool that nodes can invoke. The JSON form is the one of
// the tools.list command (docs/websocket.md).
type Tool struct {
	Name        string          `json:"name"`
	Title       string          `json:"title"`
	Description string          `json:"description"`
	InputSchema json.RawMessage `json:"inputSchema"`
	Source      string          `json:"source"`
}

// Principal is who a verified token speaks for.
type Principal struct {
	Subject   string    // the local user
	SessionID string    // the login session (sid claim); connection caps count per session
	TokenID   string    // jti
	ExpiresAt time.Time // exp
}
