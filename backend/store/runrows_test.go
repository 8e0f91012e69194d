package store_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/store"
	"github.com/flowweaver/flowweaver/backend/store/storetest"
)

// TestConformanceRunRowsKeepEveryField: a top-level run (written without
// its control-flow columns, which keep their defaults) and a child
// re-run with every control-flow field set, item 0 included, read back
// as they were written, with their nodes pending in workflow order.
func TestConformanceRunRowsKeepEveryField(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, store.Options{})
	createProjects(t, db, "p1")
	zero := 0
	top := &store.RunRow{Run: flow.Run{ID: "r-top", ProjectID: "p1", WorkflowID: "w", Status: flow.RunQueued,
		Inputs: map[string]any{"n": 1.0}, Trigger: flow.ManualTrigger(), Workflow: json.RawMessage(`{"id":"w"}`)}, JobID: 7}
	child := &store.RunRow{Run: flow.Run{ID: "r-child", ProjectID: "p1", WorkflowID: "sub", Status: flow.RunQueued,
		ParentRunID: "r-top", ParentNodeID: "each", ItemIndex: &zero, Depth: 1, RerunOf: "r-old", RerunFrom: "b",
		Workflow: json.RawMessage(`{"id":"sub"}`)}}
	err := db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.InsertRun(ctx, top, []string{"a", "b", "c"}); err != nil {
			return err
		}
		return tx.InsertRun(ctx, child, []string{"x"})
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.GetRun(ctx, "p1", "r-top")
	if err != nil {
		t.Fatal(err)
	}
	if got.ParentRunID != "" || got.ParentNodeID != "" || got.ItemIndex != nil || got.Depth != 0 || got.RerunOf != "" || got.RerunFrom != "" ||
		got.JobID != 7 || got.Inputs["n"] != 1.0 || got.Trigger == nil || got.Trigger.Type != "manual" || string(got.Workflow) != `{"id":"w"}` {
		t.Fatalf("top-level run read back as %+v", got)
	}
	if len(got.Nodes) != 3 || got.Nodes[0].NodeID != "a" || got.Nodes[1].NodeID != "b" || got.Nodes[2].NodeID != "c" || got.Nodes[2].Status != flow.NodePending {
		t.Fatalf("top-level run's nodes: %+v", got.Nodes)
	}
	got, err = db.GetRun(ctx, "p1", "r-child")
	if err != nil {
		t.Fatal(err)
	}
	if got.ParentRunID != "r-top" || got.ParentNodeID != "each" || got.ItemIndex == nil || *got.ItemIndex != 0 || got.Depth != 1 ||
		got.RerunOf != "r-old" || got.RerunFrom != "b" || len(got.Nodes) != 1 || got.Nodes[0].NodeID != "x" {
		t.Fatalf("child run read back as %+v", got)
	}
}
