package workflow

import (
	"strings"
	"testing"

	"github.com/flowweaver/flowweaver/backend/flow"
)

var withControl = toolSet{"log": true, "shell": true, "if": true, "switch": true, "workflow": true, "forEach": true}

func controlWorkflow() *flow.Workflow {
	return &flow.Workflow{Name: "control", Nodes: []flow.Node{
		{ID: "check", Tool: "if", Params: map[string]any{"condition": "inputs.branch == \"main\""}},
		{ID: "kind", Tool: "switch", Params: map[string]any{"value": "{{ inputs.bump }}", "cases": []any{"patch", "minor"}}},
		{ID: "call", Tool: "workflow", Params: map[string]any{"workflowId": "release", "inputs": map[string]any{"v": "{{ inputs.v }}"}}},
		{ID: "each", Tool: "forEach", Params: map[string]any{"items": "{{ inputs.pkgs }}", "workflowId": "build", "concurrency": 8.0, "continueOnError": true}},
		{ID: "build", Tool: "shell", Params: map[string]any{"command": "make"}},
		{ID: "notify", Tool: "log", Params: map[string]any{"message": "failed"}},
	}, Edges: []flow.Edge{
		{Source: "check", Target: "kind", On: "true"}, {Source: "kind", Target: "call", On: "minor"},
		{Source: "kind", Target: "each", On: "default"}, {Source: "check", Target: "build", On: "false"},
		{Source: "build", Target: "notify", On: "failure"}, {Source: "each", Target: "notify", On: "always"},
		{Source: "call", Target: "notify", On: "success"},
	}}
}

func TestValidateControlFlowAccepts(t *testing.T) {
	if p := Validate("wf", controlWorkflow(), withControl, 0); p != nil {
		t.Fatalf("problems: %+v", p)
	}
}

// TestValidateControlFlowRejects: one malformed construct per case, and
// all of them at once list every problem.
func TestValidateControlFlowRejects(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(wf *flow.Workflow)
		field  string
		msg    string
	}{
		{"unknown branch of if", func(wf *flow.Workflow) { wf.Edges[0].On = "yes" }, "edges[0].on", `no branch "yes"`},
		{"unknown case of switch", func(wf *flow.Workflow) { wf.Edges[1].On = "major" }, "edges[1].on", `no branch "major"`},
		{"failure from a branching node", func(wf *flow.Workflow) { wf.Edges[0].On = "failure" }, "edges[0].on", "branching node"},
		{"branch name from a plain node", func(wf *flow.Workflow) { wf.Edges[4].On = "true" }, "edges[4].on", "has no branches"},
		{"if without condition", func(wf *flow.Workflow) { wf.Nodes[0].Params = nil }, "nodes[0].params.condition", "required"},
		{"condition does not compile", func(wf *flow.Workflow) { wf.Nodes[0].Params["condition"] = "inputs.a ==" }, "nodes[0].params.condition", "does not compile"},
		{"condition is not boolean", func(wf *flow.Workflow) { wf.Nodes[0].Params["condition"] = "1 + 2" }, "nodes[0].params.condition", "does not compile"},
		{"condition names an unknown variable", func(wf *flow.Workflow) { wf.Nodes[0].Params["condition"] = "branch == 1" }, "nodes[0].params.condition", "unknown name branch"},
		{"switch without cases", func(wf *flow.Workflow) { delete(wf.Nodes[1].Params, "cases"); wf.Edges[1].On = "default" }, "nodes[1].params.cases", "required"},
		{"switch duplicate case", func(wf *flow.Workflow) { wf.Nodes[1].Params["cases"] = []any{"patch", "patch", "minor"} }, "nodes[1].params.cases[1]", "duplicate"},
		{"switch reserved case", func(wf *flow.Workflow) { wf.Nodes[1].Params["cases"] = []any{"default", "minor"} }, "nodes[1].params.cases[0]", "reserved"},
		{"switch value does not compile", func(wf *flow.Workflow) { wf.Nodes[1].Params["value"] = "((" }, "nodes[1].params.value", "does not compile"},
		{"workflow without id", func(wf *flow.Workflow) { delete(wf.Nodes[2].Params, "workflowId") }, "nodes[2].params.workflowId", "required"},
		{"workflow inputs not an object", func(wf *flow.Workflow) { wf.Nodes[2].Params["inputs"] = "x" }, "nodes[2].params.inputs", "object"},
		{"forEach items missing", func(wf *flow.Workflow) { delete(wf.Nodes[3].Params, "items") }, "nodes[3].params.items", "required"},
		{"forEach items plain text", func(wf *flow.Workflow) { wf.Nodes[3].Params["items"] = "a,b" }, "nodes[3].params.items", "list or a reference"},
		{"forEach concurrency zero", func(wf *flow.Workflow) { wf.Nodes[3].Params["concurrency"] = 0.0 }, "nodes[3].params.concurrency", "between 1 and 64"},
		{"forEach concurrency fraction", func(wf *flow.Workflow) { wf.Nodes[3].Params["concurrency"] = 1.5 }, "nodes[3].params.concurrency", "integer"},
		{"forEach continueOnError not bool", func(wf *flow.Workflow) { wf.Nodes[3].Params["continueOnError"] = "yes" }, "nodes[3].params.continueOnError", "true or false"},
		{"retry on a control node", func(wf *flow.Workflow) { wf.Nodes[3].Retry = &flow.RetryPolicy{Max: 2} }, "nodes[3].retry", "not retried"},
	}
	all := controlWorkflow()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wf := controlWorkflow()
			tc.mutate(wf)
			probs := Validate("wf", wf, withControl, 0)
			if len(probs) != 1 || probs[0].Field != tc.field || !strings.Contains(probs[0].Message, tc.msg) {
				t.Fatalf("problems %+v, want one at %s containing %q", probs, tc.field, tc.msg)
			}
		})
	}
	// Every problem of a workflow is listed, not only the first.
	all.Edges[0].On = "yes"
	all.Edges[4].On = "true"
	delete(all.Nodes[1].Params, "cases")
	all.Nodes[3].Params["concurrency"] = 0.0
	if probs := Validate("wf", all, withControl, 0); len(probs) < 4 {
		t.Fatalf("want at least 4 problems, got %+v", probs)
	}
}

func TestEdgeOnRoundTrips(t *testing.T) {
	wf := controlWorkflow()
	data, err := Encode(wf)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `{"source": "check", "target": "kind", "on": "true"}`) {
		t.Fatalf("edge on not written:\n%s", data)
	}
	back, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if back.Edges[4].On != "failure" || back.Edges[0].On != "true" {
		t.Fatalf("edges after round trip: %+v", back.Edges)
	}
}
