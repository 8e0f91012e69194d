package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/flowweaver/flowweaver/backend/store"
)

// The LastError texts of attempts that ended without the handler failing.
const (
	msgShutdown     = "handed back at shutdown"
	msgLeaseExpired = "lease of worker %s expired"
	msgOwnerGone    = "worker %s is gone"
)

// Interruption says, for the user, why the previous attempt of a job ended
// without finishing: "server restarted" (its worker process died),
// "worker lost its lease", "server stopped" (handed back at shutdown), or
// "retried after an error: ..." when its handler failed. It is "" for a
// first attempt.
func Interruption(j *Job) string {
	if j.Attempt <= 1 {
		return ""
	}
	msg := j.LastError
	switch {
	case msg == msgShutdown:
		return "server stopped"
	case strings.HasPrefix(msg, "worker ") && strings.Contains(msg, " is gone"):
		return "server restarted"
	case strings.HasPrefix(msg, "lease of worker "):
		return "worker lost its lease"
	case msg == "":
		return "server restarted"
	}
	return "retried after an error: " + msg
}

// OwnerAlive reports whether the worker process owner (a queue owner id)
// may still be running: this queue, or another one that is alive or
// cannot be checked (another host).
func (q *Queue) OwnerAlive(owner string) bool {
	return owner == q.cfg.Owner || q.cfg.OwnerAlive(owner)
}

// crash is the Finish of an attempt whose worker died: available again at
// once, or dead after MaxCrashes.
func (q *Queue) crash(j *Job, why string) Finish {
	if j.Crashes+1 >= q.cfg.MaxCrashes {
		return Finish{State: Dead, CountCrash: true, LastError: fmt.Sprintf("%s (%d crashes: giving up)", why, j.Crashes+1)}
	}
	return Finish{State: Available, CountCrash: true, LastError: why, RunAt: q.cfg.Now()}
}

// maintainLoop heartbeats, rescues and polls for cancels.
func (q *Queue) maintainLoop(ctx context.Context) {
	defer q.loops.Done()
	hb := time.NewTicker(q.cfg.HeartbeatInterval)
	rs := time.NewTicker(q.cfg.RescueInterval)
	cp := time.NewTicker(q.cfg.CancelPollInterval)
	defer hb.Stop()
	defer rs.Stop()
	defer cp.Stop()
	for {
		select {
		case <-ctx.Done():
			// Keep leases alive while Stop waits for running jobs.
			q.heartbeatUntilIdle()
			return
		case <-hb.C:
			q.beatNode(ctx)
			q.Heartbeat(ctx)
		case <-rs.C:
			if _, err := q.Rescue(ctx); err != nil && ctx.Err() == nil {
				q.log.Error("rescue jobs", "err", err)
			}
		case <-cp.C:
			q.pollCancels(ctx)
		}
	}
}

// heartbeatUntilIdle keeps extending leases during Stop's grace period.
func (q *Queue) heartbeatUntilIdle() {
	hb := time.NewTicker(q.cfg.HeartbeatInterval)
	defer hb.Stop()
	done := make(chan struct{})
	go func() { q.waitJobs(); close(done) }()
	for {
		select {
		case <-done:
			return
		case <-hb.C:
			q.beatNode(context.Background())
			q.Heartbeat(context.Background())
		}
	}
}

// beatNode tells the other nodes this pool is alive.
func (q *Queue) beatNode(ctx context.Context) {
	if err := q.store.BeatNode(ctx, q.cfg.Owner); err != nil && ctx.Err() == nil {
		q.log.Error("node heartbeat", "err", err)
	}
}

// Heartbeat extends the leases of this pool's running jobs; a job whose
// claim is gone, or whose lease ran out while the database could not be
// reached, is canceled with ErrLeaseLost.
func (q *Queue) Heartbeat(ctx context.Context) {
	q.mu.Lock()
	n := len(q.active)
	q.mu.Unlock()
	if n == 0 {
		return
	}
	until := q.cfg.Now().Add(q.cfg.LeaseDuration)
	held, err := q.store.Heartbeat(ctx, q.cfg.Owner, until)
	if err != nil {
		if ctx.Err() == nil {
			q.log.Error("heartbeat", "err", err)
		}
		q.expireUnreachable()
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for id, a := range q.active {
		if att, ok := held[id]; !ok || att != a.job.Attempt {
			a.cancel(ErrLeaseLost)
			continue
		}
		a.leaseUntil = until
	}
}

// expireUnreachable stops the jobs whose lease ran out while the database
// could not be reached: another node's rescuer may have given them to a
// worker of its own by now, so their processes must not go on beside it.
// (What they would write is fenced anyway.)
func (q *Queue) expireUnreachable() {
	now := q.cfg.Now()
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, a := range q.active {
		if now.After(a.leaseUntil) {
			a.cancel(ErrLeaseLost)
		}
	}
}

func (q *Queue) pollCancels(ctx context.Context) {
	q.mu.Lock()
	n := len(q.active)
	q.mu.Unlock()
	if n == 0 {
		return
	}
	ids, err := q.store.CancelRequested(ctx, q.cfg.Owner)
	if err != nil {
		if ctx.Err() == nil {
			q.log.Error("poll cancels", "err", err)
		}
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for id, att := range ids {
		if a := q.active[id]; a != nil && a.job.Attempt == att {
			a.cancel(ErrCanceled)
		}
	}
}

// Rescue requeues running jobs whose lease expired or whose owner process
// is gone (its pid on this host, or its node heartbeat is stale). That is a crash, not a failure of the job: it is available
// again at once and counted in Crashes, not Errors; after MaxCrashes the
// job is dead, so one that kills its worker every time ends instead of
// looping. It returns how many it moved.
func (q *Queue) Rescue(ctx context.Context) (int, error) { return q.rescue(ctx) }

func (q *Queue) rescue(ctx context.Context) (int, error) {
	now := q.cfg.Now()
	n := 0
	err := q.store.Write(ctx, func(tx *store.Tx) error {
		n = 0
		running, err := q.store.Running(ctx, tx)
		if err != nil {
			return err
		}
		alive := q.cfg.OwnerAlive
		if q.cfg.nodeLiveness && len(running) > 0 {
			// After Running: see LiveNodes on why the order matters.
			live, err := q.store.LiveNodes(ctx, tx, q.cfg.NodeStaleAfter)
			if err != nil {
				return err
			}
			alive = func(o string) bool { return live[o] && q.cfg.OwnerAlive(o) }
		}
		for i := range running {
			j := &running[i]
			var why string
			switch {
			case j.Owner == q.cfg.Owner && q.isActive(j.ID):
				continue // ours and running: the heartbeat keeps it
			case j.Owner != q.cfg.Owner && !alive(j.Owner):
				why = fmt.Sprintf(msgOwnerGone, j.Owner)
			case now.After(j.LeaseUntil):
				why = fmt.Sprintf(msgLeaseExpired, j.Owner)
			default:
				continue
			}
			f := q.crash(j, why)
			err := q.store.Finish(ctx, tx, j.Lease(), f)
			if errors.Is(err, ErrLeaseLost) {
				// On a shared database its worker finished it meanwhile.
				continue
			}
			if err != nil {
				return fmt.Errorf("rescue job %d: %w", j.ID, err)
			}
			if f.State == Dead {
				q.mu.Lock()
				h := q.handlers[j.Kind]
				q.mu.Unlock()
				if h != nil {
					if err := h.Dead(ctx, tx, j, f.LastError); err != nil {
						return fmt.Errorf("rescue job %d: %w", j.ID, err)
					}
				}
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if n > 0 {
		q.mu.Lock()
		q.counted = false // rescued jobs wait, uncounted: no hand-off until a claim took them
		q.mu.Unlock()
		q.Notify()
	}
	return n, nil
}

func (q *Queue) isActive(id int64) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.active[id] != nil
}
