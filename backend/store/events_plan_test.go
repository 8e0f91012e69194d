package store

import (
	"context"
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
	rows, err := db.Read().QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+q, append(append([]any{"p1", 0}, args...), 10)...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	all := strings.Join(plan, "\n")
	t.Logf("plan:\n%s", all)
	if !strings.Contains(all, "events_workflow") {
		t.Errorf("the workflow channel's replay does not use events_workflow:\n%s", all)
	}
}
