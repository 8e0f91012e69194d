package store_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/store"
	"github.com/flowweaver/flowweaver/backend/store/storetest"
)

// TestConformanceEndedRunReadsBackAsWritten: a run inserted already ended
// reads back with its status, error, times and every node's checkpoint,
// in workflow order, and is no active run; a run that has not ended, or
// one with control-flow fields, is refused and writes nothing.
func TestConformanceEndedRunReadsBackAsWritten(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, store.Options{})
	createProjects(t, db, "p1")
	began := time.UnixMilli(1_700_000_000_000).UTC()
	ended := began.Add(3 * time.Millisecond)
	aEnd, bStart := began.Add(time.Millisecond), began.Add(2*time.Millisecond)
	r := &store.RunRow{Run: flow.Run{ID: "r-ended", ProjectID: "p1", WorkflowID: "w", Status: flow.RunFailed, Error: "node b: boom",
		Inputs: map[string]any{"n": 1.0}, Trigger: flow.ManualTrigger(), Workflow: json.RawMessage(`{"id":"w"}`), StartedAt: &began, FinishedAt: &ended}}
	nodes := []flow.NodeRun{
		{NodeID: "a", Status: flow.NodeSucceeded, Attempt: 1, StartedAt: &began, FinishedAt: &aEnd, DurationMs: 1, Output: json.RawMessage(`{"x":1}`)},
		{NodeID: "b", Status: flow.NodeFailed, Attempt: 1, StartedAt: &bStart, FinishedAt: &ended, DurationMs: 1, Error: "boom"},
		{NodeID: "c", Status: flow.NodeSkipped, FinishedAt: &ended},
	}
	if err := db.Write(ctx, func(tx *store.Tx) error { return tx.InsertEndedRun(ctx, r, nodes) }); err != nil {
		t.Fatal(err)
	}
	got, err := db.GetRun(ctx, "p1", "r-ended")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != flow.RunFailed || got.Error != "node b: boom" || got.JobID != 0 || !got.CreatedAt.Equal(began) ||
		got.StartedAt == nil || !got.StartedAt.Equal(began) || got.FinishedAt == nil || !got.FinishedAt.Equal(ended) ||
		got.Inputs["n"] != 1.0 || got.Trigger == nil || got.Trigger.Type != "manual" || string(got.Workflow) != `{"id":"w"}` {
		t.Fatalf("ended run read back as %+v", got)
	}
	if len(got.Nodes) != 3 {
		t.Fatalf("nodes: %+v", got.Nodes)
	}
	for i, want := range nodes {
		n := got.Nodes[i]
		if n.NodeID != want.NodeID || n.Status != want.Status || n.Attempt != want.Attempt || n.DurationMs != want.DurationMs ||
			n.Error != want.Error || (n.StartedAt == nil) != (want.StartedAt == nil) || n.FinishedAt == nil || !n.FinishedAt.Equal(*want.FinishedAt) {
			t.Errorf("node %d read back as %+v, want %+v", i, n, want)
		}
	}
	if !strings.Contains(string(got.Nodes[0].Output), `"x"`) {
		t.Errorf("output of a: %s", got.Nodes[0].Output)
	}
	active, err := db.ActiveRuns(ctx, "p1", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(active) != 0 {
		t.Errorf("an ended run is listed as active: %+v", active)
	}

	running := &store.RunRow{Run: flow.Run{ID: "r-running", ProjectID: "p1", WorkflowID: "w", Status: flow.RunRunning, StartedAt: &began, FinishedAt: &ended}}
	child := &store.RunRow{Run: flow.Run{ID: "r-child", ProjectID: "p1", WorkflowID: "w", Status: flow.RunSucceeded, ParentRunID: "r-ended", StartedAt: &began, FinishedAt: &ended}}
	for _, bad := range []*store.RunRow{running, child} {
		if err := db.Write(ctx, func(tx *store.Tx) error { return tx.InsertEndedRun(ctx, bad, nil) }); err == nil {
			t.Errorf("run %s was inserted ended", bad.ID)
		}
		if _, err := db.GetRun(ctx, "p1", bad.ID); flow.ErrorCode(err) != flow.ENOTFOUND {
			t.Errorf("refused run %s: read gives %v, want not found", bad.ID, err)
		}
	}
}
