package trigger

import (
	"context"
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/flowweaver/flowweaver/backend/engine"
	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/store"
	"github.com/flowweaver/flowweaver/backend/trigger/spec"
)

// maxCountedMissed bounds how many missed slots are counted one by one
// (a per-second cron after a week away); the count then says "at least".
const maxCountedMissed = 100_000

// scheduleDef is one enabled schedule trigger of a trusted project.
type scheduleDef struct {
	workflowID string
	trigger    flow.Trigger
}

// slotSpec is what a stored slot was computed from; a change starts over.
// The separator is a newline, which neither part can contain, and which
// PostgreSQL's text (unlike NUL, used before migration 0017) can hold.
func slotSpec(t flow.Trigger) string { return t.Cron + "\n" + t.Timezone }

// entry is an active schedule and its next slot (mirrors the database).
type entry struct {
	key   store.TriggerKey
	def   flow.Trigger
	spec  string
	sched *spec.Schedule
	next  time.Time
}

// scheduler holds the active schedules. Its state is only changed by the
// Service's loop goroutine; mu guards reads from the HTTP side (NextFireAt).
type scheduler struct {
	s       *Service
	mu      sync.Mutex
	entries map[string]map[string]*entry // project -> workflow/trigger -> entry
}

func newScheduler(s *Service) *scheduler {
	return &scheduler{s: s, entries: map[string]map[string]*entry{}}
}

func (sc *scheduler) projects() []string {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	out := make([]string, 0, len(sc.entries))
	for id := range sc.entries {
		out = append(out, id)
	}
	return out
}

// next returns the next slot of an active schedule.
func (sc *scheduler) next(k store.TriggerKey) (time.Time, bool) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	e, ok := sc.entries[k.ProjectID][triggerKey(k.WorkflowID, k.TriggerID)]
	if !ok {
		return time.Time{}, false
	}
	return e.next, true
}

// set replaces a project's schedules with defs. A schedule whose stored
// spec is unchanged keeps its stored slot (so slots missed while no server
// ran fire now); a new or changed one starts from now. Stored slots of
// schedules that are gone are deleted when the project is trusted (so a
// schedule that is switched back on does not fire for the time it was off)
// and also when it is not (trust given later starts them afresh).
func (sc *scheduler) set(ctx context.Context, projectID string, defs []scheduleDef, trusted bool) {
	s := sc.s
	stored := map[string]store.ScheduleSlot{}
	slots, err := s.db.ScheduleSlots(ctx, projectID)
	if err != nil {
		s.log.Warn("triggers: read schedule slots", "project", projectID, "err", err)
		return
	}
	for _, sl := range slots {
		stored[triggerKey(sl.WorkflowID, sl.TriggerID)] = sl
	}
	now := s.cfg.Now()
	entries := map[string]*entry{}
	keep := map[string]bool{}
	for _, d := range defs {
		sched, err := spec.ParseSchedule(d.trigger.Cron, d.trigger.Timezone)
		if err != nil { // cannot happen for a validated workflow
			continue
		}
		id := triggerKey(d.workflowID, d.trigger.ID)
		e := &entry{key: store.TriggerKey{ProjectID: projectID, WorkflowID: d.workflowID, TriggerID: d.trigger.ID},
			def: d.trigger, spec: slotSpec(d.trigger), sched: sched}
		if sl, ok := stored[id]; ok && sl.Spec == e.spec {
			e.next = sl.NextAt
		} else {
			e.next = slot(sched.Next(now))
			if e.next.IsZero() {
				continue // a date that never comes (30 February)
			}
			if err := s.db.PutScheduleSlot(ctx, e.key, e.spec, e.next); err != nil {
				s.log.Warn("triggers: store schedule slot", "trigger", id, "err", err)
				continue
			}
		}
		entries[id] = e
		keep[id] = true
	}
	if err := s.db.DeleteScheduleSlots(ctx, projectID, keep); err != nil && flow.ErrorCode(err) != flow.ENOTFOUND {
		s.log.Warn("triggers: delete schedule slots", "project", projectID, "err", err)
	}
	sc.mu.Lock()
	if len(entries) == 0 {
		delete(sc.entries, projectID)
	} else {
		sc.entries[projectID] = entries
	}
	sc.mu.Unlock()
}

// drop forgets a project's schedules until its next reconcile.
func (sc *scheduler) drop(projectID string) {
	sc.mu.Lock()
	delete(sc.entries, projectID)
	sc.mu.Unlock()
}

// slot rounds a slot to the database's millisecond resolution, so the
// compare-and-set on next_at compares equal values.
func slot(t time.Time) time.Time { return t.Truncate(time.Millisecond) }

// untilNext is how long until the earliest slot.
func (sc *scheduler) untilNext() (time.Duration, bool) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	var first time.Time
	for _, es := range sc.entries {
		for _, e := range es {
			if first.IsZero() || e.next.Before(first) {
				first = e.next
			}
		}
	}
	if first.IsZero() {
		return 0, false
	}
	return first.Sub(sc.s.cfg.Now()), true
}

// tick fires every schedule whose slot is due, oldest first.
func (sc *scheduler) tick(ctx context.Context) {
	now := sc.s.cfg.Now()
	sc.mu.Lock()
	var due []*entry
	for _, es := range sc.entries {
		for _, e := range es {
			if !e.next.After(now) {
				due = append(due, e)
			}
		}
	}
	sc.mu.Unlock()
	sort.Slice(due, func(i, j int) bool { return due[i].next.Before(due[j].next) })
	for _, e := range due {
		if ctx.Err() != nil {
			return
		}
		sc.fire(ctx, e, now)
	}
}

// fire starts the run for e's due slot(s): one run, however many slots
// passed, with inputs.trigger.missed when they were missed. The slot moves
// forward in the transaction that inserts the run (ClaimSlot), so a crash
// either keeps both or neither, and a second process loses the race
// instead of starting the run twice.
func (sc *scheduler) fire(ctx context.Context, e *entry, now time.Time) {
	s := sc.s
	from := e.next
	extra, last := e.sched.Due(from, now, maxCountedMissed)
	latest := from
	if extra > 0 {
		latest = last
	}
	next := slot(e.sched.Next(latest))
	if !next.After(now) { // the count hit its bound
		next = slot(e.sched.Next(now))
	}
	total := 1 + extra
	missed := 0
	if total > 1 || from.Before(s.started) || now.Sub(from) > s.cfg.LateAfter {
		missed = total
	}
	advance := func(to time.Time) {
		sc.mu.Lock()
		e.next = to
		sc.mu.Unlock()
	}
	if !s.trusted(ctx, e.key.ProjectID) {
		sc.drop(e.key.ProjectID)
		s.Reconcile(e.key.ProjectID)
		return
	}
	scheduled := latest.UTC()
	rec := &flow.RunTrigger{Type: flow.TriggerSchedule, ID: e.def.ID, ScheduledFor: &scheduled, Missed: missed}
	in := map[string]any{"type": flow.TriggerSchedule, "id": e.def.ID, "cron": e.def.Cron,
		"scheduledFor": scheduled.Format(time.RFC3339Nano), "missed": missed}
	if e.def.Timezone != "" {
		in["timezone"] = e.def.Timezone
	}
	_, err := s.cfg.Runs.StartRunWith(ctx, e.key.ProjectID, e.key.WorkflowID, map[string]any{}, engine.StartOptions{
		Trigger: rec, TriggerInputs: in,
		InTx: func(ctx context.Context, tx *store.Tx) error { return tx.ClaimSlot(ctx, e.key, e.spec, from, next) },
	})
	switch {
	case err == nil:
		advance(next)
	case errors.Is(err, store.ErrSlotTaken):
		// Claimed elsewhere (another process on this database): adopt
		// the stored slot.
		advance(next)
		if slots, rerr := s.db.ScheduleSlots(ctx, e.key.ProjectID); rerr == nil {
			for _, sl := range slots {
				if sl.WorkflowID == e.key.WorkflowID && sl.TriggerID == e.key.TriggerID && sl.Spec == e.spec {
					advance(sl.NextAt)
				}
			}
		}
	default:
		// The run cannot start (workflow removed or broken, project gone):
		// skip the slot rather than retry it every second.
		s.log.Warn("triggers: schedule could not start its run", "project", e.key.ProjectID,
			"workflow", e.key.WorkflowID, "trigger", e.def.ID, "err", err)
		if perr := s.db.PutScheduleSlot(ctx, e.key, e.spec, next); perr != nil {
			s.log.Warn("triggers: store schedule slot", "trigger", e.def.ID, "err", perr)
		}
		advance(next)
	}
}
