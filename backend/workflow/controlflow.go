package workflow

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/flowweaver/flowweaver/backend/cond"
	"github.com/flowweaver/flowweaver/backend/flow"
)

// Bounds of the control-flow tools.
const (
	MaxSwitchCases    = 64
	MaxForEachWorkers = 64 // forEach concurrency
)

// checkControlFlow validates what the control-flow constructs add to a
// workflow: the params of if, switch, workflow and forEach nodes
// (expressions compiled and, where their type is known, type-checked) and
// the "on" of every edge against its source node. index maps node ids to
// their position (first occurrence).
func checkControlFlow(p *problems, wf *flow.Workflow, index map[string]int) {
	for i, n := range wf.Nodes {
		field := fmt.Sprintf("nodes[%d].params", i)
		node := printable(n.ID)
		switch n.Tool {
		case flow.ToolIf, flow.ToolSwitch, flow.ToolWorkflow, flow.ToolForEach:
			if n.Retry != nil && n.Retry.Max > 0 {
				p.add(flow.Problem{Field: fmt.Sprintf("nodes[%d].retry", i), Node: node, Message: fmt.Sprintf("%s nodes are not retried; set retry on the nodes they run", n.Tool)})
			}
		}
		switch n.Tool {
		case flow.ToolIf:
			checkExpr(p, field+".condition", node, n.Params["condition"], true)
		case flow.ToolSwitch:
			checkExpr(p, field+".value", node, n.Params["value"], false)
			checkCases(p, field+".cases", node, n.Params["cases"])
		case flow.ToolWorkflow:
			checkCallee(p, field+".workflowId", node, n.Params["workflowId"])
			if v, ok := n.Params["inputs"]; ok {
				if _, isMap := v.(map[string]any); !isMap {
					p.add(flow.Problem{Field: field + ".inputs", Node: node, Message: "must be an object of input values"})
				}
			}
		case flow.ToolForEach:
			checkCallee(p, field+".workflowId", node, n.Params["workflowId"])
			switch v := n.Params["items"].(type) {
			case []any:
			case string:
				if cond.Source(v) == v {
					p.add(flow.Problem{Field: field + ".items", Node: node, Message: "must be a list or a reference such as \"{{ nodes.list.output.items }}\""})
				}
			default:
				p.add(flow.Problem{Field: field + ".items", Node: node, Message: "is required: a list or a reference such as \"{{ nodes.list.output.items }}\""})
			}
			if v, ok := n.Params["concurrency"]; ok && !isRef(v) {
				f, isNum := v.(float64)
				if iv, isInt := v.(int); isInt {
					f, isNum = float64(iv), true
				}
				if !isNum || f != math.Trunc(f) || f < 1 || f > MaxForEachWorkers {
					p.add(flow.Problem{Field: field + ".concurrency", Node: node, Message: fmt.Sprintf("must be an integer between 1 and %d", MaxForEachWorkers)})
				}
			}
			if v, ok := n.Params["continueOnError"]; ok && !isRef(v) {
				if _, isBool := v.(bool); !isBool {
					p.add(flow.Problem{Field: field + ".continueOnError", Node: node, Message: "must be true or false"})
				}
			}
			if v, ok := n.Params["inputs"]; ok {
				if _, isMap := v.(map[string]any); !isMap {
					p.add(flow.Problem{Field: field + ".inputs", Node: node, Message: "must be an object of input values"})
				}
			}
		}
	}
	for i, e := range wf.Edges {
		si, ok := index[e.Source]
		if !ok {
			continue // reported with the edge
		}
		src := wf.Nodes[si]
		field := fmt.Sprintf("edges[%d].on", i)
		branches, branching := flow.Branches(src)
		on := e.Condition()
		switch {
		case on == flow.EdgeSuccess || on == flow.EdgeAlways:
		case on == flow.EdgeFailure && branching:
			p.add(flow.Problem{Field: field, Node: e.Source, Edge: intp(i), Message: fmt.Sprintf("%q is a branching node (%s): connect one of its branches %v, or use \"always\"; a failure edge cannot come from it", e.Source, src.Tool, branches)})
		case on == flow.EdgeFailure:
		case !branching:
			p.add(flow.Problem{Field: field, Node: e.Source, Edge: intp(i), Message: fmt.Sprintf("%q is not one of success, failure, always (node %q is a %s node and has no branches)", printable(e.On), e.Source, printable(src.Tool))})
		case !slices.Contains(branches, on):
			p.add(flow.Problem{Field: field, Node: e.Source, Edge: intp(i), Message: fmt.Sprintf("node %q has no branch %q; its branches are %v", e.Source, printable(e.On), branches)})
		}
	}
}

// isRef reports whether a param is a {{ }} reference, resolved at run time.
func isRef(v any) bool {
	s, ok := v.(string)
	return ok && strings.Contains(s, "{{")
}

func checkExpr(p *problems, field, node string, v any, asBool bool) {
	s, ok := v.(string)
	if !ok {
		p.add(flow.Problem{Field: field, Node: node, Message: "is required: an expression such as inputs.branch == \"main\""})
		return
	}
	if err := cond.Check(cond.Source(s), asBool); err != nil {
		p.add(flow.Problem{Field: field, Node: node, Message: "expression does not compile: " + printable(err.Error())})
	}
}

func checkCases(p *problems, field, node string, v any) {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		p.add(flow.Problem{Field: field, Node: node, Message: "is required: a list of case names such as [\"patch\", \"minor\"]"})
		return
	}
	if len(list) > MaxSwitchCases {
		p.add(flow.Problem{Field: field, Node: node, Message: fmt.Sprintf("has %d cases, at most %d are allowed", len(list), MaxSwitchCases)})
	}
	seen := map[string]bool{}
	for j, c := range list {
		f := fmt.Sprintf("%s[%d]", field, j)
		s, ok := c.(string)
		switch {
		case !ok || s == "":
			p.add(flow.Problem{Field: f, Node: node, Message: "must be a non-empty string"})
		case len(s) > 64:
			p.add(flow.Problem{Field: f, Node: node, Message: "must be at most 64 bytes"})
		case s == flow.BranchDefault || s == flow.EdgeSuccess || s == flow.EdgeFailure || s == flow.EdgeAlways:
			p.add(flow.Problem{Field: f, Node: node, Message: fmt.Sprintf("%q is reserved (default, success, failure and always are edge conditions)", s)})
		case seen[s]:
			p.add(flow.Problem{Field: f, Node: node, Message: fmt.Sprintf("duplicate case %q", printable(s))})
		}
		seen[s] = true
	}
}

func checkCallee(p *problems, field, node string, v any) {
	s, ok := v.(string)
	if !ok || !ValidID(s) {
		p.add(flow.Problem{Field: field, Node: node, Message: "is required: the id of a workflow of this project"})
	}
}
