package engine

import (
	"context"
	"encoding/json"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/store"
)

// rerunSeed is what a re-run starts with: the recorded end of every node
// that is not the chosen node or downstream of it.
type rerunSeed struct {
	of, from string
	nodes    []flow.NodeRun
}

// write checkpoints the seeded nodes of the new run (nil: nothing).
func (s *rerunSeed) write(ctx context.Context, tx *store.Tx, runID string) error {
	if s == nil {
		return nil
	}
	for _, n := range s.nodes {
		if err := tx.FinishNode(ctx, runID, n.NodeID, n.Status, n.Attempt, n.DurationMs, n.Output, n.Error); err != nil {
			return err
		}
	}
	return nil
}

// RerunFrom starts a finished run again from node nodeID (n8n's "retry
// from node"): a new run of the workflow as it is now, with the run's
// inputs, in which every node that is neither nodeID nor downstream of it
// keeps the result recorded in the old run (succeeded with its output,
// failed, skipped); nodeID and everything after it run again. The new run
// links to the old one (rerunOf, rerunFrom).
func (e *Engine) RerunFrom(ctx context.Context, projectID, runID, nodeID string) (*flow.Run, error) {
	old, err := e.db.GetRun(ctx, projectID, runID)
	if err != nil {
		return nil, err
	}
	if !old.Status.Terminal() {
		return nil, flow.Errorf(flow.ECONFLICT, "run %s is %s: it can be re-run once it finished", runID, old.Status)
	}
	if old.ParentRunID != "" {
		return nil, flow.Errorf(flow.EINVALID, "run %s is a child run of %s: re-run the parent from its %s node", runID, old.ParentRunID, old.ParentNodeID)
	}
	wf, err := e.cfg.Workflows.Get(ctx, old.ProjectID, old.WorkflowID)
	if err != nil {
		return nil, err
	}
	g, err := newGraph(wf)
	if err != nil {
		return nil, err
	}
	from, ok := g.index[nodeID]
	if !ok {
		return nil, flow.Errorf(flow.ENOTFOUND, "workflow %s has no node %q", old.WorkflowID, nodeID)
	}
	again := map[int]bool{from: true}
	for _, i := range g.order { // topological: a node's upstream comes first
		for _, u := range g.up[i] {
			if again[u] {
				again[i] = true
			}
		}
	}
	seed := &rerunSeed{of: old.ID, from: nodeID}
	for _, n := range old.Nodes {
		i, ok := g.index[n.NodeID]
		if !ok || again[i] {
			continue
		}
		switch n.Status {
		case flow.NodeSucceeded, flow.NodeFailed, flow.NodeSkipped:
			seed.nodes = append(seed.nodes, n)
		}
	}
	// A re-run is started by hand, but sees the inputs of the run it
	// repeats, the trigger record (a webhook's body, the changed files)
	// included.
	opts := StartOptions{rerun: seed}
	if in, ok := old.Inputs["trigger"].(map[string]any); ok {
		opts.TriggerInputs = in
	}
	return e.StartRunWith(ctx, old.ProjectID, old.WorkflowID, old.Inputs, opts)
}

// NodeOutput returns the full recorded output of one node of a run (run
// reads cut outputs to previews).
func (e *Engine) NodeOutput(ctx context.Context, runID, nodeID string) (json.RawMessage, error) {
	r, err := e.db.GetRun(ctx, "", runID)
	if err != nil {
		return nil, err
	}
	for _, n := range r.Nodes {
		if n.NodeID == nodeID {
			return n.Output, nil
		}
	}
	return nil, flow.Errorf(flow.ENOTFOUND, "run %s has no node %q", runID, nodeID)
}
