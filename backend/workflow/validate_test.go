package workflow

import (
	"fmt"
	"strings"
	"testing"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// toolSet is the tool registry as far as validation cares.
type toolSet map[string]bool

func (t toolSet) Has(name string) bool { return t[name] }

var builtins = toolSet{"delay": true, "shell": true, "http": true, "file.read": true, "file.write": true, "transform": true, "log": true}

func validWorkflow() *flow.Workflow {
	return &flow.Workflow{
		Name: "Build and test",
		Nodes: []flow.Node{
			{ID: "build", Tool: "shell", Params: map[string]any{"command": "go build ./..."}, Position: &flow.Position{X: 0, Y: 0}},
			{ID: "pause", Tool: "delay", Params: map[string]any{"ms": 200.0}},
			{ID: "test", Tool: "shell", Params: map[string]any{"command": "go test ./..."}, Retry: &flow.RetryPolicy{Max: 2}, TimeoutMs: 600000},
		},
		Edges: []flow.Edge{{Source: "build", Target: "pause"}, {Source: "pause", Target: "test"}},
	}
}

func TestValidateAcceptsProtocolExample(t *testing.T) {
	if p := Validate("build-and-test", validWorkflow(), builtins, 0); p != nil {
		t.Fatalf("problems: %+v", p)
	}
	empty := &flow.Workflow{Name: "new"}
	if p := Validate("new", empty, builtins, 0); p != nil {
		t.Fatalf("an empty workflow is a valid start: %+v", p)
	}
}

func TestValidateRules(t *testing.T) {
	edge := func(i int) *int { return &i }
	cases := []struct {
		name   string
		id     string
		mutate func(wf *flow.Workflow)
		want   flow.Problem // Field, Node, Edge must match; Message must contain want.Message
	}{
		{"workflow id traversal", "../x", nil, flow.Problem{Field: "workflowId", Message: "1 to 64"}},
		{"workflow id slash", "a/b", nil, flow.Problem{Field: "workflowId"}},
		{"workflow id empty", "", nil, flow.Problem{Field: "workflowId"}},
		{"workflow id too long", strings.Repeat("a", 65), nil, flow.Problem{Field: "workflowId"}},
		{"body id mismatch", "wf", func(wf *flow.Workflow) { wf.ID = "other" }, flow.Problem{Field: "id", Message: "does not match"}},
		{"name empty", "wf", func(wf *flow.Workflow) { wf.Name = " " }, flow.Problem{Field: "name", Message: "empty"}},
		{"name too long", "wf", func(wf *flow.Workflow) { wf.Name = strings.Repeat("é", MaxNameLen+1) }, flow.Problem{Field: "name", Message: "at most"}},
		{"name control char", "wf", func(wf *flow.Workflow) { wf.Name = "a\x00b" }, flow.Problem{Field: "name", Message: "control"}},
		{"name bad utf8", "wf", func(wf *flow.Workflow) { wf.Name = "a\xffb" }, flow.Problem{Field: "name", Message: "UTF-8"}},
		{"node id invalid", "wf", func(wf *flow.Workflow) { wf.Nodes[1].ID = "pa use"; wf.Edges = nil },
			flow.Problem{Field: "nodes[1].id", Node: "pa use"}},
		{"node id duplicate", "wf", func(wf *flow.Workflow) { wf.Nodes[2].ID = "build"; wf.Edges = nil },
			flow.Problem{Field: "nodes[2].id", Node: "build", Message: "duplicate"}},
		{"tool missing", "wf", func(wf *flow.Workflow) { wf.Nodes[0].Tool = "" }, flow.Problem{Field: "nodes[0].tool", Node: "build", Message: "missing"}},
		{"tool unknown", "wf", func(wf *flow.Workflow) { wf.Nodes[0].Tool = "rm-rf" }, flow.Problem{Field: "nodes[0].tool", Node: "build", Message: "unknown tool"}},
		{"mcp malformed", "wf", func(wf *flow.Workflow) { wf.Nodes[0].Tool = "mcp:server" }, flow.Problem{Field: "nodes[0].tool", Node: "build", Message: "mcp:<server>/<tool>"}},
		{"mcp empty tool", "wf", func(wf *flow.Workflow) { wf.Nodes[0].Tool = "mcp:server/" }, flow.Problem{Field: "nodes[0].tool", Node: "build"}},
		{"label too long", "wf", func(wf *flow.Workflow) { wf.Nodes[0].Label = strings.Repeat("x", MaxNameLen+1) }, flow.Problem{Field: "nodes[0].label", Node: "build"}},
		{"retry negative", "wf", func(wf *flow.Workflow) { wf.Nodes[2].Retry.Max = -1 }, flow.Problem{Field: "nodes[2].retry.max", Node: "test", Message: "between 0 and 10"}},
		{"retry too many", "wf", func(wf *flow.Workflow) { wf.Nodes[2].Retry.Max = 11 }, flow.Problem{Field: "nodes[2].retry.max", Node: "test"}},
		{"backoff negative", "wf", func(wf *flow.Workflow) { wf.Nodes[2].Retry.BackoffMs = -5 }, flow.Problem{Field: "nodes[2].retry.backoffMs", Node: "test"}},
		{"timeout negative", "wf", func(wf *flow.Workflow) { wf.Nodes[2].TimeoutMs = -1 }, flow.Problem{Field: "nodes[2].timeoutMs", Node: "test"}},
		{"timeout huge", "wf", func(wf *flow.Workflow) { wf.Nodes[2].TimeoutMs = MaxTimeoutMs + 1 }, flow.Problem{Field: "nodes[2].timeoutMs", Node: "test"}},
		{"edge source missing", "wf", func(wf *flow.Workflow) { wf.Edges[0].Source = "" }, flow.Problem{Field: "edges[0].source", Edge: edge(0), Message: "missing"}},
		{"edge unknown target", "wf", func(wf *flow.Workflow) { wf.Edges[1].Target = "deploy" }, flow.Problem{Field: "edges[1].target", Edge: edge(1), Message: `"deploy", which does not exist`}},
		{"self loop", "wf", func(wf *flow.Workflow) { wf.Edges = append(wf.Edges, flow.Edge{Source: "test", Target: "test"}) },
			flow.Problem{Field: "edges[2]", Node: "test", Edge: edge(2), Message: "itself"}},
		{"duplicate edge", "wf", func(wf *flow.Workflow) { wf.Edges = append(wf.Edges, wf.Edges[0]) }, flow.Problem{Field: "edges[2]", Edge: edge(2), Message: "duplicates edges[0]"}},
		{"cycle", "wf", func(wf *flow.Workflow) { wf.Edges = append(wf.Edges, flow.Edge{Source: "test", Target: "build"}) },
			flow.Problem{Field: "edges", Node: "build", Message: "build -> pause -> test -> build"}},
		{"too many nodes", "wf", func(wf *flow.Workflow) {
			wf.Nodes = nil
			wf.Edges = nil
			for i := 0; i <= DefaultMaxNodes; i++ {
				wf.Nodes = append(wf.Nodes, flow.Node{ID: fmt.Sprintf("n%d", i), Tool: "log"})
			}
		}, flow.Problem{Field: "nodes", Message: "at most 500"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wf := validWorkflow()
			if tc.mutate != nil {
				tc.mutate(wf)
			}
			got := Validate(tc.id, wf, builtins, 0)
			if len(got) != 1 {
				t.Fatalf("want exactly one problem like %+v, got %d: %+v", tc.want, len(got), got)
			}
			p := got[0]
			if p.Field != tc.want.Field || p.Node != tc.want.Node || !strings.Contains(p.Message, tc.want.Message) ||
				(p.Edge == nil) != (tc.want.Edge == nil) || (p.Edge != nil && *p.Edge != *tc.want.Edge) {
				t.Fatalf("got %+v (edge %v), want %+v (edge %v)", p, deref(p.Edge), tc.want, deref(tc.want.Edge))
			}
		})
	}
}

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestValidateReportsEveryProblemAtOnce(t *testing.T) {
	wf := &flow.Workflow{
		ID:   "x",
		Name: "",
		Nodes: []flow.Node{
			{ID: "a", Tool: "shell"},
			{ID: "a", Tool: "nope"},
			{ID: "b/c", Tool: "log", TimeoutMs: -1, Retry: &flow.RetryPolicy{Max: 99}},
			{ID: "d", Tool: "mcp:git/status"}, // offline MCP server: fine
			{ID: "e", Tool: "log"},
			{ID: "f", Tool: "log"},
		},
		Edges: []flow.Edge{{Source: "a", Target: "ghost"}, {Source: "d", Target: "d"}, {Source: "e", Target: "f"}, {Source: "f", Target: "e"}},
	}
	got := Validate("../wf", wf, builtins, 0)
	want := []string{"workflowId", "id", "name", "nodes[1].id", "nodes[1].tool", "nodes[2].id", "nodes[2].retry.max", "nodes[2].timeoutMs", "edges[0].target", "edges[1]", "edges"}
	var fields []string
	for _, p := range got {
		fields = append(fields, p.Field)
	}
	if strings.Join(fields, ",") != strings.Join(want, ",") {
		t.Fatalf("fields %v, want %v\n%+v", fields, want, got)
	}
	if last := got[len(got)-1]; last.Message != "nodes form a cycle: e -> f -> e" {
		t.Fatalf("cycle message %q", last.Message)
	}
}

func TestValidateCapsProblems(t *testing.T) {
	wf := &flow.Workflow{Name: "many"}
	for i := 0; i < 400; i++ {
		wf.Nodes = append(wf.Nodes, flow.Node{ID: fmt.Sprintf("n%d", i), Tool: "unknown"})
	}
	got := Validate("wf", wf, builtins, 0)
	if len(got) != MaxProblems+1 || !strings.Contains(got[MaxProblems].Message, "and 200 more problems") {
		t.Fatalf("%d problems, last %+v", len(got), got[len(got)-1])
	}
}

func TestValidateSeveralCycles(t *testing.T) {
	// Two separate cycles and a long chain that must not blow the stack.
	wf := &flow.Workflow{Name: "c"}
	for i := 0; i < DefaultMaxNodes; i++ {
		wf.Nodes = append(wf.Nodes, flow.Node{ID: fmt.Sprintf("n%03d", i), Tool: "log"})
		if i > 0 {
			wf.Edges = append(wf.Edges, flow.Edge{Source: fmt.Sprintf("n%03d", i-1), Target: fmt.Sprintf("n%03d", i)})
		}
	}
	if p := Validate("wf", wf, builtins, 0); p != nil {
		t.Fatalf("chain: %+v", p)
	}
	wf.Edges = append(wf.Edges, flow.Edge{Source: "n499", Target: "n497"}, flow.Edge{Source: "n003", Target: "n001"})
	got := Validate("wf", wf, builtins, 0)
	if len(got) != 2 || got[0].Message != "nodes form a cycle: n001 -> n002 -> n003 -> n001" ||
		got[1].Message != "nodes form a cycle: n497 -> n498 -> n499 -> n497" {
		t.Fatalf("%+v", got)
	}
}

func TestValidateWithoutToolChecker(t *testing.T) {
	wf := validWorkflow()
	wf.Nodes[0].Tool = "anything"
	if p := Validate("wf", wf, nil, 0); p != nil {
		t.Fatalf("nil checker accepts names: %+v", p)
	}
}
