package engine

import (
	"encoding/json"
	"testing"
)

// The node event payload structs encode to the same bytes as the maps
// they replaced (encoding/json sorts map keys; the structs declare their
// fields in that order), with and without their optional fields.
func TestNodePayloadsEncodeAsTheirMaps(t *testing.T) {
	edges := []edgeInfo{{Target: "b", On: "success", Taken: true}, {Target: "c<&>", On: "failure"}}
	none := []edgeInfo{}
	cases := []struct {
		name    string
		payload any
		was     map[string]any
	}{
		{"started", nodeStartedPayload{RunID: "r1", NodeID: "n1", Tool: "log", Attempt: 1},
			map[string]any{"runId": "r1", "nodeId": "n1", "tool": "log", "attempt": 1}},
		{"started again", nodeStartedPayload{RunID: "r1", NodeID: "n1", Tool: "shell", Attempt: 3, Reason: "server restarted", InterruptedAttempt: 2},
			map[string]any{"runId": "r1", "nodeId": "n1", "tool": "shell", "attempt": 3, "reason": "server restarted", "interruptedAttempt": 2}},
		{"completed", nodeCompletedPayload{RunID: "r1", NodeID: "n1", DurationMs: 12, Output: json.RawMessage(`{"b": [1, "<x>"], "a": 2}`), Attempt: 1, Edges: edges},
			map[string]any{"runId": "r1", "nodeId": "n1", "durationMs": int64(12), "output": json.RawMessage(`{"b": [1, "<x>"], "a": 2}`), "attempt": 1, "edges": edges}},
		{"completed without output", nodeCompletedPayload{RunID: "r1", NodeID: "n1", Attempt: 2, Edges: none},
			map[string]any{"runId": "r1", "nodeId": "n1", "durationMs": int64(0), "output": nil, "attempt": 2, "edges": none}},
		{"completed, cut, branch", nodeCompletedPayload{RunID: "r1", NodeID: "n1", DurationMs: 3, Output: json.RawMessage(`"abc…"`), Attempt: 1, Edges: edges,
			Branch: "yes", OutputTruncated: true, OutputBytes: 5000},
			map[string]any{"runId": "r1", "nodeId": "n1", "durationMs": int64(3), "output": json.RawMessage(`"abc…"`), "attempt": 1, "edges": edges,
				"branch": "yes", "outputTruncated": true, "outputBytes": 5000}},
		{"failed", nodeFailedPayload{RunID: "r1", NodeID: "n1", Error: "exit 1 & <done>", DurationMs: 7, Attempt: 1, Edges: none},
			map[string]any{"runId": "r1", "nodeId": "n1", "error": "exit 1 & <done>", "durationMs": int64(7), "attempt": 1, "edges": none}},
		{"failed, handled", nodeFailedPayload{RunID: "r1", NodeID: "n1", Error: "x", Attempt: 1, Edges: edges, Handled: true},
			map[string]any{"runId": "r1", "nodeId": "n1", "error": "x", "durationMs": int64(0), "attempt": 1, "edges": edges, "handled": true}},
		{"skipped", nodeSkippedPayload{RunID: "r1", NodeID: "n2", Reason: "no incoming edge was taken", Edges: none},
			map[string]any{"runId": "r1", "nodeId": "n2", "reason": "no incoming edge was taken", "cause": "", "upstreamFailed": false, "edges": none}},
		{"skipped, upstream failed", nodeSkippedPayload{RunID: "r1", NodeID: "n2", Reason: "upstream n1 did not succeed", Cause: "n1", UpstreamFailed: true, Edges: edges},
			map[string]any{"runId": "r1", "nodeId": "n2", "reason": "upstream n1 did not succeed", "cause": "n1", "upstreamFailed": true, "edges": edges}},
		{"canceled", nodeRef{RunID: "r1", NodeID: "n1"}, map[string]any{"runId": "r1", "nodeId": "n1"}},
	}
	for _, c := range cases {
		got, err := json.Marshal(c.payload)
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(c.was)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, want)
		}
	}
}
