package tools

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"

	"github.com/flowweaver/flowweaver/backend/flow"
)

var transformSpec = spec{
	Name:  "transform",
	Title: "Transform",
	Description: "Evaluates an expr-lang expression (https://expr-lang.org) over the run inputs and the outputs of upstream nodes; " +
		"its value becomes the node's output. Example: nodes.fetch.output.body.items | filter(.done) | map(.title)",
	Params: []param{
		{Name: "expression", Title: "Expression", Type: typeString, Required: true,
			Description: "an expr-lang expression; variables: inputs (run inputs), nodes.<id>.output (upstream outputs)"},
	},
	selfContained: true,
	instant:       true,
}

// ctxCheckFunc is the function the patcher wraps around every predicate
// body (the per-element part of filter, map, all, reduce, ...), so a
// runaway loop notices cancel and timeout. The name cannot collide with a
// user variable that matters: env keys are "inputs" and "nodes".
const ctxCheckFunc = "__flowweaver_ctx"

// transformTool evaluates an expression.
type transformTool struct {
	maxNodes uint
	budget   uint
}

func (*transformTool) spec() spec { return transformSpec }

func (*transformTool) Describe() flow.Tool { return transformSpec.describe() }

// Run compiles the expression against this call's env and runs it. Two
// budgets bound the work: MaxNodes limits the expression's size at compile
// time, the VM's memory budget limits what it allocates (ranges, maps,
// arrays), and every loop iteration checks ctx, so even iterating over a
// large input in nested loops ends at the node's timeout.
func (t *transformTool) Run(ctx context.Context, call Call) (any, error) {
	if err := transformSpec.validate(call.Params); err != nil {
		return nil, err
	}
	src := call.Params["expression"].(string)
	if strings.TrimSpace(src) == "" {
		return nil, flow.Errorf(flow.EINVALID, "transform: invalid params: expression is empty")
	}
	env := map[string]any{"inputs": map[string]any{}, "nodes": map[string]any{}}
	for k, v := range call.Env {
		env[k] = v
	}

	var iterations uint64
	check := func(params ...any) (any, error) {
		// ctx.Err takes a lock; every 256 iterations is plenty.
		iterations++
		if iterations&0xff == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		return params[0], nil
	}
	program, err := expr.Compile(src,
		expr.Env(env),
		expr.MaxNodes(t.maxNodes),
		expr.Function(ctxCheckFunc, check),
		expr.Patch(loopGuard{}),
	)
	if err != nil {
		return nil, &flow.Error{Code: flow.EINVALID, Message: "transform: cannot compile expression: " + err.Error()}
	}
	if err := ctx.Err(); err != nil {
		return nil, ctxError(ctx, "transform")
	}
	machine := vm.VM{MemoryBudget: t.budget}
	val, err := machine.Run(program, env)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return nil, ctxError(ctx, "transform")
		}
		msg := err.Error()
		if strings.Contains(msg, "memory budget exceeded") {
			msg = "the expression exceeded its work budget (too many or too large ranges, arrays or maps): " + msg
		}
		return nil, &flow.Error{Code: EToolFailed, Message: "transform: evaluating expression: " + msg}
	}
	// Outputs are stored and referenced as JSON: normalise the value to
	// plain JSON types now, so downstream nodes see what the run record holds.
	b, err := json.Marshal(val)
	if err != nil {
		return nil, &flow.Error{Code: flow.EINVALID, Message: "transform: the expression's value cannot be represented as JSON: " + err.Error()}
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, &flow.Error{Code: flow.EINVALID, Message: "transform: the expression's value cannot be represented as JSON: " + err.Error()}
	}
	return out, nil
}

// loopGuard wraps every predicate body in a call of ctxCheckFunc. The
// walk is post-order, so the new call node is not visited again.
type loopGuard struct{}

func (loopGuard) Visit(node *ast.Node) {
	if p, ok := (*node).(*ast.PredicateNode); ok {
		if c, isCall := p.Node.(*ast.CallNode); isCall {
			if id, isID := c.Callee.(*ast.IdentifierNode); isID && id.Value == ctxCheckFunc {
				return // already guarded
			}
		}
		p.Node = &ast.CallNode{
			Callee:    &ast.IdentifierNode{Value: ctxCheckFunc},
			Arguments: []ast.Node{p.Node},
		}
	}
}
