package engine_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/engine"
	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/queue"
)

func childRuns(t *testing.T, en *engine.Engine, projectID, parentID string) []flow.Run {
	t.Helper()
	var out []flow.Run
	f := flow.RunFilter{ProjectID: projectID, ParentRunID: parentID, Limit: 500}
	for {
		page, err := en.ListRuns(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page.Runs...)
		if page.Next == "" {
			return out
		}
		f.Cursor = page.Next
	}
}

func forEachWorkflows(e *env, n int, conc float64, childTool string) []any {
	items := make([]any, n)
	for i := range items {
		items[i] = float64(i * 10)
	}
	e.wfs.put("p1", &flow.Workflow{ID: "item", Name: "item", Nodes: []flow.Node{
		{ID: "e", Tool: childTool, Params: map[string]any{"v": "{{ inputs.item }}", "i": "{{ inputs.index }}", "ms": 5.0}},
	}})
	after := map[string]any{"n": "{{ nodes.each.output.count }}"}
	if childTool == "echo" {
		after["last"] = "{{ nodes.each.output.results[len(nodes.each.output.results)-1].outputs.e.v }}"
	}
	e.wfs.put("p1", &flow.Workflow{ID: "loop", Name: "loop", Nodes: []flow.Node{
		{ID: "each", Tool: "forEach", Params: map[string]any{"items": "{{ inputs.items }}", "workflowId": "item", "concurrency": conc}},
		{ID: "after", Tool: "echo", Params: after},
	}, Edges: []flow.Edge{{Source: "each", Target: "after"}}})
	return items
}

// TestForEachThousandItems: 1,000 items with concurrency 8 complete with
// the default 16 workers and with a single worker (child runs do not take
// workers), the output is in item order and every child run is recorded.
func TestForEachThousandItems(t *testing.T) {
	for _, workers := range []int{16, 1} {
		t.Run(map[int]string{16: "16 workers", 1: "1 worker"}[workers], func(t *testing.T) {
			e := newEnv(t, "p1")
			items := forEachWorkflows(e, 1000, 8, "echo")
			en := e.engine(engine.Config{Queue: queue.Config{Workers: workers}})
			start(t, en)
			r, err := en.StartRun(context.Background(), "p1", "loop", map[string]any{"items": items})
			if err != nil {
				t.Fatal(err)
			}
			got := waitFor(t, en, r.ID, 10*time.Minute)
			if got.Status != flow.RunSucceeded {
				t.Fatalf("run %s: %s", got.Status, got.Error)
			}
			full, err := e.db.GetRun(context.Background(), "p1", r.ID)
			if err != nil {
				t.Fatal(err)
			}
			var out struct {
				Results []engine.ChildResult `json:"results"`
				Count   int                  `json:"count"`
				Failed  int                  `json:"failed"`
			}
			for _, n := range full.Nodes {
				if n.NodeID == "each" {
					if err := json.Unmarshal(n.Output, &out); err != nil {
						t.Fatal(err)
					}
				}
			}
			if out.Count != 1000 || len(out.Results) != 1000 || out.Failed != 0 {
				t.Fatalf("count %d results %d failed %d", out.Count, len(out.Results), out.Failed)
			}
			ids := map[string]bool{}
			for i, res := range out.Results {
				var v struct {
					V float64 `json:"v"`
					I float64 `json:"i"`
				}
				if err := json.Unmarshal(res.Outputs["e"], &v); err != nil || v.V != float64(i*10) || v.I != float64(i) || *res.Index != i {
					t.Fatalf("result %d out of order: %+v (%s)", i, res, res.Outputs["e"])
				}
				ids[res.RunID] = true
			}
			after := node(got, "after")
			if !strings.Contains(string(after.Output), `"n":1000`) || !strings.Contains(string(after.Output), `"last":9990`) {
				t.Errorf("after: %s", after.Output)
			}
			kids := childRuns(t, en, "p1", r.ID)
			if len(kids) != 1000 || len(ids) != 1000 {
				t.Fatalf("%d child runs recorded, %d distinct in output; want 1000", len(kids), len(ids))
			}
			for _, k := range kids {
				if k.Status != flow.RunSucceeded || k.ParentRunID != r.ID || k.ParentNodeID != "each" || k.Depth != 1 || !ids[k.ID] {
					t.Fatalf("child %+v", k)
				}
			}
			// Top-level listing leaves the children out.
			page, err := en.ListRuns(context.Background(), flow.RunFilter{ProjectID: "p1", TopLevel: true})
			if err != nil || len(page.Runs) != 1 {
				t.Fatalf("top-level runs %d, %v", len(page.Runs), err)
			}
		})
	}
}

func TestForEachFirstFailureFailsNodeUnlessContinueOnError(t *testing.T) {
	e := newEnv(t, "p1")
	e.wfs.put("p1", &flow.Workflow{ID: "item", Name: "item", Nodes: []flow.Node{
		{ID: "check", Tool: "if", Params: map[string]any{"condition": "inputs.item == 3"}},
		{ID: "boom", Tool: "fail"},
	}, Edges: []flow.Edge{{Source: "check", Target: "boom", On: "true"}}})
	for _, cont := range []bool{false, true} {
		e.wfs.put("p1", &flow.Workflow{ID: "loop", Name: "loop", Nodes: []flow.Node{
			// items from an expression that gives []int; concurrency as an int
			{ID: "each", Tool: "forEach", Params: map[string]any{"items": "{{ 1..5 }}", "workflowId": "item", "concurrency": "{{ 1 }}", "continueOnError": cont}},
		}})
		en := e.engine(engine.Config{})
		start(t, en)
		r, err := en.StartRun(context.Background(), "p1", "loop", nil)
		if err != nil {
			t.Fatal(err)
		}
		got := wait(t, en, r.ID)
		each := node(got, "each")
		if cont {
			if got.Status != flow.RunSucceeded || !strings.Contains(string(each.Output), `"failed":1`) {
				t.Errorf("continueOnError: run %s, output %s", got.Status, each.Output)
			}
		} else {
			if got.Status != flow.RunFailed || !strings.Contains(each.Error, "item 2") {
				t.Errorf("run %s, node error %q", got.Status, each.Error)
			}
			if kids := childRuns(t, en, "p1", r.ID); len(kids) != 3 {
				t.Errorf("items after the first failure still ran: %d child runs", len(kids))
			}
		}
		stopEngine(t, en)
	}
}

func TestWorkflowNodeOutputsChildResult(t *testing.T) {
	e := newEnv(t, "p1")
	e.wfs.put("p1", &flow.Workflow{ID: "release", Name: "release", Nodes: []flow.Node{
		{ID: "tag", Tool: "log", Params: map[string]any{"message": "v{{ inputs.version }}"}},
	}})
	e.wfs.put("p1", &flow.Workflow{ID: "main", Name: "main", Nodes: []flow.Node{
		{ID: "call", Tool: "workflow", Params: map[string]any{"workflowId": "release", "inputs": map[string]any{"version": "{{ inputs.v }}"}}},
		{ID: "use", Tool: "echo", Params: map[string]any{"tag": "{{ nodes.call.output.outputs.tag.message }}"}},
	}, Edges: []flow.Edge{{Source: "call", Target: "use"}}})
	en := e.engine(engine.Config{})
	start(t, en)
	r, err := en.StartRun(context.Background(), "p1", "main", map[string]any{"v": "1.2"})
	if err != nil {
		t.Fatal(err)
	}
	got := wait(t, en, r.ID)
	if got.Status != flow.RunSucceeded || string(node(got, "use").Output) != `{"tag":"v1.2"}` {
		t.Fatalf("run %s %s: use %s", got.Status, got.Error, node(got, "use").Output)
	}
	kids := childRuns(t, en, "p1", r.ID)
	if len(kids) != 1 || kids[0].WorkflowID != "release" || kids[0].ItemIndex != nil {
		t.Fatalf("children %+v", kids)
	}
	// The child has its own channel with its own lifecycle.
	if ty := types(runEvents(t, e.db, "p1", kids[0].ID)); !strings.HasPrefix(ty, "run.queued run.started node.started:tag node.log:tag node.completed:tag run.completed") {
		t.Errorf("child events: %s", ty)
	}
}

func TestRecursionLimit(t *testing.T) {
	e := newEnv(t, "p1")
	e.wfs.put("p1", &flow.Workflow{ID: "self", Name: "self", Nodes: []flow.Node{
		{ID: "again", Tool: "workflow", Params: map[string]any{"workflowId": "self"}},
	}})
	en := e.engine(engine.Config{MaxCallDepth: 3})
	start(t, en)
	r, err := en.StartRun(context.Background(), "p1", "self", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := wait(t, en, r.ID)
	if got.Status != flow.RunFailed || !strings.Contains(got.Error, "nested deeper than 3 (self -> self -> self -> self -> self)") {
		t.Fatalf("run %s: %q", got.Status, got.Error)
	}
}

// TestCancelParentCancelsChildren: canceling the parent ends its running
// children as canceled, and no further item starts.
func TestCancelParentCancelsChildren(t *testing.T) {
	e := newEnv(t, "p1")
	e.tt.started = make(chan string, 16)
	e.wfs.put("p1", &flow.Workflow{ID: "item", Name: "item", Nodes: []flow.Node{{ID: "b", Tool: "block"}}})
	e.wfs.put("p1", &flow.Workflow{ID: "loop", Name: "loop", Nodes: []flow.Node{
		{ID: "each", Tool: "forEach", Params: map[string]any{"items": []any{1.0, 2.0, 3.0, 4.0, 5.0, 6.0}, "workflowId": "item", "concurrency": 2.0}},
	}})
	en := e.engine(engine.Config{})
	start(t, en)
	r, err := en.StartRun(context.Background(), "p1", "loop", nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case <-e.tt.started:
		case <-time.After(30 * time.Second):
			t.Fatal("children did not start")
		}
	}
	if err := en.CancelRun(context.Background(), "p1", r.ID); err != nil {
		t.Fatal(err)
	}
	if got := wait(t, en, r.ID); got.Status != flow.RunCanceled {
		t.Fatalf("parent %s", got.Status)
	}
	kids := childRuns(t, en, "p1", r.ID)
	if len(kids) != 2 {
		t.Fatalf("%d child runs, want the 2 that started", len(kids))
	}
	for _, k := range kids {
		if k.Status != flow.RunCanceled {
			t.Errorf("child %s is %s", k.ID, k.Status)
		}
	}
}

// TestForEachResumesWithoutRerunningFinishedChildren: the engine stops
// mid-loop (its job is handed back); a new engine resumes the parent,
// reuses the finished children and resumes the interrupted ones.
func TestForEachResumesWithoutRerunningFinishedChildren(t *testing.T) {
	e := newEnv(t, "p1")
	items := forEachWorkflows(e, 60, 4, "sleep")
	// Items from 10 on wait at a gate that opens only after the stop, so
	// the stop always lands mid-loop.
	e.tt.release = make(chan struct{})
	e.wfs.put("p1", &flow.Workflow{ID: "item", Name: "item", Nodes: []flow.Node{
		{ID: "early", Tool: "if", Params: map[string]any{"condition": "inputs.index < 10"}},
		{ID: "e", Tool: "sleep", Params: map[string]any{"ms": 1.0}},
		{ID: "g", Tool: "gate"},
	}, Edges: []flow.Edge{{Source: "early", Target: "e", On: "true"}, {Source: "early", Target: "g", On: "false"}}})
	en := e.engine(engine.Config{Queue: queue.Config{StopGrace: time.Millisecond}})
	start(t, en)
	r, err := en.StartRun(context.Background(), "p1", "loop", map[string]any{"items": items})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		done := 0
		for _, k := range childRuns(t, en, "p1", r.ID) {
			if k.Status == flow.RunSucceeded {
				done++
			}
		}
		if done >= 10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("children did not finish")
		}
		time.Sleep(5 * time.Millisecond)
	}
	stopEngine(t, en)
	before := map[string]bool{}
	for _, k := range childRuns(t, en, "p1", r.ID) {
		if k.Status == flow.RunSucceeded {
			before[k.ID] = true
		}
	}
	if len(before) == 60 {
		t.Fatal("the loop finished before the stop; the test proves nothing")
	}
	close(e.tt.release)
	en2 := e.engine(engine.Config{})
	start(t, en2)
	got := wait(t, en2, r.ID)
	if got.Status != flow.RunSucceeded {
		t.Fatalf("run %s: %s", got.Status, got.Error)
	}
	kids := childRuns(t, en2, "p1", r.ID)
	if len(kids) != 60 {
		t.Fatalf("%d child runs, want 60 (one per item)", len(kids))
	}
	for _, k := range kids {
		if k.Status != flow.RunSucceeded {
			t.Errorf("child %s %s", k.ID, k.Status)
		}
		if n := e.tt.invocations(k.ID, "e") + e.tt.invocations(k.ID, "g"); before[k.ID] && n != 1 {
			t.Errorf("finished child %s ran its node %d times", k.ID, n)
		}
	}
}

// TestCancelChildAlone: canceling one child run ends that child as
// canceled; with continueOnError its forEach reports the item failed and
// the parent goes on.
func TestCancelChildAlone(t *testing.T) {
	e := newEnv(t, "p1")
	e.tt.started = make(chan string, 16)
	e.tt.release = make(chan struct{})
	e.wfs.put("p1", &flow.Workflow{ID: "item", Name: "item", Nodes: []flow.Node{{ID: "g", Tool: "gate"}}})
	e.wfs.put("p1", &flow.Workflow{ID: "loop", Name: "loop", Nodes: []flow.Node{
		{ID: "each", Tool: "forEach", Params: map[string]any{"items": []any{0.0, 1.0}, "workflowId": "item", "concurrency": 2.0, "continueOnError": true}},
	}})
	en := e.engine(engine.Config{})
	start(t, en)
	r, err := en.StartRun(context.Background(), "p1", "loop", nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case <-e.tt.started:
		case <-time.After(30 * time.Second):
			t.Fatal("children did not start")
		}
	}
	var victim flow.Run
	for _, k := range childRuns(t, en, "p1", r.ID) {
		if *k.ItemIndex == 0 {
			victim = k
		}
	}
	if err := en.CancelRun(context.Background(), "p1", victim.ID); err != nil {
		t.Fatal(err)
	}
	if got := wait(t, en, victim.ID); got.Status != flow.RunCanceled {
		t.Fatalf("child %s", got.Status)
	}
	close(e.tt.release) // the other item finishes
	got := wait(t, en, r.ID)
	each := node(got, "each")
	if got.Status != flow.RunSucceeded || !strings.Contains(string(each.Output), `"failed":1`) || !strings.Contains(string(each.Output), `"status":"canceled"`) {
		t.Fatalf("parent %s (%s), each %s %s", got.Status, got.Error, each.Output, each.Error)
	}
}
