package tools

import (
	"context"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// The control-flow tools are run by the engine itself: if and switch pick
// the edges that are taken, workflow and forEach start child runs. The
// registry holds them so the catalog (palette, tools.list) describes them
// and workflow validation knows their names.
var controlSpecs = []spec{
	{Name: flow.ToolIf, Title: "If",
		Description: "Branches on a condition: the edges of branch \"true\" or of branch \"false\" are taken. Example condition: inputs.branch == \"main\"",
		Params: []param{{Name: "condition", Title: "Condition", Type: typeString, Required: true,
			Description: "an expression (the language of {{ }} references) that gives true or false; reads inputs and nodes.<id>.output"}}},
	{Name: flow.ToolSwitch, Title: "Switch",
		Description: "Branches on a value: the edges of the case equal to the value are taken, or those of \"default\" when no case matches.",
		Params: []param{
			{Name: "value", Title: "Value", Type: typeString, Required: true,
				Description: "an expression whose value is compared with the cases (as text), e.g. inputs.bump"},
			{Name: "cases", Title: "Cases", Type: typeArray, Required: true,
				Description: "the case names, a list of strings such as [\"patch\", \"minor\", \"major\"]; each is a branch, plus \"default\""},
		}},
	{Name: flow.ToolWorkflow, Title: "Run workflow",
		Description: "Runs another workflow of the project as a child run and outputs its result: {runId, status, outputs: {<nodeId>: output}}.",
		Params: []param{
			{Name: "workflowId", Title: "Workflow", Type: typeString, Required: true, Description: "the id of the workflow to run"},
			{Name: "inputs", Title: "Inputs", Type: typeObject, Description: "the child run's inputs; values may reference {{ }}"},
		}},
	{Name: flow.ToolForEach, Title: "For each",
		Description: "Runs a workflow once per item as child runs (inputs: item, index, and the inputs param), with bounded concurrency; outputs the results in item order.",
		Params: []param{
			{Name: "items", Title: "Items", Type: typeAny, Required: true, Description: "a list, usually a reference such as {{ nodes.list.output.items }}"},
			{Name: "workflowId", Title: "Workflow", Type: typeString, Required: true, Description: "the id of the workflow to run per item"},
			{Name: "concurrency", Title: "Concurrency", Type: typeInteger, Default: 4, Min: ptr64(1), Max: ptr64(64), Description: "how many items run at once"},
			{Name: "continueOnError", Title: "Continue on error", Type: typeBoolean, Default: false, Description: "when true, failed items are reported in the output instead of failing the node"},
			{Name: "inputs", Title: "Inputs", Type: typeObject, Description: "extra inputs given to every child run"},
		}},
}

func ptr64(i int64) *int64 { return &i }

// controlTool describes a control-flow tool. Run is reached only when a
// caller other than the engine invokes it.
type controlTool struct{ s spec }

func (t controlTool) spec() spec { return t.s }

func (t controlTool) Describe() flow.Tool { return t.s.describe() }

func (t controlTool) Run(ctx context.Context, call Call) (any, error) {
	return nil, flow.Errorf(flow.EINVALID, "%s nodes are run by the workflow engine", t.s.Name)
}
