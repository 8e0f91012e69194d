package secrets

import (
	"sort"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// Use is one place that references a secret: a workflow node's params, or
// an MCP server entry of a config file.
type Use struct {
	Kind       string `json:"kind"` // "workflow" or "mcp"
	WorkflowID string `json:"workflowId,omitempty"`
	NodeID     string `json:"nodeId,omitempty"`
	Server     string `json:"server,omitempty"`
	File       string `json:"file,omitempty"`
}

// Uses maps secret names to the places that reference them.
type Uses map[string][]Use

// AddWorkflows records the node params of wfs that reference secrets. A
// reference that is not a plain name (a computed one) is not a use: the
// run fails it with its own error.
func (u Uses) AddWorkflows(wfs []flow.Workflow) {
	for _, wf := range wfs {
		for _, n := range wf.Nodes {
			names, _ := ParamRefs(n.Params)
			for _, name := range names {
				u[name] = append(u[name], Use{Kind: "workflow", WorkflowID: wf.ID, NodeID: n.ID})
			}
		}
	}
}

// Add records one use.
func (u Uses) Add(name string, use Use) { u[name] = append(u[name], use) }

// Status is one secret as GET /api/projects/{id}/secrets lists it.
type Status struct {
	Info
	UsedBy []Use `json:"usedBy"`
}

// Missing is a referenced name that the project has no secret for.
type Missing struct {
	Name   string `json:"name"`
	UsedBy []Use  `json:"usedBy"`
}

// Report joins the stored secrets with their uses: every secret with where
// it is used, and every referenced name that is not set.
func Report(infos []Info, uses Uses) ([]Status, []Missing) {
	have := map[string]bool{}
	out := make([]Status, 0, len(infos))
	for _, in := range infos {
		have[in.Name] = true
		out = append(out, Status{Info: in, UsedBy: orEmpty(uses[in.Name])})
	}
	missing := []Missing{}
	for name, us := range uses {
		if !have[name] {
			missing = append(missing, Missing{Name: name, UsedBy: us})
		}
	}
	sort.Slice(missing, func(i, j int) bool { return missing[i].Name < missing[j].Name })
	return out, missing
}

func orEmpty(u []Use) []Use {
	if u == nil {
		return []Use{}
	}
	return u
}
