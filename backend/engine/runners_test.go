package engine_test

import (
	"context"
	"fmt"
	"testing"

	"go.uber.org/goleak"

	"github.com/flowweaver/flowweaver/backend/engine"
	"github.com/flowweaver/flowweaver/backend/flow"
)

// Nodes run on goroutines reused from node to node within an execution
// (runners.go); they end with it: after runs of a long chain and of
// parallel branches, and the engine's Stop, no goroutine is left.
func TestNodeRunnersEndWithTheirExecution(t *testing.T) {
	before := goleak.IgnoreCurrent()
	t.Run("runs", func(t *testing.T) {
		e := newEnv(t, "p1")
		tools := make([]string, 30)
		for i := range tools {
			tools[i] = "log"
		}
		e.wfs.put("p1", chain("long", tools...))
		wide := &flow.Workflow{ID: "wide", Nodes: []flow.Node{{ID: "root", Tool: "echo"}, {ID: "join", Tool: "echo"}}}
		for i := range 8 {
			id := fmt.Sprintf("b%d", i)
			wide.Nodes = append(wide.Nodes, flow.Node{ID: id, Tool: "echo"})
			wide.Edges = append(wide.Edges, flow.Edge{Source: "root", Target: id}, flow.Edge{Source: id, Target: "join"})
		}
		e.wfs.put("p1", wide)
		en := e.engine(engine.Config{NodeParallelism: 3})
		start(t, en)
		for _, wf := range []string{"long", "wide", "long"} {
			r, err := en.StartRun(context.Background(), "p1", wf, nil)
			if err != nil {
				t.Fatal(err)
			}
			got := wait(t, en, r.ID)
			if got.Status != flow.RunSucceeded {
				t.Fatalf("%s: %+v", wf, got)
			}
			for _, n := range got.Nodes {
				if n.Status != flow.NodeSucceeded || e.tt.invocations(r.ID, n.NodeID) != 1 {
					t.Fatalf("%s: node %s %s, ran %d times", wf, n.NodeID, n.Status, e.tt.invocations(r.ID, n.NodeID))
				}
			}
		}
	})
	goleak.VerifyNone(t, before)
}
