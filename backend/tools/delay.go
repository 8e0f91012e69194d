package tools

import (
	"context"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// maxDelayMs caps delay at one week: a longer pause is almost certainly a
// unit mistake (seconds typed as milliseconds times 1000).
const maxDelayMs = 7 * 24 * 60 * 60 * 1000

var delaySpec = spec{
	Name:        "delay",
	Title:       "Delay",
	Description: "Waits the given number of milliseconds, then succeeds. Cancel and the node's timeout end the wait early.",
	Params: []param{{
		Name: "ms", Title: "Milliseconds", Type: typeInteger, Required: true,
		Description: "how long to wait, in milliseconds (0 to 604800000)",
		Min:         ptr[int64](0), Max: ptr[int64](maxDelayMs),
	}},
	selfContained: true,
}

// delayTool pauses a branch of the workflow.
type delayTool struct {
	after func(time.Duration) <-chan time.Time
}

func (*delayTool) spec() spec { return delaySpec }

func (*delayTool) Describe() flow.Tool { return delaySpec.describe() }

func (t *delayTool) Run(ctx context.Context, call Call) (any, error) {
	if err := delaySpec.validate(call.Params); err != nil {
		return nil, err
	}
	ms := intParam(call.Params, "ms", 0)
	if err := ctx.Err(); err != nil {
		return nil, ctxError(ctx, "delay")
	}
	select {
	case <-t.after(time.Duration(ms) * time.Millisecond):
		return map[string]any{"ms": ms}, nil
	case <-ctx.Done():
		return nil, ctxError(ctx, "delay")
	}
}
