package flow

import (
	"encoding/json"
	"strings"
	"time"
)

// Event names of the wire contract (docs/websocket.md).
const (
	EventRunQueued       = "run.queued"
	EventRunStarted      = "run.started"
	EventRunCompleted    = "run.completed"
	EventRunFailed       = "run.failed"
	EventRunCanceled     = "run.canceled"
	EventNodeStarted     = "node.started"
	EventNodeCompleted   = "node.completed"
	EventNodeFailed      = "node.failed"
	EventNodeSkipped     = "node.skipped"
	EventNodeLog         = "node.log"
	EventNotification    = "notification"
	EventWorkflowUpdated = "workflow.updated"
	EventWorkflowDeleted = "workflow.deleted"
	EventToolsChanged    = "tools.changed"
	EventToolsStatus     = "tools.status"
)

// Event is something that happened in a project. Durable events are written
// to the event log, which assigns Seq (per project, strictly increasing) and
// TS; transient events (Seq 0) are only delivered to live subscribers.
type Event struct {
	ProjectID  string          `json:"projectId"`
	Seq        int64           `json:"seq,omitempty"`
	TS         time.Time       `json:"ts"`
	Type       string          `json:"event"`
	RunID      string          `json:"-"`
	WorkflowID string          `json:"-"`
	Payload    json.RawMessage `json:"payload"`
}

// NewEvent builds an event with its payload encoded as JSON (a nil or
// unencodable payload becomes {}). runID and workflowID are the routing keys
// (Channels, the event log's indexes); callers pass the same ids they put in
// the payload.
func NewEvent(projectID, typ, runID, workflowID string, payload any) Event {
	b, err := json.Marshal(payload)
	if err != nil || len(b) == 0 || string(b) == "null" {
		b = []byte("{}")
	}
	return Event{ProjectID: projectID, Type: typ, RunID: runID, WorkflowID: workflowID, Payload: b}
}

// Channel names. A channel string is "<kind>:<id>" except "system".
const (
	ChannelProject  = "project"
	ChannelRun      = "run"
	ChannelWorkflow = "workflow"
	ChannelTools    = "tools"
	ChannelSystem   = "system"
)

// SplitChannel splits "run:r1" into ("run", "r1"). "system" gives ("system", "").
func SplitChannel(ch string) (kind, id string) {
	kind, id, _ = strings.Cut(ch, ":")
	return kind, id
}

// Channels lists the channels an event is delivered on (docs/websocket.md, Channels):
// run lifecycle on project: and run:, node events on run:, notifications and
// workflow changes on project:, workflow.updated also on workflow:, tool
// events on tools:.
func (e Event) Channels() []string {
	switch {
	case strings.HasPrefix(e.Type, "run."):
		return []string{"project:" + e.ProjectID, "run:" + e.RunID}
	case strings.HasPrefix(e.Type, "node."):
		return []string{"run:" + e.RunID}
	case strings.HasPrefix(e.Type, "workflow."):
		return []string{"project:" + e.ProjectID, "workflow:" + e.WorkflowID}
	case strings.HasPrefix(e.Type, "tools."):
		return []string{"tools:" + e.ProjectID}
	default:
		return []string{"project:" + e.ProjectID}
	}
}

// OnChannel reports whether the event is delivered on ch.
func (e Event) OnChannel(ch string) bool {
	for _, c := range e.Channels() {
		if c == ch {
			return true
		}
	}
	return false
}
