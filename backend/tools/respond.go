package tools

import (
	"context"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// RespondTool is the name of the built-in that shapes a webhook's answer.
const RespondTool = "respond"

var respondSpec = spec{
	Name:  RespondTool,
	Title: "Respond to webhook",
	Description: "Sets the HTTP answer of a webhook trigger whose respond mode is onCompleted: status, headers and body. " +
		"Without it the caller gets the output of the run's last node. In runs not started by a webhook it only outputs its params.",
	Params: []param{
		{Name: "status", Title: "Status", Type: typeInteger, Default: int64(200),
			Description: "the HTTP status code (100 to 599)", Min: ptr[int64](100), Max: ptr[int64](599)},
		{Name: "headers", Title: "Headers", Type: typeObject, Values: typeString,
			Description: "response headers, such as Content-Type"},
		{Name: "body", Title: "Body", Type: typeAny,
			Description: "the response body: a string is sent as text, anything else as JSON; may reference upstream outputs with {{ }}"},
	},
	selfContained: true,
	instant:       true,
}

// respondTool outputs {status, headers, body}; the webhook trigger reads
// that output when the run ends and answers the waiting request with it.
type respondTool struct{}

func (respondTool) spec() spec { return respondSpec }

func (respondTool) Describe() flow.Tool { return respondSpec.describe() }

func (respondTool) Run(ctx context.Context, call Call) (any, error) {
	if err := respondSpec.validate(call.Params); err != nil {
		return nil, err
	}
	headers := map[string]any{}
	if h, ok := call.Params["headers"].(map[string]any); ok {
		headers = h
	}
	return map[string]any{
		"status":  intParam(call.Params, "status", 200),
		"headers": headers,
		"body":    call.Params["body"],
	}, nil
}
