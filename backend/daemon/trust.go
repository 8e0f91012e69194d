package daemon

import (
	"context"
	"sort"
	"strings"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/tools/mcp"
	"github.com/flowweaver/flowweaver/backend/trust"
)

// trustService is the trust part of the API (httpapi.TrustService): it joins
// the policy (backend/trust) with what the folder brings, read without
// executing anything: the MCP entries (mcp.Inspect) and the workflows.
type trustService struct{ d *Daemon }

// review is the body of GET /api/projects/{id}/trust: everything the project
// would run once trusted, so the UI can ask before anything runs.
type review struct {
	ProjectID  string           `json:"projectId"`
	Path       string           `json:"path"`
	Trusted    bool             `json:"trusted"`
	Workflows  []workflowReview `json:"workflows"`
	MCPServers []mcpReview      `json:"mcpServers"`
	// Problems are MCP config files that cannot be read (nothing in them
	// would start).
	Problems []mcp.ServerStatus `json:"problems,omitempty"`
}

type workflowReview struct {
	ID    string   `json:"id"`
	Name  string   `json:"name"`
	Nodes int      `json:"nodes"`
	Tools []string `json:"tools,omitempty"` // distinct tools its nodes use
	// Commands are the command lines of its shell nodes, as written.
	Commands []string `json:"commands,omitempty"`
	Valid    bool     `json:"valid"`
}

type mcpReview struct {
	mcp.Preview
	// Approval is "approved", "new" or "changed" (see backend/trust); on an
	// untrusted project every entry is "new".
	Approval string `json:"approval"`
}

// Review describes what the project would run.
func (t *trustService) Review(ctx context.Context, projectID string) (any, error) {
	return t.review(ctx, projectID)
}

func (t *trustService) review(ctx context.Context, projectID string) (*review, error) {
	p, err := t.d.db.Project(ctx, projectID)
	if err != nil {
		return nil, err
	}
	out := &review{ProjectID: p.ID, Path: p.Path, Trusted: p.Trusted, Workflows: []workflowReview{}, MCPServers: []mcpReview{}}
	approved, err := t.d.trust.Approvals(ctx, projectID)
	if err != nil {
		return nil, err
	}
	servers, problems := mcp.Inspect(p.Path)
	out.Problems = problems
	for _, s := range servers {
		a := trust.ApprovalOf(approved, trust.Entry{File: s.File, Server: s.Server, Fingerprint: s.Fingerprint})
		out.MCPServers = append(out.MCPServers, mcpReview{Preview: s, Approval: a})
	}
	sums, err := t.d.workflows.Summaries(ctx, projectID)
	if err != nil {
		return nil, err
	}
	full := map[string]flow.Workflow{}
	if wfs, err := t.d.workflows.List(ctx, projectID); err == nil {
		for _, wf := range wfs {
			full[wf.ID] = wf
		}
	}
	for _, s := range sums {
		wr := workflowReview{ID: s.ID, Name: s.Name, Nodes: s.NodeCount, Valid: s.Valid}
		if wf, ok := full[s.ID]; ok {
			seen := map[string]bool{}
			for _, n := range wf.Nodes {
				if !seen[n.Tool] {
					seen[n.Tool] = true
					wr.Tools = append(wr.Tools, n.Tool)
				}
				if c, ok := n.Params["command"].(string); ok && n.Tool == "shell" && strings.TrimSpace(c) != "" {
					wr.Commands = append(wr.Commands, c)
				}
			}
			sort.Strings(wr.Tools)
		}
		out.Workflows = append(out.Workflows, wr)
	}
	return out, nil
}

// SetTrusted trusts or revokes the project. Trusting approves the MCP
// entries whose current fingerprint is in approve (the ones the user was
// shown), or every current entry when approve is nil.
func (t *trustService) SetTrusted(ctx context.Context, projectID string, trusted bool, approve []string) (*flow.Project, error) {
	p, err := t.d.db.Project(ctx, projectID)
	if err != nil {
		return nil, err
	}
	var entries []trust.Entry
	if trusted {
		want := map[string]bool{}
		for _, fp := range approve {
			want[fp] = true
		}
		servers, _ := mcp.Inspect(p.Path)
		for _, s := range servers {
			if approve == nil || want[s.Fingerprint] {
				entries = append(entries, trust.Entry{File: s.File, Server: s.Server, Fingerprint: s.Fingerprint})
			}
		}
	}
	return t.d.trust.SetTrusted(ctx, projectID, trusted, entries)
}

// Approve approves the MCP entry that currently has the fingerprint fp.
// When no entry has it any more (it changed again since the user saw it),
// the answer is a conflict: the user must review the new content.
func (t *trustService) Approve(ctx context.Context, projectID, fp string) (any, error) {
	p, err := t.d.db.Project(ctx, projectID)
	if err != nil {
		return nil, err
	}
	if fp == "" {
		return nil, flow.Errorf(flow.EINVALID, "fingerprint is required")
	}
	servers, _ := mcp.Inspect(p.Path)
	for _, s := range servers {
		if s.Fingerprint == fp {
			if err := t.d.trust.Approve(ctx, projectID, trust.Entry{File: s.File, Server: s.Server, Fingerprint: fp}); err != nil {
				return nil, err
			}
			return t.review(ctx, projectID)
		}
	}
	return nil, flow.Errorf(flow.ECONFLICT, "no MCP server entry with this fingerprint: it changed or was removed since it was shown; review it again")
}

// onTrustChange makes a trust change take effect everywhere: the MCP source
// re-asks the policy (revocation stops the project's servers before this
// returns, approval starts the approved ones), the engine drops its cached
// project, and a revocation cancels the project's queued and running runs,
// because they were started under a consent that is gone.
func (d *Daemon) onTrustChange(ctx context.Context, ch trust.Change) {
	d.engine.ForgetProject(ch.ProjectID)
	d.triggers.Reconcile(ch.ProjectID) // revoked: its schedules and watchers stop
	if !ch.Trusted {
		if err := d.cancelProjectRuns(context.WithoutCancel(ctx), ch.ProjectID); err != nil {
			d.log.Warn("cancel runs of a project whose trust was revoked", "project", ch.ProjectID, "err", err)
		}
	}
	d.mcp.Refresh(ch.ProjectID)
}
