package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Job states as stored in jobs.state. Package queue documents the
// transitions; the store only needs the names for its SQL.
const (
	jobAvailable = "available"
	jobRunning   = "running"
	jobRetryable = "retryable"
	jobCompleted = "completed"
	jobDead      = "dead"
	jobCanceled  = "canceled"
)

// JobRow is one row of the jobs table.
type JobRow struct {
	ID              int64
	ProjectID       string
	Kind            string
	Ref             string
	Payload         []byte
	State           string
	Priority        int
	RunAt           time.Time
	Attempt         int
	Errors          int
	MaxAttempts     int
	Owner           string
	LeaseUntil      time.Time
	CancelRequested bool
	LastError       string
	CreatedAt       time.Time
	FinishedAt      *time.Time
	Crashes         int // attempts that ended with their worker (rescued); not in Errors
}

// ErrStaleLease is returned when a job is finished or touched with an
// (id, attempt, owner) that is no longer the running claim: the fencing
// check that keeps a zombie worker from overwriting a newer claim.
var ErrStaleLease = errors.New("job lease is no longer held")

const jobColumns = "id, project_id, kind, ref, payload, state, priority, run_at, attempt, errors, max_attempts, owner, lease_until, cancel_requested, last_error, created_at, finished_at, crashes"

func scanJob(sc interface{ Scan(...any) error }) (JobRow, error) {
	var j JobRow
	var runAt, lease, created int64
	var finished sql.NullInt64
	var cancel int64
	if err := sc.Scan(&j.ID, &j.ProjectID, &j.Kind, &j.Ref, &j.Payload, &j.State, &j.Priority, &runAt,
		&j.Attempt, &j.Errors, &j.MaxAttempts, &j.Owner, &lease, &cancel, &j.LastError, &created, &finished, &j.Crashes); err != nil {
		return j, err
	}
	j.RunAt, j.LeaseUntil, j.CreatedAt = fromMilli(runAt), fromMilli(lease), fromMilli(created)
	j.CancelRequested = cancel != 0
	if finished.Valid {
		t := fromMilli(finished.Int64)
		j.FinishedAt = &t
	}
	return j, nil
}

// InsertJob enqueues j (state available, or running when j.State says so:
// a job inserted already claimed) in this transaction and sets j.ID.
// Enqueueing in the caller's transaction is what makes "the run exists"
// and "its job exists" one fact.
func (tx *Tx) InsertJob(ctx context.Context, j *JobRow) error {
	if j.RunAt.IsZero() {
		j.RunAt = tx.now
	}
	j.CreatedAt = tx.now
	var lease int64
	if j.State == jobRunning {
		// Inserted already claimed (a job handed to a free worker of the
		// process that enqueues it): attempt, owner and lease come with it.
		lease = unixMilli(j.LeaseUntil)
	} else {
		j.State, j.Attempt, j.Owner = jobAvailable, 0, ""
	}
	const insert = `INSERT INTO jobs(project_id, kind, ref, payload, state, priority, run_at, max_attempts, created_at, attempt, owner, lease_until) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`
	args := []any{j.ProjectID, j.Kind, j.Ref, j.Payload, j.State, j.Priority, unixMilli(j.RunAt), j.MaxAttempts, unixMilli(tx.now), j.Attempt, j.Owner, lease}
	if tx.db.dialect == Postgres {
		if err := tx.queryRow(ctx, insert+` RETURNING id`, args...).Scan(&j.ID); err != nil {
			return fmt.Errorf("insert job: %w", err)
		}
		return nil
	}
	// On SQLite the id is the rowid the insert just took: a plain
	// statement and LastInsertId cost less than RETURNING's result row.
	res, err := tx.exec(ctx, insert, args...)
	if err == nil {
		j.ID, err = res.LastInsertId()
	}
	if err != nil {
		return fmt.Errorf("insert job: %w", err)
	}
	if j.State == jobRunning {
		tx.claimed(j.ID, j.Attempt, j.Owner)
	}
	return nil
}

// claimOne takes the best available job of a project that is below its
// concurrency limit, in one UPDATE ... RETURNING. The recursive CTE is a
// skip-scan over jobs_available listing the projects that have work (cost
// per project, not per job), so a saturated project with thousands of
// queued jobs does not slow the claim down.
const claimOne = `
UPDATE jobs SET state = 'running', attempt = attempt + 1, owner = ?1, lease_until = ?2
WHERE id = (
  WITH RECURSIVE g(p) AS (
    SELECT (SELECT MIN(project_id) FROM jobs WHERE state = 'available')
    UNION ALL
    SELECT (SELECT MIN(project_id) FROM jobs WHERE state = 'available' AND project_id > g.p) FROM g WHERE g.p IS NOT NULL
  )
  SELECT c.id FROM g JOIN jobs c ON c.id = (
      SELECT j.id FROM jobs j WHERE j.project_id = g.p AND j.state = 'available' AND j.run_at <= ?3
      ORDER BY j.priority DESC, j.run_at, j.id LIMIT 1)
  WHERE g.p IS NOT NULL
    AND (SELECT COUNT(*) FROM jobs r WHERE r.project_id = g.p AND r.state = 'running') < ?4
  ORDER BY c.priority DESC, c.run_at, c.id LIMIT 1
)
RETURNING ` + jobColumns

// ClaimJobs claims up to n jobs for owner in one write transaction: it
// first makes retryable jobs whose backoff has passed available again, then
// claims one job at a time (each claim sees the previous ones, so the
// per-project limit holds). limit <= 0 means no per-project limit.
func (db *DB) ClaimJobs(ctx context.Context, owner string, n int, now, leaseUntil time.Time, limit int) ([]JobRow, error) {
	if db.dialect == Postgres {
		return db.claimJobsPostgres(ctx, owner, n, now, leaseUntil, limit)
	}
	var out []JobRow
	err := db.Write(ctx, func(tx *Tx) error {
		var err error
		out, err = tx.ClaimJobs(ctx, owner, n, now, leaseUntil, limit)
		return err
	})
	return out, err
}

// ClaimJobs is DB.ClaimJobs inside the caller's transaction (SQLite), so a
// claim can share a group commit with other writes. It only writes what a
// claim writes, so it can be retried alone.
func (tx *Tx) ClaimJobs(ctx context.Context, owner string, n int, now, leaseUntil time.Time, limit int) ([]JobRow, error) {
	if tx.db.dialect == Postgres {
		return nil, errors.New("claim jobs: a PostgreSQL claim runs in its own transaction (DB.ClaimJobs)")
	}
	if limit <= 0 {
		limit = 1 << 30
	}
	if _, err := tx.exec(ctx, `UPDATE jobs SET state = 'available' WHERE state = 'retryable' AND run_at <= ?`, unixMilli(now)); err != nil {
		return nil, fmt.Errorf("promote retryable jobs: %w", err)
	}
	var out []JobRow
	for len(out) < n {
		j, err := scanJob(tx.queryRow(ctx, claimOne, owner, unixMilli(leaseUntil), unixMilli(now), limit))
		if errors.Is(err, sql.ErrNoRows) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("claim job: %w", err)
		}
		tx.claimed(j.ID, j.Attempt, j.Owner)
		out = append(out, j)
	}
	return out, nil
}

// JobLeaseHeld reports, inside a transaction, whether (id, attempt, owner)
// is still the running claim. Writers that act for a job (the engine's
// checkpoints) call it first so a zombie never writes. On SQLite a claim
// the store knows to be current is answered from memory (claims.go).
func (tx *Tx) JobLeaseHeld(ctx context.Context, id int64, attempt int, owner string) (bool, error) {
	if tx.knownHeld(id, attempt, owner) {
		return true, nil
	}
	var one int
	err := tx.queryRow(ctx, `SELECT 1 FROM jobs WHERE id = ? AND attempt = ? AND owner = ? AND state = 'running'`, id, attempt, owner).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check job lease: %w", err)
	}
	tx.claimed(id, attempt, owner)
	return true, nil
}

// JobFinish describes how a running job ends (or goes back to the queue).
type JobFinish struct {
	State      string    // completed, retryable, dead, canceled or available
	RunAt      time.Time // for retryable and available
	CountErr   bool      // this attempt failed: errors + 1
	CountCrash bool      // this attempt's worker died (rescued): crashes + 1
	LastError  string
}

// FinishJob moves a running job to f.State, but only while (id, attempt,
// owner) is still the running claim; otherwise ErrStaleLease.
func (tx *Tx) FinishJob(ctx context.Context, id int64, attempt int, owner string, f JobFinish) error {
	inc, crash := 0, 0
	if f.CountErr {
		inc = 1
	}
	if f.CountCrash {
		crash = 1
	}
	var finished any
	switch f.State {
	case jobCompleted, jobDead, jobCanceled:
		finished = unixMilli(tx.now)
	}
	runAt := f.RunAt
	if runAt.IsZero() {
		runAt = tx.now
	}
	q := `UPDATE jobs SET state = ?, owner = '', lease_until = 0, errors = errors + ?, crashes = crashes + ?,
		last_error = CASE WHEN ? = '' THEN last_error ELSE ? END, run_at = ?, finished_at = ?
		WHERE id = ? AND attempt = ? AND owner = ? AND state = 'running'`
	if tx.db.dialect == Postgres && (f.State == jobCompleted || f.State == jobCanceled) {
		q = finishDonePG // the same change, written to jobs_done
	}
	res, err := tx.exec(ctx, q, f.State, inc, crash, f.LastError, f.LastError, unixMilli(runAt), finished, id, attempt, owner)
	if err != nil {
		return fmt.Errorf("finish job %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrStaleLease
	}
	tx.unclaimed(id)
	return nil
}

// ExtendLeases pushes lease_until of every running job of owner and returns
// the ids still held; a local job missing from the answer lost its lease.
func (db *DB) ExtendLeases(ctx context.Context, owner string, until time.Time) (map[int64]int, error) {
	held := map[int64]int{}
	err := db.Write(ctx, func(tx *Tx) error {
		q := `UPDATE jobs SET lease_until = ? WHERE owner = ? AND state = 'running' RETURNING id, attempt`
		if db.dialect == Postgres {
			q = extendLeasesPG
		}
		rows, err := tx.query(ctx, q, unixMilli(until), owner)
		if err != nil {
			return fmt.Errorf("extend leases: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var attempt int
			if err := rows.Scan(&id, &attempt); err != nil {
				return fmt.Errorf("extend leases: %w", err)
			}
			held[id] = attempt
		}
		return rows.Err()
	})
	return held, err
}

// RunningJobs lists the running jobs (for the rescuer) in this transaction.
func (tx *Tx) RunningJobs(ctx context.Context) ([]JobRow, error) {
	rows, err := tx.query(ctx, `SELECT `+jobColumns+` FROM jobs WHERE state = 'running' ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list running jobs: %w", err)
	}
	return scanJobs(rows)
}

// RequestJobCancel marks a job for cancellation. A job that is not running
// yet is canceled at once; a running one keeps running until its worker
// sees the flag. It returns the job's state after the call.
func (tx *Tx) RequestJobCancel(ctx context.Context, id int64) (string, error) {
	var state string
	err := tx.queryRow(ctx, `UPDATE jobs SET cancel_requested = 1,
		state = CASE WHEN state IN ('available', 'retryable') THEN 'canceled' ELSE state END,
		finished_at = CASE WHEN state IN ('available', 'retryable') THEN ? ELSE finished_at END
		WHERE id = ? RETURNING state`, unixMilli(tx.now), id).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) && tx.db.dialect == Postgres {
		// Finished jobs live in jobs_done: their state is final.
		err = tx.QueryRowContext(ctx, "SELECT state FROM jobs_done WHERE id = ?", id).Scan(&state)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("cancel job %d: %w", id, err)
	}
	if tx.db.dialect == Postgres && state == jobCanceled {
		if err := tx.moveJobDone(ctx, id); err != nil {
			return "", err
		}
	}
	return state, nil
}

// CancelRequestedJobs returns the running jobs of owner whose cancellation
// was requested, as id -> attempt. Workers poll it so a cancel written by
// another process reaches them.
func (db *DB) CancelRequestedJobs(ctx context.Context, owner string) (map[int64]int, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, attempt FROM jobs WHERE owner = ? AND state = 'running' AND cancel_requested = 1`, owner)
	if err != nil {
		return nil, fmt.Errorf("read canceled jobs: %w", err)
	}
	defer rows.Close()
	out := map[int64]int{}
	for rows.Next() {
		var id int64
		var attempt int
		if err := rows.Scan(&id, &attempt); err != nil {
			return nil, fmt.Errorf("read canceled jobs: %w", err)
		}
		out[id] = attempt
	}
	return out, rows.Err()
}

// JobCounts counts jobs per state for the states that stay small or matter
// for monitoring (available, running, retryable, dead). Completed and
// canceled jobs are not counted: they grow without bound until pruned.
func (db *DB) JobCounts(ctx context.Context) (map[string]int64, error) {
	var a, r, re, d int64
	err := db.read.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM jobs WHERE state = 'available'),
		(SELECT COUNT(*) FROM jobs WHERE state = 'running'),
		(SELECT COUNT(*) FROM jobs WHERE state = 'retryable'),
		(SELECT COUNT(*) FROM jobs WHERE state = 'dead')`).Scan(&a, &r, &re, &d)
	if err != nil {
		return nil, fmt.Errorf("count jobs: %w", err)
	}
	out := map[string]int64{jobAvailable: a, jobRunning: r, jobRetryable: re, jobDead: d}
	return out, nil
}

// JobFilter selects jobs for ListJobs.
type JobFilter struct {
	State     string // optional
	ProjectID string // optional
	AfterID   int64  // paging: jobs with id < AfterID (newest first); 0 = from the newest
	Limit     int
}

// ListJobs lists jobs newest first.
func (db *DB) ListJobs(ctx context.Context, f JobFilter) ([]JobRow, error) {
	var conds []string
	var args []any
	if f.State != "" {
		conds = append(conds, "state = ?")
		args = append(args, f.State)
	}
	if f.ProjectID != "" {
		conds = append(conds, "project_id = ?")
		args = append(args, f.ProjectID)
	}
	if f.AfterID > 0 {
		conds = append(conds, "id < ?")
		args = append(args, f.AfterID)
	}
	q := "SELECT " + jobColumns + " FROM " + db.jobsTable()
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ") //nolint:gosec // G202: conds are constant fragments with ? placeholders; values go in args
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, f.Limit)
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	return scanJobs(rows)
}

// Job reads one job; ok is false when it does not exist.
func (db *DB) Job(ctx context.Context, id int64) (JobRow, bool, error) {
	j, err := scanJob(db.read.QueryRowContext(ctx, "SELECT "+jobColumns+" FROM "+db.jobsTable()+" WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return j, false, nil
	}
	if err != nil {
		return j, false, fmt.Errorf("read job %d: %w", id, err)
	}
	return j, true, nil
}

// PruneJobs deletes completed and canceled jobs finished before t.
func (db *DB) PruneJobs(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := db.Write(ctx, func(tx *Tx) error {
		table := "jobs"
		if db.dialect == Postgres {
			table = "jobs_done"
		}
		res, err := tx.exec(ctx, `DELETE FROM `+table+` WHERE state IN ('completed', 'canceled') AND finished_at < ?`, unixMilli(before))
		if err != nil {
			return fmt.Errorf("prune jobs: %w", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}

// scanJobs reads every row of a jobs query and closes rows.
func scanJobs(rows *sql.Rows) ([]JobRow, error) {
	defer rows.Close()
	var out []JobRow
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("scan job: %w", err)
		}
		out = append(out, j)
	}
	return out, rows.Err()
}
