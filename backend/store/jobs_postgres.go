package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"
)

// The PostgreSQL side of the job queue. Several nodes claim from one table
// at the same time, so the claim locks what it takes (FOR UPDATE SKIP
// LOCKED: claimers pass each other's rows instead of waiting), and the
// per-project limit is made exact by a transaction-scoped advisory lock
// per project that claimers take in project order before they count the
// project's running jobs. Completed and canceled jobs leave the hot table
// for jobs_done in the transaction that finishes them.

// claimProjectsPG lists the projects with claimable jobs, restricted to
// the projects whose folder the claiming node $2 advertises (nodes.paths;
// ” or no row: every project).
const claimProjectsPG = `
WITH RECURSIVE g(p) AS (
  SELECT (SELECT min(project_id) FROM jobs WHERE state = 'available' AND run_at <= $1)
  UNION ALL
  SELECT (SELECT min(project_id) FROM jobs WHERE state = 'available' AND run_at <= $1 AND project_id > g.p)
  FROM g WHERE g.p IS NOT NULL
), seen AS (
  SELECT CASE WHEN paths = '' THEN NULL ELSE ARRAY(SELECT json_array_elements_text(paths::json)) END AS paths
  FROM nodes WHERE id = $2
)
SELECT g.p FROM g
WHERE g.p IS NOT NULL
  AND (NOT EXISTS (SELECT 1 FROM seen WHERE paths IS NOT NULL)
       OR g.p IN (SELECT pr.id FROM projects pr, seen WHERE pr.path = ANY(seen.paths)))
ORDER BY 1`

// lockProjectsPG takes the claim lock of each project, in order (two
// claimers never wait on each other in a cycle). The lock is released at
// commit, so the next claimer's count sees this one's claims.
const lockProjectsPG = `
SELECT count(pg_advisory_xact_lock(hashtextextended('flowweaver.claim:' || p, 0)))
FROM (SELECT p FROM unnest($1::text[]) AS p ORDER BY p) AS s`

// claimPG claims, for each listed project, its best available jobs up to
// the project's free slots, then the best $4 of those overall.
const claimPG = `
WITH cap AS (
  SELECT p.id AS project_id,
         $5::int - (SELECT count(*) FROM jobs r WHERE r.project_id = p.id AND r.state = 'running') AS free
  FROM unnest($1::text[]) AS p(id)
), cand AS (
  SELECT c.id, c.priority, c.run_at FROM cap
  CROSS JOIN LATERAL (
    SELECT j.id, j.priority, j.run_at FROM jobs j
    WHERE j.project_id = cap.project_id AND j.state = 'available' AND j.run_at <= $2
    ORDER BY j.priority DESC, j.run_at, j.id
    LIMIT GREATEST(LEAST(cap.free, $4::int), 0)
    FOR UPDATE OF j SKIP LOCKED
  ) c
), pick AS (
  SELECT id FROM cand ORDER BY priority DESC, run_at, id LIMIT $4
)
UPDATE jobs SET state = 'running', attempt = attempt + 1, owner = $3, lease_until = $6
FROM pick WHERE jobs.id = pick.id
RETURNING ` + jobColumnsQualified

const jobColumnsQualified = "jobs.id, jobs.project_id, jobs.kind, jobs.ref, jobs.payload, jobs.state, jobs.priority, jobs.run_at, jobs.attempt, jobs.errors, jobs.max_attempts, jobs.owner, jobs.lease_until, jobs.cancel_requested, jobs.last_error, jobs.created_at, jobs.finished_at, jobs.crashes"

// claimJobsPostgres is ClaimJobs on PostgreSQL: one transaction, three
// statements (four with a per-project limit), whatever the batch size.
func (db *DB) claimJobsPostgres(ctx context.Context, owner string, n int, now, leaseUntil time.Time, limit int) ([]JobRow, error) {
	var out []JobRow
	err := db.Write(ctx, func(tx *Tx) error {
		out = out[:0]
		if _, err := tx.Tx.ExecContext(ctx, `UPDATE jobs SET state = 'available' WHERE id IN (
			SELECT id FROM jobs WHERE state = 'retryable' AND run_at <= $1 FOR UPDATE SKIP LOCKED)`, unixMilli(now)); err != nil {
			return fmt.Errorf("promote retryable jobs: %w", err)
		}
		projects, err := queryStrings(ctx, tx.Tx, claimProjectsPG, unixMilli(now), owner)
		if err != nil {
			return fmt.Errorf("list claimable projects: %w", err)
		}
		if len(projects) == 0 {
			return nil
		}
		if limit > 0 {
			if _, err := tx.Tx.ExecContext(ctx, lockProjectsPG, projects); err != nil {
				return fmt.Errorf("lock projects for claim: %w", err)
			}
		} else {
			limit = 1 << 30
		}
		rows, err := tx.Tx.QueryContext(ctx, claimPG, projects, unixMilli(now), owner, n, limit, unixMilli(leaseUntil))
		if err != nil {
			return fmt.Errorf("claim jobs: %w", err)
		}
		out, err = scanJobs(rows)
		return err
	})
	// The same order as SQLite's one-at-a-time claim.
	slices.SortFunc(out, func(a, b JobRow) int {
		switch {
		case a.Priority != b.Priority:
			return b.Priority - a.Priority
		case !a.RunAt.Equal(b.RunAt):
			return a.RunAt.Compare(b.RunAt)
		}
		return int(a.ID - b.ID)
	})
	return out, err
}

func queryStrings(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// finishDonePG is FinishJob's UPDATE for a job that ends completed or
// canceled on PostgreSQL: the row leaves the hot table and lands in
// jobs_done with the same changes, in one statement, fenced the same way
// (no row: the lease is stale). Its parameters are the UPDATE's.
const finishDonePG = `WITH p AS (
  SELECT ?::text AS state, ?::int AS inc, ?::int AS crash, ?::text AS err1, ?::text AS err2, ?::bigint AS run_at, ?::bigint AS finished_at,
         ?::bigint AS id, ?::int AS attempt, ?::text AS owner
), moved AS (
  DELETE FROM jobs USING p WHERE jobs.id = p.id AND jobs.attempt = p.attempt AND jobs.owner = p.owner AND jobs.state = 'running'
  RETURNING ` + jobColumnsQualified + `
)
INSERT INTO jobs_done (` + jobColumns + `)
SELECT m.id, m.project_id, m.kind, m.ref, m.payload, p.state, m.priority, p.run_at, m.attempt, m.errors + p.inc, m.max_attempts, '', 0,
       m.cancel_requested, CASE WHEN p.err1 = '' THEN m.last_error ELSE p.err2 END, m.created_at, p.finished_at, m.crashes + p.crash
FROM moved m, p`

// extendLeasesPG is ExtendLeases on PostgreSQL. A plain UPDATE would lock
// the owner's running jobs in whatever order it finds them, while the
// engine's group commit holds some of them (finishing runs): two
// transactions waiting on each other, and PostgreSQL aborts one. Rows
// locked by someone else are passed over (SKIP LOCKED) and reported as
// held as of the statement's snapshot; their lease is extended at the
// next heartbeat, and if a rescuer was the one holding them, that
// heartbeat sees it.
const extendLeasesPG = `WITH locked AS (
  SELECT id FROM jobs WHERE owner = $2 AND state = 'running' FOR UPDATE SKIP LOCKED
), extended AS (
  UPDATE jobs SET lease_until = $1 FROM locked WHERE jobs.id = locked.id RETURNING jobs.id, jobs.attempt
)
SELECT id, attempt FROM extended
UNION ALL
SELECT id, attempt FROM jobs WHERE owner = $2 AND state = 'running' AND id NOT IN (SELECT id FROM locked)`

// moveJobDone moves a job that just became completed or canceled from the
// hot table to jobs_done (PostgreSQL only).
func (tx *Tx) moveJobDone(ctx context.Context, id int64) error {
	if _, err := tx.Tx.ExecContext(ctx, `WITH moved AS (DELETE FROM jobs WHERE id = $1 RETURNING `+jobColumns+`)
		INSERT INTO jobs_done (`+jobColumns+`) SELECT `+jobColumns+` FROM moved`, id); err != nil {
		return fmt.Errorf("archive job %d: %w", id, err)
	}
	return nil
}

// jobsTable is the FROM of queries that read any job: on PostgreSQL the
// hot table and the archive together.
func (db *DB) jobsTable() string {
	if db.dialect == Postgres {
		return "(SELECT " + jobColumns + " FROM jobs UNION ALL SELECT " + jobColumns + " FROM jobs_done) AS jobs"
	}
	return "jobs"
}
