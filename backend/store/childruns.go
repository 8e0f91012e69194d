package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// ChildRun is what a parent node needs to know about one of its child
// runs to resume: which item it belongs to and whether it ended.
type ChildRun struct {
	ID        string
	ItemIndex int
	Status    flow.RunStatus
}

// ChildRuns lists the child runs a node of a parent run started, in item
// order (one per item; -1 for a workflow node).
func (db *DB) ChildRuns(ctx context.Context, parentRunID, parentNodeID string) ([]ChildRun, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, item_index, status FROM runs WHERE parent_run_id = ? AND parent_run_id != '' AND parent_node_id = ? ORDER BY item_index, created_at`,
		parentRunID, parentNodeID)
	if err != nil {
		return nil, fmt.Errorf("list child runs: %w", err)
	}
	defer rows.Close()
	var out []ChildRun
	for rows.Next() {
		var c ChildRun
		var st string
		if err := rows.Scan(&c.ID, &c.ItemIndex, &st); err != nil {
			return nil, fmt.Errorf("scan child run: %w", err)
		}
		c.Status = flow.RunStatus(st)
		out = append(out, c)
	}
	return out, rows.Err()
}

// unfinishedDescendantsSQL walks down from a run through runs_children.
// It runs in every run's finishing transaction, so its plan matters:
// with a plain JOIN the planner preferred to scan runs_active (every
// queued or running run of every project, thousands under load) and
// probe the CTE per row, which made finishing a run O(backlog) and took a
// third of the server's CPU under 16 clients starting runs. CROSS JOIN
// fixes the loop order: the (usually empty) descendants first, then one
// primary-key lookup each.
const unfinishedDescendantsSQL = `WITH RECURSIVE d(id, lvl) AS (
		SELECT id, 1 FROM runs WHERE parent_run_id = ? AND parent_run_id != ''
		UNION ALL SELECT r.id, d.lvl + 1 FROM runs r JOIN d ON r.parent_run_id = d.id WHERE r.parent_run_id != '')
		SELECT runs.id, runs.workflow_id FROM d CROSS JOIN runs ON runs.id = d.id
		WHERE runs.status IN ('queued', 'running') ORDER BY d.lvl DESC`

// UnfinishedDescendants returns the runs below runID (children,
// grandchildren, ...) that are still queued or running, deepest first,
// with their workflow ids: when a parent ends abnormally (canceled while
// queued, its job gave up) they can never continue and are ended too.
func (tx *Tx) UnfinishedDescendants(ctx context.Context, runID string) (ids, workflowIDs []string, err error) {
	q := unfinishedDescendantsSQL
	if tx.db.dialect == Postgres {
		// PostgreSQL has no CROSS JOIN ... ON; its planner needs no hint.
		q = strings.Replace(q, "CROSS JOIN", "JOIN", 1)
	}
	rows, err := tx.query(ctx, q, runID)
	if err != nil {
		return nil, nil, fmt.Errorf("list unfinished child runs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, wf string
		if err := rows.Scan(&id, &wf); err != nil {
			return nil, nil, fmt.Errorf("scan child run: %w", err)
		}
		ids = append(ids, id)
		workflowIDs = append(workflowIDs, wf)
	}
	return ids, workflowIDs, rows.Err()
}

// RunParent reads the parent run id and workflow id of a run (for the
// call chain in a recursion error).
func (db *DB) RunParent(ctx context.Context, runID string) (parentID, workflowID string, err error) {
	err = db.read.QueryRowContext(ctx, `SELECT parent_run_id, workflow_id FROM runs WHERE id = ?`, runID).Scan(&parentID, &workflowID)
	if err != nil {
		return "", "", fmt.Errorf("read run parent: %w", err)
	}
	return parentID, workflowID, nil
}

// RunState reads a run's status (outside a transaction).
func (db *DB) RunState(ctx context.Context, runID string) (flow.RunStatus, error) {
	var st string
	if err := db.read.QueryRowContext(ctx, `SELECT status FROM runs WHERE id = ?`, runID).Scan(&st); err != nil {
		return "", fmt.Errorf("read run status: %w", err)
	}
	return flow.RunStatus(st), nil
}
