package engine

import (
	"context"
	"fmt"

	"github.com/flowweaver/flowweaver/backend/cond"
	"github.com/flowweaver/flowweaver/backend/flow"
)

// isControl reports whether the engine runs the tool itself.
func isControl(tool string) bool {
	switch tool {
	case flow.ToolIf, flow.ToolSwitch, flow.ToolWorkflow, flow.ToolForEach:
		return true
	}
	return false
}

// attempt is the job attempt reported in run.started (child runs have no
// job: 1).
func (x *execution) attempt() int {
	if x.job == nil {
		return 1
	}
	return x.job.Attempt
}

// control runs a control-flow node: it returns the node's output and, for
// branching nodes, the branch taken.
func (x *execution) control(ctx context.Context, i int, env map[string]any) (any, string, error) {
	n := x.g.nodes[i]
	switch n.Tool {
	case flow.ToolIf:
		code, err := exprParam(n, "condition")
		if err != nil {
			return nil, "", err
		}
		ok, err := cond.Bool(code, env)
		if err != nil {
			return nil, "", flow.Errorf(flow.EINVALID, "if %s: %v", n.ID, err)
		}
		branch := "false"
		if ok {
			branch = "true"
		}
		return map[string]any{"branch": branch, "value": ok}, branch, nil
	case flow.ToolSwitch:
		code, err := exprParam(n, "value")
		if err != nil {
			return nil, "", err
		}
		v, err := cond.Eval(code, env)
		if err != nil {
			return nil, "", flow.Errorf(flow.EINVALID, "switch %s: %v", n.ID, err)
		}
		text := cond.Text(v)
		branch := flow.BranchDefault
		cases, _ := flow.Branches(n)
		for _, c := range cases[:len(cases)-1] {
			if c == text {
				branch = c
				break
			}
		}
		return map[string]any{"branch": branch, "value": v}, branch, nil
	}
	params, err := resolveParams(n.Params, env)
	if err != nil {
		return nil, "", err
	}
	if n.Tool == flow.ToolWorkflow {
		out, err := x.callWorkflow(ctx, n, params)
		return out, "", err
	}
	out, err := x.forEach(ctx, n, params)
	return out, "", err
}

// exprParam reads the expression param of a branching node.
func exprParam(n flow.Node, name string) (string, error) {
	s, ok := n.Params[name].(string)
	if !ok || cond.Source(s) == "" {
		return "", flow.Errorf(flow.EINVALID, "%s %s: param %s is required: an expression", n.Tool, n.ID, name)
	}
	return cond.Source(s), nil
}

// stringParam reads a required string param.
func stringParam(n flow.Node, params map[string]any, name string) (string, error) {
	s, ok := params[name].(string)
	if !ok || s == "" {
		return "", flow.Errorf(flow.EINVALID, "%s %s: param %s is required", n.Tool, n.ID, name)
	}
	return s, nil
}

// mapParam reads an optional object param.
func mapParam(n flow.Node, params map[string]any, name string) (map[string]any, error) {
	v, ok := params[name]
	if !ok || v == nil {
		return map[string]any{}, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, flow.Errorf(flow.EINVALID, "%s %s: param %s must be an object, not %T", n.Tool, n.ID, name, v)
	}
	return m, nil
}

// callWorkflow runs the workflow node's child run and outputs its result.
func (x *execution) callWorkflow(ctx context.Context, n flow.Node, params map[string]any) (any, error) {
	wfID, err := stringParam(n, params, "workflowId")
	if err != nil {
		return nil, err
	}
	inputs, err := mapParam(n, params, "inputs")
	if err != nil {
		return nil, err
	}
	var existing *childRef
	kids, err := x.e.db.ChildRuns(ctx, x.run.ID, n.ID)
	if err != nil {
		return nil, err
	}
	if len(kids) > 0 {
		existing = &childRef{id: kids[0].ID, status: kids[0].Status}
	}
	res, err := x.e.runChild(ctx, x, n.ID, -1, wfID, inputs, existing)
	if err != nil {
		return nil, err
	}
	if res.Status != flow.RunSucceeded {
		return nil, &flow.Error{Code: "child_failed", Message: fmt.Sprintf("child run %s of workflow %s %s: %s", res.RunID, wfID, res.Status, res.Error)}
	}
	return res, nil
}
