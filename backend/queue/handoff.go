package queue

import (
	"context"
	"fmt"

	"github.com/flowweaver/flowweaver/backend/store"
)

// Handoff is a worker of this pool reserved for a job that its enqueuer
// inserts already claimed (EnqueueClaimed) and starts right after its
// commit (Start). It saves what a job otherwise costs between its commit
// and its first step: waking the fetcher, its cool-down, and a claim
// transaction of its own.
//
// It is only offered when it changes nothing a user can see:
//   - Config.Handoff is set: the database belongs to this process alone
//     (SQLite behind the data-dir lock), so this pool's own count of
//     running jobs is the project's count, and the project limit holds;
//   - the pool runs and has a worker that no claimed or reserved job uses,
//     and that no waiting job needs: the last claim came up short (it took
//     every claimable job enqueued before it began), and each job enqueued
//     the ordinary way since keeps a free worker of its own for the
//     fetcher's next claim, and a slot of its project's limit. So a
//     hand-off never makes a waiting job
//     wait longer, and a backlog is worked by the fetcher in priority
//     order. (Counting, rather than waiting for a claim that finds the
//     queue empty, matters under a steady stream of starts: such a claim
//     may never come, and every start would then go through the fetcher.)
//     Jobs whose retry backoff runs out are found by the next poll, as
//     before.
//
// A crash between the commit and Start leaves a running job of a dead
// owner, which the rescuer takes back like any other interrupted job.
type Handoff struct {
	q         *Queue
	projectID string
	job       *Job
	done      bool
}

// Reserve takes a worker for a job of projectID, or returns nil when a
// hand-off is not possible now (see Handoff); the caller then enqueues the
// job the ordinary way. A non-nil Handoff must end with Start (after the
// commit) or Release (the transaction failed).
func (q *Queue) Reserve(projectID string) *Handoff {
	if !q.cfg.Handoff {
		return nil
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	// Jobs enqueued the ordinary way since the last short claim may wait
	// for the fetcher: each keeps a worker of its own.
	waiting := q.enqueued - q.base
	if q.state != 1 || !q.counted || len(q.active)+q.reserved+waiting >= q.cfg.Workers {
		return nil
	}
	if lim := q.cfg.ProjectLimit; lim > 0 {
		// The project's waiting jobs keep a slot of its limit each.
		n := q.reservedFor[projectID] + q.enqueuedFor[projectID] - q.baseFor[projectID]
		for _, a := range q.active {
			if a.job.ProjectID == projectID {
				n++
			}
		}
		if n >= lim {
			return nil
		}
	}
	q.reserved++
	if q.reservedFor == nil {
		q.reservedFor = map[string]int{}
	}
	q.reservedFor[projectID]++
	// Added while the pool runs (state 1, under mu): Stop's Wait comes
	// after it, as for the fetcher's jobs.
	q.jobs.Add(1)
	return &Handoff{q: q, projectID: projectID}
}

// EnqueueClaimed inserts j in tx already claimed by this pool under h:
// attempt 1, owned by this pool, with a lease. Run again (a retried
// transaction), it replaces the job h starts.
func (q *Queue) EnqueueClaimed(ctx context.Context, tx *store.Tx, j NewJob, h *Handoff) (int64, error) {
	if j.ProjectID != h.projectID || j.Kind == "" {
		return 0, fmt.Errorf("enqueue claimed job: project %q kind %q does not match its reservation", j.ProjectID, j.Kind)
	}
	now := q.cfg.Now()
	job, err := q.store.EnqueueClaimed(ctx, tx, q.withDefaults(j, now), q.cfg.Owner, now.Add(q.cfg.LeaseDuration))
	if err != nil {
		return 0, fmt.Errorf("enqueue claimed job: %w", err)
	}
	h.job = &job
	return job.ID, nil
}

// Start runs the handed-off job on its reserved worker. Call it once the
// transaction of EnqueueClaimed committed.
func (h *Handoff) Start() {
	q := h.q
	q.mu.Lock()
	if h.done || h.job == nil {
		q.mu.Unlock()
		h.Release()
		return
	}
	h.done = true
	q.unreserveLocked(h.projectID)
	j := h.job
	jctx, cancel := context.WithCancelCause(q.workCtx)
	q.active[j.ID] = &active{job: j, cancel: cancel, leaseUntil: j.LeaseUntil}
	q.mu.Unlock()
	q.workers.Go(func() { q.work(jctx, cancel, j) })
}

// Release gives the reserved worker back without running anything (the
// transaction did not commit). Calling it after Start does nothing.
func (h *Handoff) Release() { h.free(true) }

// Done gives the reserved worker back after its caller did the work
// itself, with no job (an engine's immediate run). Nothing was enqueued,
// so the pool is only woken when jobs may be waiting for a worker (one
// was enqueued the ordinary way since the last claim came up short, or
// the count is unknown), not for a claim that would find nothing. Calling it after Start or
// Release does nothing.
func (h *Handoff) Done() { h.free(false) }

// free unreserves the worker; wake wakes the pool even when no job waits.
func (h *Handoff) free(wake bool) {
	q := h.q
	q.mu.Lock()
	if h.done {
		q.mu.Unlock()
		return
	}
	h.done = true
	q.unreserveLocked(h.projectID)
	wake = wake || !q.counted || q.enqueued != q.base
	q.mu.Unlock()
	q.jobs.Done()
	if wake {
		q.Notify() // the worker is free for queued work
	}
}

func (q *Queue) unreserveLocked(projectID string) {
	q.reserved--
	if q.reservedFor[projectID]--; q.reservedFor[projectID] <= 0 {
		delete(q.reservedFor, projectID)
	}
}
