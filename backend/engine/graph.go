package engine

import (
	"github.com/flowweaver/flowweaver/backend/flow"
)

// graph is a workflow's nodes with their edges resolved to indexes. It is
// read-only once built: the runs of one workflow version share it, and its
// nodes with the workflow service's cache (see compiledCache).
type graph struct {
	nodes []flow.Node
	index map[string]int
	up    [][]int // upstream nodes of each node
	down  [][]int // downstream nodes of each node
	edges []flow.Edge
	in    [][]int // incoming edges (indexes into edges) of each node
	out   [][]int // outgoing edges of each node
	order []int   // nodes in topological order
}

// newGraph checks what execution depends on (unique ids, edges between
// existing nodes, no cycle) and returns every problem at once. Full
// validation of workflows happens when they are saved; this guards against
// a file edited on disk between save and run.
func newGraph(wf *flow.Workflow) (*graph, error) {
	g := &graph{nodes: wf.Nodes, index: make(map[string]int, len(wf.Nodes)),
		up: make([][]int, len(wf.Nodes)), down: make([][]int, len(wf.Nodes)),
		in: make([][]int, len(wf.Nodes)), out: make([][]int, len(wf.Nodes))}
	var problems []flow.Problem
	for i, n := range wf.Nodes {
		if n.ID == "" {
			problems = append(problems, flow.Problem{Field: "nodes", Message: "a node has no id"})
			continue
		}
		if _, dup := g.index[n.ID]; dup {
			problems = append(problems, flow.Problem{Field: "nodes", Node: n.ID, Message: "duplicate node id " + n.ID})
			continue
		}
		g.index[n.ID] = i
		if n.Tool == "" {
			problems = append(problems, flow.Problem{Field: "nodes", Node: n.ID, Message: "node " + n.ID + " has no tool"})
		}
	}
	for i, e := range wf.Edges {
		s, ok1 := g.index[e.Source]
		t, ok2 := g.index[e.Target]
		if !ok1 || !ok2 {
			edge := i
			problems = append(problems, flow.Problem{Field: "edges", Edge: &edge, Message: "edge " + e.Source + " -> " + e.Target + " names a node that does not exist"})
			continue
		}
		g.up[t] = append(g.up[t], s)
		g.down[s] = append(g.down[s], t)
		g.in[t] = append(g.in[t], len(g.edges))
		g.out[s] = append(g.out[s], len(g.edges))
		g.edges = append(g.edges, e)
	}
	if len(problems) == 0 {
		// Kahn: whatever cannot be ordered sits on a cycle.
		indeg := make([]int, len(g.nodes))
		for i := range g.nodes {
			indeg[i] = len(g.up[i])
		}
		queue := []int{}
		for i, d := range indeg {
			if d == 0 {
				queue = append(queue, i)
			}
		}
		seen := 0
		for len(queue) > 0 {
			n := queue[0]
			queue = queue[1:]
			seen++
			g.order = append(g.order, n)
			for _, d := range g.down[n] {
				if indeg[d]--; indeg[d] == 0 {
					queue = append(queue, d)
				}
			}
		}
		if seen != len(g.nodes) {
			for i, d := range indeg {
				if d > 0 {
					problems = append(problems, flow.Problem{Field: "edges", Node: g.nodes[i].ID, Message: "node " + g.nodes[i].ID + " is on a cycle"})
				}
			}
		}
	}
	if len(problems) > 0 {
		return nil, &flow.Error{Code: flow.EINVALID, Message: problems[0].Message, Details: problems}
	}
	return g, nil
}

func (g *graph) ids() []string {
	out := make([]string, len(g.nodes))
	for i, n := range g.nodes {
		out[i] = n.ID
	}
	return out
}

// startsChildren reports whether a node of the graph starts child runs
// (workflow, forEach): only then can a finishing run leave children.
func (g *graph) startsChildren() bool {
	for _, n := range g.nodes {
		if n.Tool == flow.ToolWorkflow || n.Tool == flow.ToolForEach {
			return true
		}
	}
	return false
}
