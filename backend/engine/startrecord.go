package engine

import (
	"context"
	"time"

	"github.com/flowweaver/flowweaver/backend/store"
)

// startRecord is what an execution has started but not yet written: the
// run's start (run.started, on the first step of an attempt) and the
// starts of nodes launched since the last step (node.started).
//
// Why it waits: most nodes of an automation are quick (log, transform,
// if, a fast HTTP call). Writing a node's start in one step and its end in
// the next costs two transactions' worth of statements for what the user
// sees as one event; a start that waits up to Config.StartRecordDelay is
// written together with the end of a node that finished by then, in one
// step and with one UPDATE per row (FinishNodeStartedNow,
// FinishRunStartedNow). A node still running after the delay gets its
// start written on its own, so a long node shows as running within the
// delay plus one commit.
//
// Order is kept because every step writes the pending start record first,
// before its log lines and node ends: the loop's steps, the log flusher's
// and the one of an interrupted execution; a node that writes on its own
// (a child run, forEach progress) submits the record first
// (writePendingStarts). The record is guarded by
// execution.stepMu, which also orders taking log lines with submitting
// their step.
//
// Only self-contained nodes (earlystart.go) wait: what they do outside
// the run is nothing, so a crash in that window, which finds such a node
// pending (not running) and runs it again as the same attempt, changes
// nothing a user could tell apart. Every other node (a shell command, an
// HTTP call, an MCP tool) has its start written and committed before it
// runs, so a crash while it runs makes the next one "attempt n+1 (server
// restarted)". Process groups a node started are also recorded apart
// (recordProcess) and reaped at the next start whatever the node's
// status.
type startRecord struct {
	run   bool  // the run's start is not written yet
	nodes []int // launched nodes whose start is not written yet
}

func (r startRecord) empty() bool { return !r.run && len(r.nodes) == 0 }

// takeStart returns the pending start record and clears it. The caller
// holds stepMu and writes the record in the step it submits next.
func (x *execution) takeStart() startRecord {
	r := x.unwritten
	x.unwritten = startRecord{}
	return r
}

// submitStart writes the pending start record in a step of its own (the
// delay passed and a node still runs). It returns the step, or prev when
// nothing was pending (a log flush took the record first).
func (x *execution) submitStart(ctx context.Context, prev *step) *step {
	x.stepMu.Lock()
	defer x.stepMu.Unlock()
	r := x.takeStart()
	if r.empty() {
		return prev
	}
	var w stepWrites
	w.startRecord(x, r, nil, false)
	return x.e.batch.submit(func(tx *store.Tx) error {
		if prev != nil && prev.err != nil {
			return prev.err
		}
		if err := x.e.q.LeaseHeld(ctx, tx, x.lease); err != nil {
			return err
		}
		return w.apply(ctx, tx, x.run.ID)
	}, false)
}

// writePendingStarts submits the pending start record now, before a node
// writes something of its own (a child run, progress): every event of a
// node comes after its node.started. Steps commit in submission order, so
// the caller's next submission follows it.
func (x *execution) writePendingStarts(ctx context.Context) {
	x.submitStart(ctx, nil)
}

// startDelay returns a timer channel for the start record's delay, or nil
// when starts are written at once (StartRecordDelay < 0).
func (x *execution) startDelay() (<-chan time.Time, func()) {
	d := x.e.cfg.StartRecordDelay
	if d < 0 {
		return nil, func() {}
	}
	// One timer per execution, reset for every launch (only the loop's
	// goroutine uses it; since Go 1.23 a stopped or reset timer delivers
	// no stale tick).
	if x.delay == nil {
		x.delay = time.NewTimer(d)
	} else {
		x.delay.Reset(d)
	}
	return x.delay.C, func() { x.delay.Stop() }
}

// endsIn reports whether node i is among the ended nodes of a step.
func endsIn(ended []nodeResult, i int) bool {
	for _, e := range ended {
		if e.idx == i {
			return true
		}
	}
	return false
}
