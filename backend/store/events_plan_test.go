package store

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestWorkflowChannelReplayUsesItsIndex: events_workflow only holds
// workflow.* events (migration 0018), and the workflow channel's replay
// query must still find them through it rather than scanning the
// project's whole event log.
func TestWorkflowChannelReplayUsesItsIndex(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "fw.db"), Options{})
	q, args, err := db.eventsAfterSQL("workflow:w1")
	if err != nil {
		t.Fatal(err)
	}
	all := queryPlan(t, db, q, append(append([]any{"p1", 0}, args...), 10)...)
	if !strings.Contains(all, "events_workflow") {
		t.Errorf("the workflow channel's replay does not use events_workflow:\n%s", all)
	}
}
