package engine

import "encoding/json"

// Payloads of node events. They were maps, which encoding/json writes with
// their keys sorted, at the cost of a reflect walk and a sort per event
// (a few percent of the server's CPU on a chain of quick nodes). These
// structs declare their fields in that same sorted order, so the bytes on
// the wire and in the event log are the same as before
// (TestNodePayloadsEncodeAsTheirMaps); optional fields are left out
// exactly when the map left them out.

// nodeStartedPayload is node.started.
type nodeStartedPayload struct {
	Attempt int `json:"attempt"`
	// InterruptedAttempt and Reason are set on a re-run after an
	// interruption (recovery.go).
	InterruptedAttempt int    `json:"interruptedAttempt,omitempty"`
	NodeID             string `json:"nodeId"`
	Reason             string `json:"reason,omitempty"`
	RunID              string `json:"runId"`
	Tool               string `json:"tool"`
}

// nodeCompletedPayload is node.completed.
type nodeCompletedPayload struct {
	Attempt    int             `json:"attempt"`
	Branch     string          `json:"branch,omitempty"`
	DurationMs int64           `json:"durationMs"`
	Edges      []edgeInfo      `json:"edges"`
	NodeID     string          `json:"nodeId"`
	Output     json.RawMessage `json:"output"` // the preview; null when the node output nothing
	// OutputBytes and OutputTruncated are set when Output is cut.
	OutputBytes     int    `json:"outputBytes,omitempty"`
	OutputTruncated bool   `json:"outputTruncated,omitempty"`
	RunID           string `json:"runId"`
}

// nodeFailedPayload is node.failed.
type nodeFailedPayload struct {
	Attempt    int        `json:"attempt"`
	DurationMs int64      `json:"durationMs"`
	Edges      []edgeInfo `json:"edges"`
	Error      string     `json:"error"`
	Handled    bool       `json:"handled,omitempty"` // a failure or always edge continues after it
	NodeID     string     `json:"nodeId"`
	RunID      string     `json:"runId"`
}

// nodeSkippedPayload is node.skipped.
type nodeSkippedPayload struct {
	Cause          string     `json:"cause"`
	Edges          []edgeInfo `json:"edges"`
	NodeID         string     `json:"nodeId"`
	Reason         string     `json:"reason"`
	RunID          string     `json:"runId"`
	UpstreamFailed bool       `json:"upstreamFailed"`
}

// nodeRef is node.canceled: which node of which run.
type nodeRef struct {
	NodeID string `json:"nodeId"`
	RunID  string `json:"runId"`
}
