package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnfinishedDescendantsPlanDoesNotScanRuns: finishing a run looks for
// its unfinished descendants inside the write transaction. The plan must
// walk runs_children and look runs up by primary key, never scan runs or
// runs_active (every queued/running run): that made each finish cost
// O(backlog) and capped durable runs/s under load.
func TestUnfinishedDescendantsPlanDoesNotScanRuns(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "fw.db"), Options{})
	all := queryPlan(t, db, unfinishedDescendantsSQL, "r-1")
	for _, bad := range []string{"SCAN runs", "SCAN r ", "runs_active", "BLOOM"} {
		if strings.Contains(all, bad) {
			t.Errorf("plan contains %q:\n%s", bad, all)
		}
	}
	if !strings.Contains(all, "runs_children") {
		t.Errorf("plan does not use runs_children:\n%s", all)
	}
}

// queryPlan is SQLite's EXPLAIN QUERY PLAN of q, one step per line.
func queryPlan(t *testing.T, db *DB, q string, args ...any) string {
	t.Helper()
	rows, err := db.Read().QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+q, args...)
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
	return all
}
