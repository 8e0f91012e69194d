package tools

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/flowweaver/flowweaver/backend/flow"
)

var logSpec = spec{
	Name:        "log",
	Title:       "Log",
	Description: "Writes a message to the node's log (stdout stream) and outputs it. Non-string values are written as JSON.",
	Params: []param{{
		Name: "message", Title: "Message", Type: typeAny, Required: true,
		Description: "the text to log; may reference inputs and upstream outputs with {{ }}",
	}},
	selfContained: true,
	instant:       true,
}

// logTool writes a message into the run's log: the simplest way to see a
// value flowing through a workflow.
type logTool struct{}

func (logTool) spec() spec { return logSpec }

func (logTool) Describe() flow.Tool { return logSpec.describe() }

func (logTool) Run(ctx context.Context, call Call) (any, error) {
	if err := logSpec.validate(call.Params); err != nil {
		return nil, err
	}
	msg := call.Params["message"]
	text, ok := msg.(string)
	if !ok {
		b, err := json.Marshal(msg)
		if err != nil {
			return nil, flow.Errorf(flow.EINVALID, "log: message cannot be written as JSON: %v", err)
		}
		text = string(b)
	}
	// One Log call per line keeps node.log's "lines" one line each.
	for line := range strings.SplitSeq(strings.TrimSuffix(text, "\n"), "\n") {
		call.Log("stdout", strings.TrimSuffix(line, "\r"))
	}
	return map[string]any{"message": msg}, nil
}
