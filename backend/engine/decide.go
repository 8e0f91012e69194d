package engine

import (
	"encoding/json"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// The control-flow semantics (docs/workflows.md, "Control flow"):
//
//   - An edge is resolved once its source ended. It is taken when its
//     condition holds: success (default) if the source succeeded, failure
//     if it failed, always if it succeeded or failed, a branch name if the
//     branching source succeeded and took that branch.
//   - A node with incoming edges runs once all of them are resolved and at
//     least one is taken. When none is taken it is skipped ("untaken").
//   - A success or branch edge from a node that failed or was canceled
//     skips its target whatever its other success edges say, and that skip
//     spreads to everything downstream ("upstream failed"): a failure never
//     lets a join after it run as if nothing happened. Only a taken failure
//     or always edge runs a node after a failure upstream.
//   - A failed node with a failure or always edge is handled: it does not
//     fail the run.

// skipCause says why a node was skipped.
type skipCause struct {
	failed bool   // an upstream failure (spreads downstream)
	from   string // the upstream node that decided it
}

func (c skipCause) reason() string {
	if c.failed {
		return "upstream " + c.from + " did not succeed"
	}
	if c.from == "" {
		return "no incoming edge was taken"
	}
	return "no incoming edge was taken (last decided by " + c.from + ")"
}

// edge states, as reported to clients.
const (
	edgePending = "pending"
	edgeTaken   = "taken"
	edgeUntaken = "untaken"
)

// edgeState decides one edge from its source's status and branch.
func edgeState(e flow.Edge, src flow.NodeStatus, branch string) string {
	switch src {
	case flow.NodePending, flow.NodeRunning, "":
		return edgePending
	}
	taken := false
	switch on := e.Condition(); on {
	case flow.EdgeSuccess:
		taken = src == flow.NodeSucceeded
	case flow.EdgeFailure:
		taken = src == flow.NodeFailed
	case flow.EdgeAlways:
		taken = src == flow.NodeSucceeded || src == flow.NodeFailed
	default:
		taken = src == flow.NodeSucceeded && branch == on
	}
	if taken {
		return edgeTaken
	}
	return edgeUntaken
}

// poisons reports whether edge e from a source in state src (skipped for
// cause c) skips its target because of a failure upstream.
func poisons(e flow.Edge, src flow.NodeStatus, c skipCause) bool {
	switch src {
	case flow.NodeFailed, flow.NodeCanceled:
		on := e.Condition()
		return on != flow.EdgeFailure && on != flow.EdgeAlways
	case flow.NodeSkipped:
		return c.failed
	}
	return false
}

func (x *execution) edge(ei int) string {
	s := x.g.index[x.g.edges[ei].Source]
	return edgeState(x.g.edges[ei], x.status[s], x.branch[s])
}

// verdict decides a pending node: run it, skip it (with the cause), or
// wait for an upstream node. It decides only once every incoming edge is
// resolved: a failure or always edge that is taken runs the node even when
// a failure upstream would otherwise skip it (explicit handling wins).
func (x *execution) verdict(i int) (run, skip bool, c skipCause) {
	in := x.g.in[i]
	if len(in) == 0 {
		return true, false, c
	}
	anyTaken, handler := false, false
	var poison *skipCause
	for _, ei := range in {
		e := x.g.edges[ei]
		s := x.g.index[e.Source]
		state := x.edge(ei)
		switch state {
		case edgePending:
			return false, false, c
		case edgeTaken:
			anyTaken = true
			if on := e.Condition(); on == flow.EdgeFailure || on == flow.EdgeAlways {
				handler = true
			}
		}
		if poison == nil && poisons(e, x.status[s], x.why[s]) {
			poison = &skipCause{failed: true, from: e.Source}
		}
		c.from = e.Source
	}
	switch {
	case handler:
		return true, false, skipCause{}
	case poison != nil:
		return false, true, *poison
	case anyTaken:
		return true, false, skipCause{}
	}
	return false, true, c
}

// decideSkips marks, in memory, the pending nodes that can no longer run
// as skipped (in topological order, so a chain skips in one step) and
// returns them.
func (x *execution) decideSkips() []int {
	var out []int
	for _, i := range x.g.order {
		if x.status[i] != flow.NodePending {
			continue
		}
		if _, skip, c := x.verdict(i); skip {
			x.status[i] = flow.NodeSkipped
			x.why[i] = c
			out = append(out, i)
		}
	}
	return out
}

// recomputeSkipCauses restores why resumed skipped nodes were skipped
// (the cause is not checkpointed; it follows from the upstream states).
func (x *execution) recomputeSkipCauses() {
	for _, i := range x.g.order {
		if x.status[i] != flow.NodeSkipped {
			continue
		}
		for _, ei := range x.g.in[i] {
			e := x.g.edges[ei]
			s := x.g.index[e.Source]
			if poisons(e, x.status[s], x.why[s]) {
				x.why[i] = skipCause{failed: true, from: e.Source}
				break
			}
		}
	}
}

// ready returns up to max pending nodes that may run now.
func (x *execution) ready(max int) []int {
	var out []int
	for i := range x.g.nodes {
		if len(out) >= max {
			break
		}
		if x.status[i] != flow.NodePending {
			continue
		}
		if run, _, _ := x.verdict(i); run {
			out = append(out, i)
		}
	}
	return out
}

// handled reports whether node i has an edge that continues after a
// failure (failure or always): its failure does not fail the run.
func (x *execution) handled(i int) bool {
	for _, ei := range x.g.out[i] {
		if on := x.g.edges[ei].Condition(); on == flow.EdgeFailure || on == flow.EdgeAlways {
			return true
		}
	}
	return false
}

// edgeInfo is one outgoing edge in a node's end event.
type edgeInfo struct {
	Target string `json:"target"`
	On     string `json:"on"`
	Taken  bool   `json:"taken"`
}

// outEdges reports the decision about node i's outgoing edges, for its
// end event (the canvas greys untaken edges from it).
func (x *execution) outEdges(i int) []edgeInfo {
	out := make([]edgeInfo, 0, len(x.g.out[i]))
	for _, ei := range x.g.out[i] {
		e := x.g.edges[ei]
		out = append(out, edgeInfo{Target: e.Target, On: e.Condition(), Taken: x.edge(ei) == edgeTaken})
	}
	return out
}

// branchOf reads the branch from a branching node's output.
func branchOf(out any) string {
	if m, ok := out.(map[string]any); ok {
		if b, ok := m["branch"].(string); ok {
			return b
		}
	}
	return ""
}

// EdgeStates decides every edge of a workflow snapshot from the recorded
// node states (for run reads: the canvas of a finished run).
func EdgeStates(wf *flow.Workflow, nodes []flow.NodeRun) []flow.EdgeState {
	st := make(map[string]flow.NodeRun, len(nodes))
	for _, n := range nodes {
		st[n.NodeID] = n
	}
	out := make([]flow.EdgeState, 0, len(wf.Edges))
	for _, e := range wf.Edges {
		src := st[e.Source]
		branch := ""
		if src.Status == flow.NodeSucceeded && len(src.Output) > 0 && len(src.Output) < 4096 {
			var v any
			if json.Unmarshal(src.Output, &v) == nil {
				branch = branchOf(v)
			}
		}
		out = append(out, flow.EdgeState{Source: e.Source, Target: e.Target, On: e.Condition(), State: edgeState(e, src.Status, branch)})
	}
	return out
}
