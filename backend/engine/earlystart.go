package engine

import "github.com/flowweaver/flowweaver/backend/flow"

// Early starts: when may a node start before its upstream nodes' ends are
// committed?
//
// The rule that a node starts only after its upstream nodes' checkpoints
// committed exists for crash safety: a crash between a node's end and
// that end's commit runs the node again, and whatever already reacted to
// its first outcome (a shell command, an HTTP call, a child run) would
// then have acted on an outcome that no longer exists, and acts again.
//
// A self-contained node reacts to nothing outside the run: its only
// effects are its output and its log lines (log, transform, respond,
// delay, if, switch). Those are written in the run's later steps, and
// steps commit in submission order, so nothing of such a node becomes
// durable, or visible to any client, before its upstream checkpoints do.
// A crash in between loses both, and the next attempt runs both again
// from the last committed checkpoint, exactly as if the node had waited.
// So a self-contained node starts as soon as its upstream nodes ended in
// memory, and a chain of quick self-contained nodes runs without waiting
// for one commit per node. A node that is not self-contained (shell,
// http, file.write, MCP tools, workflow, forEach) still waits for the
// commit of every step before it.
//
// If a step of the run fails (it rolled back), every later step of the
// run returns that error without writing (step.before), and the run's job
// retries from its checkpoints.

// SelfContainedTools is what a ToolRunner may implement to tell which
// tools are self-contained (tools.Registry does). Without it only the
// engine's own if and switch are.
type SelfContainedTools interface {
	SelfContained(name string) bool
}

// selfContained reports for each node of g whether it may start early.
func selfContained(g *graph, t ToolRunner) []bool {
	sc, _ := t.(SelfContainedTools)
	return nodesAre(g, func(tool string) bool { return sc != nil && sc.SelfContained(tool) })
}

// nodesAre reports for each node of g whether it is of a kind that the
// engine's own control nodes decide: if and switch always are (they only
// compute a branch), workflow and forEach never (they start child runs),
// and any other node is when toolIs says so of its tool.
func nodesAre(g *graph, toolIs func(tool string) bool) []bool {
	out := make([]bool, len(g.nodes))
	for i, n := range g.nodes {
		switch n.Tool {
		case flow.ToolIf, flow.ToolSwitch:
			out[i] = true
		case flow.ToolWorkflow, flow.ToolForEach:
		default:
			out[i] = toolIs(n.Tool)
		}
	}
	return out
}

// startsEarly reports whether every node in start may start before the
// current step commits.
func (x *execution) startsEarly(start []int) bool {
	for _, i := range start {
		if !x.early[i] {
			return false
		}
	}
	return true
}
