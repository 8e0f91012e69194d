package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// InsertEndedRun inserts a run that already ended, with the final
// checkpoint of every node, in order: what InsertRun followed by the
// run's starts, its nodes' ends and its finish would leave, written as
// two INSERTs instead of an INSERT and an UPDATE per row. The engine uses
// it for a run it executed before its start committed (an immediate run).
//
// r.Status must be terminal and r.StartedAt and r.FinishedAt set;
// created_at is r.StartedAt (the run was accepted when it started). A
// top-level run only: the control-flow columns keep their defaults.
func (tx *Tx) InsertEndedRun(ctx context.Context, r *RunRow, nodes []flow.NodeRun) error {
	if !r.Status.Terminal() || r.StartedAt == nil || r.FinishedAt == nil {
		return fmt.Errorf("insert ended run %s: status %q with start %v and end %v is not an ended run", r.ID, r.Status, r.StartedAt, r.FinishedAt)
	}
	if !r.plain() {
		return fmt.Errorf("insert ended run %s: only a top-level run that re-runs nothing can be inserted ended", r.ID)
	}
	inputs, trig, err := r.encodeJSON()
	if err != nil {
		return err
	}
	r.CreatedAt = *r.StartedAt
	started, finished := unixMilli(*r.StartedAt), unixMilli(*r.FinishedAt)
	if _, err := tx.exec(ctx,
		`INSERT INTO runs(id, project_id, workflow_id, status, inputs, workflow, error, created_at, started_at, finished_at, job_id, trigger_info) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`,
		r.ID, r.ProjectID, r.WorkflowID, string(r.Status), inputs, []byte(r.Workflow), r.Error, started, started, finished, r.JobID, trig); err != nil {
		return fmt.Errorf("insert ended run: %w", err)
	}
	if len(nodes) == 0 {
		return nil
	}
	// One multi-row INSERT, as InsertRun's: the text depends on the node
	// count alone (positions are literals), so it is prepared once per
	// count. The run id is ?1.
	var b strings.Builder
	b.WriteString("INSERT INTO node_runs(run_id, node_id, idx, status, attempt, started_at, finished_at, duration_ms, output, error) VALUES ")
	args := make([]any, 0, 1+8*len(nodes))
	args = append(args, r.ID)
	for i, n := range nodes {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "(?1,?,%d,?,?,?,?,?,?,?)", i)
		args = append(args, n.NodeID, string(n.Status), n.Attempt, milliOrNil(n.StartedAt), milliOrNil(n.FinishedAt), n.DurationMs, []byte(n.Output), n.Error)
	}
	if _, err := tx.exec(ctx, b.String(), args...); err != nil {
		return fmt.Errorf("insert ended node runs: %w", err)
	}
	return nil
}

// milliOrNil is t in Unix milliseconds, or NULL.
func milliOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return unixMilli(*t)
}
