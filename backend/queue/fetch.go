package queue

import (
	"context"
	"maps"
	"time"
)

// fetchLoop claims jobs while workers are free.
func (q *Queue) fetchLoop(ctx context.Context) {
	defer q.loops.Done()
	defer close(q.fetched)
	poll := time.NewTicker(q.cfg.PollInterval)
	defer poll.Stop()
	cool := time.NewTimer(0)
	defer cool.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-q.wake:
		case <-poll.C:
		}
		// Let workers that free up right now join this claim.
		select {
		case <-ctx.Done():
			return
		case <-cool.C:
		}
		q.fetch(ctx)
		cool.Reset(q.cfg.FetchCooldown)
	}
}

// fetch claims as many jobs as there are free workers, in one transaction.
func (q *Queue) fetch(ctx context.Context) {
	q.mu.Lock()
	free := q.cfg.Workers - len(q.active) - q.reserved
	enqueued, enqueuedFor := q.enqueued, maps.Clone(q.enqueuedFor)
	q.mu.Unlock()
	if free <= 0 || ctx.Err() != nil {
		return
	}
	now := q.cfg.Now()
	jobs, err := q.store.Claim(ctx, q.cfg.Owner, free, now, now.Add(q.cfg.LeaseDuration), q.cfg.ProjectLimit)
	if err != nil {
		if ctx.Err() == nil {
			q.log.Error("claim jobs", "err", err)
		}
		return
	}
	q.mu.Lock()
	if len(jobs) < free {
		// Every claimable job enqueued before this claim began is taken;
		// the ones enqueued since may still wait (handoff.go counts them).
		q.counted, q.base, q.baseFor = true, enqueued, enqueuedFor
		for p, n := range q.enqueuedFor {
			if n == q.baseFor[p] { // none of the project's jobs waits: forget it
				delete(q.enqueuedFor, p)
				delete(q.baseFor, p)
			}
		}
	} else {
		q.counted = false // there may be more
	}
	q.mu.Unlock()
	for i := range jobs {
		j := &jobs[i]
		jctx, cancel := context.WithCancelCause(q.workCtx)
		if j.CancelRequested {
			cancel(ErrCanceled)
		}
		q.mu.Lock()
		q.active[j.ID] = &active{job: j, cancel: cancel, leaseUntil: j.LeaseUntil}
		q.mu.Unlock()
		q.jobs.Add(1)
		q.workers.Go(func() { q.work(jctx, cancel, j) })
	}
	if len(jobs) == free {
		q.Notify() // there may be more
	}
}
