package store

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// TestListRunsPlansUseAnIndex: migration 0019 turned runs_project and
// runs_workflow ascending (a new run is an append, not a left-edge
// insert). Every filter of the runs list must still read newest first
// straight from an index: no scan of the runs table and no sort of the
// matching runs, which would make a page cost O(project's runs).
func TestListRunsPlansUseAnIndex(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "fw.db"), Options{})
	cursor := encodeRunCursor(runCursor{created: 1700000000000, id: "r_1"})
	for _, tc := range []struct {
		name  string
		f     flow.RunFilter
		index string
	}{
		{"project", flow.RunFilter{ProjectID: "p1"}, "runs_project"},
		{"project, next page", flow.RunFilter{ProjectID: "p1", Cursor: cursor}, "runs_project"},
		{"project, status", flow.RunFilter{ProjectID: "p1", Status: flow.RunFailed}, "runs_project"},
		{"project, top level", flow.RunFilter{ProjectID: "p1", TopLevel: true}, "runs_project"},
		{"workflow", flow.RunFilter{ProjectID: "p1", WorkflowID: "w1"}, "runs_workflow"},
		{"workflow, next page", flow.RunFilter{ProjectID: "p1", WorkflowID: "w1", Cursor: cursor}, "runs_workflow"},
		{"workflow, status, top level", flow.RunFilter{ProjectID: "p1", WorkflowID: "w1", Status: flow.RunSucceeded, TopLevel: true}, "runs_workflow"},
		// Child runs are listed through runs_project too (the planner
		// prefers the order to the partial runs_children, before 0019 as
		// after): newest first, filtered by parent.
		{"children", flow.RunFilter{ProjectID: "p1", ParentRunID: "r1"}, "runs_project"},
		{"children of a node", flow.RunFilter{ProjectID: "p1", ParentRunID: "r1", ParentNodeID: "n1"}, "runs_project"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.f.Limit = 50
			q, args, err := listRunsSQL(tc.f)
			if err != nil {
				t.Fatal(err)
			}
			plan := queryPlan(t, db, q, args...)
			if !strings.Contains(plan, "USING INDEX "+tc.index) {
				t.Errorf("plan does not read %s:\n%s", tc.index, plan)
			}
			if strings.Contains(plan, "TEMP B-TREE") {
				t.Errorf("plan sorts the matching runs instead of reading %s in order:\n%s", tc.index, plan)
			}
		})
	}
}

// TestRunAggregatesPlansUseAnIndex: the cheap polls of background tabs
// (last run time and active runs per project) stay index-only reads.
func TestRunAggregatesPlansUseAnIndex(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "fw.db"), Options{})
	for q, index := range map[string]string{
		lastRunTimesSQL:    "COVERING INDEX runs_project",
		activeRunCountsSQL: "runs_active",
	} {
		plan := queryPlan(t, db, q)
		if !strings.Contains(plan, index) {
			t.Errorf("plan of %q does not use %s:\n%s", q, index, plan)
		}
	}
}
