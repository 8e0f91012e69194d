package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// RunRow is a run with the id of its queue job.
type RunRow struct {
	flow.Run
	JobID int64
}

// InsertRun inserts the run (its Workflow snapshot and Inputs included) and
// one pending node_runs row per node id, in order.
func (tx *Tx) InsertRun(ctx context.Context, r *RunRow, nodeIDs []string) error {
	inputs, trig, err := r.encodeJSON()
	if err != nil {
		return err
	}
	r.CreatedAt = tx.now
	item := -1
	if r.ItemIndex != nil {
		item = *r.ItemIndex
	}
	if err := tx.insertRunRow(ctx, r, inputs, trig, item); err != nil {
		return fmt.Errorf("insert run: %w", err)
	}
	if len(nodeIDs) == 0 {
		return nil
	}
	// One multi-row INSERT: a statement per node would dominate StartRun
	// for wide workflows. The run id is bound once (?1, first in the text
	// so the plain ? of the node ids number on from 2: the driver looks
	// the name of a numbered parameter up) and each node's position is a
	// literal: the statement text depends on the node count alone, so it
	// is prepared once per count.
	var b strings.Builder
	b.WriteString("INSERT INTO node_runs(run_id, node_id, idx, status) VALUES ")
	args := make([]any, 0, 1+len(nodeIDs))
	args = append(args, r.ID)
	for i, id := range nodeIDs {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "(?1,?,%d,'pending')", i)
		args = append(args, id)
	}
	if _, err := tx.exec(ctx, b.String(), args...); err != nil {
		return fmt.Errorf("insert node runs: %w", err)
	}
	return nil
}

// insertRunRow inserts the runs row. A top-level run that re-runs
// nothing (most runs) leaves the control-flow columns to their defaults
// instead of binding six empty values: every bound argument costs a copy
// into C memory and a mutex round trip in the driver.
func (tx *Tx) insertRunRow(ctx context.Context, r *RunRow, inputs, trig []byte, item int) error {
	if r.plain() {
		_, err := tx.exec(ctx,
			`INSERT INTO runs(id, project_id, workflow_id, status, inputs, workflow, created_at, job_id, trigger_info) VALUES (?,?,?,?,?,?,?,?,?)`,
			r.ID, r.ProjectID, r.WorkflowID, string(r.Status), inputs, []byte(r.Workflow), unixMilli(tx.now), r.JobID, trig)
		return err
	}
	_, err := tx.exec(ctx,
		`INSERT INTO runs(id, project_id, workflow_id, status, inputs, workflow, created_at, job_id, parent_run_id, parent_node_id, item_index, depth, rerun_of, rerun_from, trigger_info) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		r.ID, r.ProjectID, r.WorkflowID, string(r.Status), inputs, []byte(r.Workflow), unixMilli(tx.now), r.JobID,
		r.ParentRunID, r.ParentNodeID, item, r.Depth, r.RerunOf, r.RerunFrom, trig)
	return err
}

// encodeJSON encodes the run's inputs ({} for none) and trigger (nil for
// none) for their columns.
func (r *RunRow) encodeJSON() (inputs, trig []byte, err error) {
	inputs = []byte("{}")
	if r.Inputs != nil {
		if inputs, err = json.Marshal(r.Inputs); err != nil {
			return nil, nil, flow.Errorf(flow.EINVALID, "run inputs are not JSON: %v", err)
		}
	}
	if r.Trigger != nil {
		if trig, err = json.Marshal(r.Trigger); err != nil {
			return nil, nil, fmt.Errorf("encode run trigger: %w", err)
		}
	}
	return inputs, trig, nil
}

// plain reports whether r is a top-level run that re-runs nothing: its
// control-flow columns keep their defaults.
func (r *RunRow) plain() bool {
	return r.ParentRunID == "" && r.ParentNodeID == "" && r.ItemIndex == nil && r.Depth == 0 && r.RerunOf == "" && r.RerunFrom == ""
}

// SetRunJob records the queue job of a run.
func (tx *Tx) SetRunJob(ctx context.Context, runID string, jobID int64) error {
	if _, err := tx.exec(ctx, `UPDATE runs SET job_id = ? WHERE id = ?`, jobID, runID); err != nil {
		return fmt.Errorf("set run job: %w", err)
	}
	return nil
}

// SetRunStarted moves a run to running and stamps started_at once.
func (tx *Tx) SetRunStarted(ctx context.Context, runID string) error {
	if _, err := tx.exec(ctx, `UPDATE runs SET status = 'running', started_at = COALESCE(started_at, ?) WHERE id = ?`,
		unixMilli(tx.now), runID); err != nil {
		return fmt.Errorf("start run: %w", err)
	}
	return nil
}

// FinishRun gives the run its terminal status. Nodes still pending or
// running become pendingTo (canceled or skipped); "" leaves them.
func (tx *Tx) FinishRun(ctx context.Context, runID string, status flow.RunStatus, errMsg string, pendingTo flow.NodeStatus) error {
	return tx.finishRun(ctx, runID, status, errMsg, pendingTo, false)
}

// finishRun is FinishRun; startedNow also stamps started_at (if unset),
// in the same UPDATE.
func (tx *Tx) finishRun(ctx context.Context, runID string, status flow.RunStatus, errMsg string, pendingTo flow.NodeStatus, startedNow bool) error {
	now := unixMilli(tx.now)
	var started any // NULL leaves started_at as it is
	if startedNow {
		started = now
	}
	if _, err := tx.exec(ctx, `UPDATE runs SET status = ?, error = ?, finished_at = ?, started_at = COALESCE(started_at, ?) WHERE id = ?`,
		string(status), errMsg, now, started, runID); err != nil {
		return fmt.Errorf("finish run: %w", err)
	}
	return tx.finishPendingNodes(ctx, runID, pendingTo)
}

// finishPendingNodes moves the nodes of a finished run that never ended to
// pendingTo ("" leaves them).
func (tx *Tx) finishPendingNodes(ctx context.Context, runID string, pendingTo flow.NodeStatus) error {
	if pendingTo == "" {
		return nil
	}
	if _, err := tx.exec(ctx, `UPDATE node_runs SET status = ?, finished_at = COALESCE(finished_at, ?) WHERE run_id = ? AND status IN ('pending', 'running')`,
		string(pendingTo), unixMilli(tx.now), runID); err != nil {
		return fmt.Errorf("finish run nodes: %w", err)
	}
	return nil
}

// FinishRunStartedNow is FinishRun for a run whose start is written in
// the same transaction (it ended within its first step): the one UPDATE
// also stamps started_at, instead of a SetRunStarted before it.
func (tx *Tx) FinishRunStartedNow(ctx context.Context, runID string, status flow.RunStatus, errMsg string, pendingTo flow.NodeStatus) error {
	return tx.finishRun(ctx, runID, status, errMsg, pendingTo, true)
}

// RunStatus reads a run's status and job inside the transaction.
func (tx *Tx) RunStatus(ctx context.Context, projectID, runID string) (flow.RunStatus, int64, error) {
	q := `SELECT status, job_id FROM runs WHERE id = ?`
	args := []any{runID}
	if projectID != "" {
		q += ` AND project_id = ?`
		args = append(args, projectID)
	}
	var st string
	var job int64
	err := tx.queryRow(ctx, q, args...).Scan(&st, &job)
	if errors.Is(err, sql.ErrNoRows) {
		return "", 0, flow.Errorf(flow.ENOTFOUND, "run %q not found", runID)
	}
	if err != nil {
		return "", 0, fmt.Errorf("read run status: %w", err)
	}
	return flow.RunStatus(st), job, nil
}

// StartNode checkpoints that a node began its attempt.
func (tx *Tx) StartNode(ctx context.Context, runID, nodeID string, attempt int) error {
	if _, err := tx.exec(ctx, `UPDATE node_runs SET status = 'running', attempt = ?, started_at = ?, finished_at = NULL, error = '' WHERE run_id = ? AND node_id = ?`,
		attempt, unixMilli(tx.now), runID, nodeID); err != nil {
		return fmt.Errorf("start node %s: %w", nodeID, err)
	}
	return nil
}

// SetNodeReason records why a node's current attempt runs (an earlier one
// was interrupted).
func (tx *Tx) SetNodeReason(ctx context.Context, runID, nodeID, reason string) error {
	if _, err := tx.exec(ctx, `UPDATE node_runs SET reason = ? WHERE run_id = ? AND node_id = ?`, reason, runID, nodeID); err != nil {
		return fmt.Errorf("set reason of node %s: %w", nodeID, err)
	}
	return nil
}

// FailRunningNodes fails the nodes of a run still recorded as running
// with msg and returns their ids: used when a run gives up while nodes
// ran, whose outcome nobody recorded (they were not canceled).
func (tx *Tx) FailRunningNodes(ctx context.Context, runID, msg string) ([]string, error) {
	rows, err := tx.query(ctx, `UPDATE node_runs SET status = 'failed', error = ?, finished_at = ? WHERE run_id = ? AND status = 'running' RETURNING node_id`,
		msg, unixMilli(tx.now), runID)
	if err != nil {
		return nil, fmt.Errorf("fail running nodes: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// FinishNode checkpoints a node's end: status, attempt, duration, the full
// output (JSON, may be nil) and the error.
func (tx *Tx) FinishNode(ctx context.Context, runID, nodeID string, status flow.NodeStatus, attempt int, durationMs int64, output []byte, errMsg string) error {
	return tx.finishNode(ctx, runID, nodeID, status, attempt, durationMs, output, errMsg, false)
}

// finishNode is FinishNode; startedNow also sets started_at (the end
// minus the duration) in the same UPDATE.
func (tx *Tx) finishNode(ctx context.Context, runID, nodeID string, status flow.NodeStatus, attempt int, durationMs int64, output []byte, errMsg string, startedNow bool) error {
	now := unixMilli(tx.now)
	var started any // NULL leaves started_at as it is
	if startedNow {
		started = now - durationMs
	}
	if _, err := tx.exec(ctx, `UPDATE node_runs SET status = ?, attempt = ?, duration_ms = ?, output = ?, error = ?, started_at = COALESCE(?, started_at), finished_at = ? WHERE run_id = ? AND node_id = ?`,
		string(status), attempt, durationMs, output, errMsg, started, now, runID, nodeID); err != nil {
		return fmt.Errorf("finish node %s: %w", nodeID, err)
	}
	return nil
}

// FinishNodeStartedNow is FinishNode for a node whose start is written in
// the same transaction (it ended before its start record was due): one
// UPDATE instead of StartNode and FinishNode. started_at is the end
// minus the node's duration.
func (tx *Tx) FinishNodeStartedNow(ctx context.Context, runID, nodeID string, status flow.NodeStatus, attempt int, durationMs int64, output []byte, errMsg string) error {
	return tx.finishNode(ctx, runID, nodeID, status, attempt, durationMs, output, errMsg, true)
}

// SetNodeStatus sets the status of nodes that end without running (skipped,
// canceled).
func (tx *Tx) SetNodeStatus(ctx context.Context, runID string, status flow.NodeStatus, nodeIDs ...string) error {
	for _, id := range nodeIDs {
		if _, err := tx.exec(ctx, `UPDATE node_runs SET status = ?, finished_at = ? WHERE run_id = ? AND node_id = ?`,
			string(status), unixMilli(tx.now), runID, id); err != nil {
			return fmt.Errorf("set node %s %s: %w", id, status, err)
		}
	}
	return nil
}

const runColumns = "id, project_id, workflow_id, status, inputs, error, created_at, started_at, finished_at, job_id, parent_run_id, parent_node_id, item_index, depth, rerun_of, rerun_from, trigger_info"

func scanRun(sc interface{ Scan(...any) error }, r *RunRow) error {
	var st string
	var inputs []byte
	var created int64
	var started, finished sql.NullInt64
	var item int
	var trig []byte
	if err := sc.Scan(&r.ID, &r.ProjectID, &r.WorkflowID, &st, &inputs, &r.Error, &created, &started, &finished, &r.JobID,
		&r.ParentRunID, &r.ParentNodeID, &item, &r.Depth, &r.RerunOf, &r.RerunFrom, &trig); err != nil {
		return err
	}
	// Runs from before migration 0009 have no trigger: they were manual.
	r.Trigger = flow.ManualTrigger()
	if len(trig) > 0 {
		if err := json.Unmarshal(trig, r.Trigger); err != nil {
			return fmt.Errorf("decode run trigger: %w", err)
		}
	}
	if item >= 0 {
		r.ItemIndex = &item
	}
	r.Status = flow.RunStatus(st)
	r.CreatedAt = fromMilli(created)
	r.StartedAt, r.FinishedAt = nullTime(started), nullTime(finished)
	if len(inputs) > 0 && string(inputs) != "{}" {
		if err := json.Unmarshal(inputs, &r.Inputs); err != nil {
			return fmt.Errorf("decode run inputs: %w", err)
		}
	}
	return nil
}

func nullTime(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMilli(v.Int64)
	return &t
}

// GetRun reads a run with its workflow snapshot and every node (full
// outputs). projectID "" matches any project.
func (db *DB) GetRun(ctx context.Context, projectID, runID string) (*RunRow, error) {
	q := "SELECT " + runColumns + ", workflow FROM runs WHERE id = ?"
	args := []any{runID}
	if projectID != "" {
		q += " AND project_id = ?"
		args = append(args, projectID)
	}
	r := &RunRow{}
	var wf []byte
	st, err := db.readStmt(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("read run: %w", err)
	}
	err = scanRun(rowWithExtra{st.QueryRowContext(ctx, args...), &wf}, r)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, flow.Errorf(flow.ENOTFOUND, "run %q not found", runID)
	}
	if err != nil {
		return nil, fmt.Errorf("read run: %w", err)
	}
	r.Workflow = wf
	nodes, err := db.nodeRuns(ctx, []string{runID})
	if err != nil {
		return nil, err
	}
	r.Nodes = nodes[runID]
	return r, nil
}

// rowWithExtra scans the run columns plus one trailing column.
type rowWithExtra struct {
	row   *sql.Row
	extra any
}

func (r rowWithExtra) Scan(dest ...any) error { return r.row.Scan(append(dest, r.extra)...) }

// nodeRuns reads the nodes of the given runs, in workflow order.
func (db *DB) nodeRuns(ctx context.Context, runIDs []string) (map[string][]flow.NodeRun, error) {
	out := map[string][]flow.NodeRun{}
	if len(runIDs) == 0 {
		return out, nil
	}
	q := `SELECT run_id, node_id, status, attempt, started_at, finished_at, duration_ms, output, error, reason FROM node_runs WHERE run_id IN (?` +
		strings.Repeat(",?", len(runIDs)-1) + `) ORDER BY run_id, idx`
	args := make([]any, len(runIDs))
	for i, id := range runIDs {
		args[i] = id
	}
	var rows *sql.Rows
	st, err := db.readStmt(ctx, q)
	if err == nil {
		rows, err = st.QueryContext(ctx, args...)
	}
	if err != nil {
		return nil, fmt.Errorf("read node runs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var runID, st string
		var n flow.NodeRun
		var started, finished sql.NullInt64
		var output []byte
		if err := rows.Scan(&runID, &n.NodeID, &st, &n.Attempt, &started, &finished, &n.DurationMs, &output, &n.Error, &n.Reason); err != nil {
			return nil, fmt.Errorf("scan node run: %w", err)
		}
		n.Status = flow.NodeStatus(st)
		n.StartedAt, n.FinishedAt = nullTime(started), nullTime(finished)
		if len(output) > 0 {
			n.Output = output
		}
		out[runID] = append(out[runID], n)
	}
	return out, rows.Err()
}

// runCursor is the position after the last run of a page.
type runCursor struct {
	created int64
	id      string
}

func encodeRunCursor(c runCursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.created, 10) + ":" + c.id))
}

func decodeRunCursor(s string) (runCursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		ms, id, ok := strings.Cut(string(b), ":")
		if n, perr := strconv.ParseInt(ms, 10, 64); ok && perr == nil && id != "" {
			return runCursor{n, id}, nil
		}
	}
	return runCursor{}, flow.Errorf(flow.EINVALID, "invalid cursor %q", s)
}

// ListRuns lists runs of a project newest first, without nodes and
// snapshots, with keyset paging.
func (db *DB) ListRuns(ctx context.Context, f flow.RunFilter) (flow.RunPage, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	if f.Limit > 500 {
		f.Limit = 500
	}
	q, args, err := listRunsSQL(f)
	if err != nil {
		return flow.RunPage{}, err
	}
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return flow.RunPage{}, fmt.Errorf("list runs: %w", err)
	}
	defer rows.Close()
	page := flow.RunPage{Runs: []flow.Run{}}
	for rows.Next() {
		var r RunRow
		if err := scanRun(rows, &r); err != nil {
			return flow.RunPage{}, fmt.Errorf("scan run: %w", err)
		}
		page.Runs = append(page.Runs, r.Run)
	}
	if err := rows.Err(); err != nil {
		return flow.RunPage{}, fmt.Errorf("list runs: %w", err)
	}
	if len(page.Runs) > f.Limit {
		page.Runs = page.Runs[:f.Limit]
		last := page.Runs[len(page.Runs)-1]
		page.Next = encodeRunCursor(runCursor{unixMilli(last.CreatedAt), last.ID})
	}
	return page, nil
}

// listRunsSQL is ListRuns' query for f (f.Limit set) and its arguments.
// Every filter reads runs_project or runs_workflow newest first, with no
// sort (TestListRunsPlansUseAnIndex).
func listRunsSQL(f flow.RunFilter) (string, []any, error) {
	conds := []string{"project_id = ?"}
	args := []any{f.ProjectID}
	if f.WorkflowID != "" {
		conds = append(conds, "workflow_id = ?")
		args = append(args, f.WorkflowID)
	}
	if f.Status != "" {
		conds = append(conds, "status = ?")
		args = append(args, string(f.Status))
	}
	if f.ParentRunID != "" {
		conds = append(conds, "parent_run_id = ? AND parent_run_id != ''") // the partial index
		args = append(args, f.ParentRunID)
	}
	if f.ParentNodeID != "" {
		conds = append(conds, "parent_node_id = ?")
		args = append(args, f.ParentNodeID)
	}
	if f.TopLevel {
		conds = append(conds, "parent_run_id = ''")
	}
	if f.Cursor != "" {
		c, err := decodeRunCursor(f.Cursor)
		if err != nil {
			return "", nil, err
		}
		conds = append(conds, "(created_at < ? OR (created_at = ? AND id < ?))")
		args = append(args, c.created, c.created, c.id)
	}
	args = append(args, f.Limit+1)
	// conds are constant fragments with ? placeholders; values go in args.
	return "SELECT " + runColumns + " FROM runs WHERE " + strings.Join(conds, " AND ") + //nolint:gosec // G202: see above
		" ORDER BY created_at DESC, id DESC LIMIT ?", args, nil
}

// ActiveRuns returns the queued and running runs of a project, oldest
// first, with their nodes (full outputs; callers cut previews). At most
// limit runs.
func (db *DB) ActiveRuns(ctx context.Context, projectID string, limit int) ([]flow.Run, error) {
	rows, err := db.read.QueryContext(ctx, "SELECT "+runColumns+" FROM runs WHERE project_id = ? AND status IN ('queued', 'running') ORDER BY created_at LIMIT ?", projectID, limit)
	if err != nil {
		return nil, fmt.Errorf("list active runs: %w", err)
	}
	var runs []flow.Run
	var ids []string
	for rows.Next() {
		var r RunRow
		if err := scanRun(rows, &r); err != nil {
			rows.Close()
			return nil, fmt.Errorf("scan run: %w", err)
		}
		runs = append(runs, r.Run)
		ids = append(ids, r.ID)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list active runs: %w", err)
	}
	nodes, err := db.nodeRuns(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i := range runs {
		runs[i].Nodes = nodes[runs[i].ID]
	}
	if runs == nil {
		runs = []flow.Run{}
	}
	return runs, nil
}

// ProjectForRun reads a project with a cached statement (the engine reads
// it for every run it executes).
func (db *DB) ProjectForRun(ctx context.Context, id string) (*flow.Project, error) {
	st, err := db.readStmt(ctx, "SELECT id, name, path, created_at, trusted FROM projects WHERE id = ?")
	if err != nil {
		return nil, fmt.Errorf("read project: %w", err)
	}
	p := &flow.Project{}
	var created int64
	err = st.QueryRowContext(ctx, id).Scan(&p.ID, &p.Name, &p.Path, &created, &p.Trusted)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, flow.Errorf(flow.ENOTFOUND, "project %q not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("read project: %w", err)
	}
	p.CreatedAt = fromMilli(created)
	return p, nil
}

const activeRunCountsSQL = "SELECT project_id, COUNT(*) FROM runs WHERE status IN ('queued', 'running') GROUP BY project_id"

// ActiveRunCounts returns the number of queued and running runs of every
// project that has any, in one indexed query: the cheap poll background
// tabs use (GET /api/projects) must not load runs and node outputs.
func (db *DB) ActiveRunCounts(ctx context.Context) (map[string]int, error) {
	rows, err := db.read.QueryContext(ctx, activeRunCountsSQL)
	if err != nil {
		return nil, fmt.Errorf("count active runs: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("scan active run count: %w", err)
		}
		out[id] = n
	}
	return out, rows.Err()
}

const lastRunTimesSQL = "SELECT project_id, MAX(created_at) FROM runs GROUP BY project_id"

// LastRunTimes returns when each project's newest run was created, in one
// indexed query: a background tab whose project gained a run since its
// last poll (a trigger fired, a short run it would otherwise never see
// active) connects and replays it.
func (db *DB) LastRunTimes(ctx context.Context) (map[string]time.Time, error) {
	rows, err := db.read.QueryContext(ctx, lastRunTimesSQL)
	if err != nil {
		return nil, fmt.Errorf("read last run times: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var id string
		var ms int64
		if err := rows.Scan(&id, &ms); err != nil {
			return nil, fmt.Errorf("scan last run time: %w", err)
		}
		out[id] = fromMilli(ms)
	}
	return out, rows.Err()
}
