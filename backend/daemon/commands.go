package daemon

import (
	"context"
	"encoding/json"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/tools"
	"github.com/flowweaver/flowweaver/backend/workflow"
)

// commands implements flow.Commands for the hub (and the tool catalog for
// REST) on top of the daemon's services. Every method is scoped to the
// caller's project: an id of another project is not_found.
type commands struct{ d *Daemon }

var _ flow.Commands = (*commands)(nil)

// Catalog is the tool list with the sources that failed to answer (an MCP
// file with a syntax error, a server that cannot start) as warnings.
func (c *commands) Catalog(ctx context.Context, projectID string) (any, error) {
	p, err := c.d.db.Project(ctx, projectID)
	if err != nil {
		return nil, err
	}
	cat := c.d.tools.Catalog(ctx, *p)
	if cat.Tools == nil {
		cat.Tools = []flow.Tool{}
	}
	seen := map[string]bool{}
	for _, f := range cat.Unavailable {
		seen[f.Message] = true
	}
	for _, f := range c.d.mcp.Failures(projectID) {
		if !seen[f.Message] {
			cat.Unavailable = append(cat.Unavailable, f)
		}
	}
	return struct {
		tools.Catalog
		Servers any `json:"servers"`
	}{cat, c.d.mcp.Status(projectID)}, nil
}

func (c *commands) ListTools(ctx context.Context, projectID string) ([]flow.Tool, error) {
	p, err := c.d.db.Project(ctx, projectID)
	if err != nil {
		return nil, err
	}
	return c.d.tools.Catalog(ctx, *p).Tools, nil
}

func (c *commands) StartRun(ctx context.Context, projectID, workflowID string, inputs map[string]any) (*flow.Run, error) {
	return c.d.engine.StartRun(ctx, projectID, workflowID, inputs)
}

func (c *commands) CancelRun(ctx context.Context, projectID, runID string) error {
	return c.d.engine.CancelRun(ctx, projectID, runID)
}

func (c *commands) SaveWorkflow(ctx context.Context, projectID, workflowID string, raw json.RawMessage, baseVersion int64, by string) (int64, error) {
	wf, err := workflow.ParseJSON(raw)
	if err != nil {
		return 0, err
	}
	return c.d.workflows.Save(ctx, projectID, workflowID, wf, baseVersion, by)
}

// ParamProblems lists the params of a saved workflow that do not fit their
// tools' schemas (reported with the save, never blocking it).
func (c *commands) ParamProblems(raw json.RawMessage) []flow.Problem {
	wf, err := workflow.ParseJSON(raw)
	if err != nil {
		return nil
	}
	return c.d.workflows.ParamProblems(wf)
}

func (c *commands) Snapshot(ctx context.Context, projectID, channel string) (any, error) {
	kind, id := flow.SplitChannel(channel)
	switch kind {
	case flow.ChannelProject:
		if id != projectID {
			return nil, flow.Errorf(flow.ENOTFOUND, "channel %q not found", channel)
		}
		runs, err := c.d.engine.ActiveRuns(ctx, projectID)
		if err != nil {
			return nil, err
		}
		if runs == nil {
			runs = []flow.Run{}
		}
		return map[string]any{"runs": runs}, nil
	case flow.ChannelRun:
		return c.d.engine.Run(ctx, projectID, id)
	case flow.ChannelWorkflow:
		return c.d.workflows.Snapshot(ctx, projectID, id)
	case flow.ChannelTools:
		if id != projectID {
			return nil, flow.Errorf(flow.ENOTFOUND, "channel %q not found", channel)
		}
		return c.Catalog(ctx, projectID)
	}
	return nil, flow.Errorf(flow.ENOTFOUND, "channel %q not found", channel)
}
