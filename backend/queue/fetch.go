package queue

import (
	"context"
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
	enqueued := q.enqueued
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
	// Fewer jobs than asked for and nothing enqueued meanwhile: every
	// claimable job is taken, and new ones may be handed off.
	q.drained = len(jobs) < free && q.enqueued == enqueued
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
