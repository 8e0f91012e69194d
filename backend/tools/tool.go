// Package tools is the tool registry: the built-in tools and the sources of
// further tools (MCP servers) that workflow nodes invoke.
package tools

import (
	"context"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// Call is one invocation of a tool by a workflow node.
type Call struct {
	Project flow.Project // the project the run belongs to; Project.Path is its folder
	RunID   string
	NodeID  string
	// Params are the node's params with every reference already resolved.
	// They are read-only: params without references are the workflow's
	// own maps, shared by every run of that workflow version.
	Params map[string]any
	// Env is what expressions may read: {"inputs": run inputs, "nodes":
	// {nodeId: {"output": ...}} of upstream nodes}. The transform tool
	// evaluates its expression against it.
	Env map[string]any
	// Log streams one line of output ("stdout" or "stderr"). The engine
	// batches lines into node.log events; it is safe for concurrent use and
	// never blocks for long.
	Log func(stream, line string)
	// Started, when set, is called by tools that start OS processes (shell)
	// right after the start, with the process group id. The engine records
	// the group so that after a crash the restarted server can kill what
	// is left of it before the node runs again. The returned func (may be
	// nil) is called once the whole group is gone.
	Started func(pgid int) (forget func())
}

// Tool is a built-in tool.
type Tool interface {
	// Describe returns the tool's name, title, description, and the JSON
	// Schema of its params. Source is "builtin".
	Describe() flow.Tool
	// Run executes the tool. The returned output becomes the node's output
	// (JSON-encodable). Cancellation and timeouts arrive through ctx.
	// Errors should be *flow.Error with a clear message for the user.
	Run(ctx context.Context, call Call) (any, error)
}

// Source provides the tools of one family whose names share a prefix, such
// as "mcp:" for the project's MCP servers. Its tools may differ per project.
type Source interface {
	// Tools lists the tools available in the project.
	Tools(ctx context.Context, p flow.Project) ([]flow.Tool, error)
	// Run invokes the tool with the full name (prefix included).
	Run(ctx context.Context, name string, call Call) (any, error)
}
