package workflow

import (
	"fmt"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// ParamChecker checks a node's params against its tool's schema (the tool
// registry implements it for built-in tools).
type ParamChecker interface {
	ParamProblems(tool string, params map[string]any) []string
}

// ParamProblems lists the params of wf's nodes that do not fit their tool's
// schema (a missing required param, a wrong type, an unknown key). They do
// not block a save: a workflow being built is often incomplete, and it is
// stored as a draft. The editor shows them on the nodes before a run; the
// node would fail with the same message when it runs.
func (s *Service) ParamProblems(wf *flow.Workflow) []flow.Problem {
	pc, ok := s.tools.(ParamChecker)
	if !ok || wf == nil {
		return nil
	}
	return ParamProblems(wf, pc)
}

// ParamProblems is Service.ParamProblems for a given checker.
func ParamProblems(wf *flow.Workflow, pc ParamChecker) []flow.Problem {
	var p problems
	for i, n := range wf.Nodes {
		for _, msg := range pc.ParamProblems(n.Tool, n.Params) {
			p.add(flow.Problem{Field: fmt.Sprintf("nodes[%d].params", i), Node: printable(n.ID), Message: msg})
		}
	}
	return p.result()
}
