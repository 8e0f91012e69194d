package trigger

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/flowweaver/flowweaver/backend/engine"
	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/store"
)

func TestScheduleEverySecondFiresRepeatedly(t *testing.T) {
	h := newHarness(t)
	h.save("tick", &flow.Workflow{Name: "tick", Nodes: []flow.Node{logNode("a")},
		Triggers: []flow.Trigger{{ID: "often", Type: "schedule", Cron: "@every 1s"}}})
	h.start()
	runs := h.waitRuns(3)
	var last time.Time
	for _, r := range runs[:3] {
		if r.Trigger == nil || r.Trigger.Type != "schedule" || r.Trigger.ID != "often" || r.Trigger.ScheduledFor == nil {
			t.Fatalf("run %s trigger = %+v", r.ID, r.Trigger)
		}
		tr, _ := r.Inputs["trigger"].(map[string]any)
		if tr["type"] != "schedule" || tr["id"] != "often" {
			t.Fatalf("inputs.trigger = %v", r.Inputs["trigger"])
		}
		if !r.Trigger.ScheduledFor.After(last) {
			t.Fatalf("slots not increasing: %v after %v", r.Trigger.ScheduledFor, last)
		}
		last = *r.Trigger.ScheduledFor
	}
}

func TestScheduleSixFieldCron(t *testing.T) {
	h := newHarness(t)
	h.save("sec", &flow.Workflow{Name: "sec", Nodes: []flow.Node{logNode("a")},
		Triggers: []flow.Trigger{{ID: "even", Type: "schedule", Cron: "*/2 * * * * *", Timezone: "UTC"}}})
	h.start()
	runs := h.waitRuns(2)
	for _, r := range runs[:2] {
		s := r.Trigger.ScheduledFor
		if s == nil || s.Second()%2 != 0 || s.Nanosecond() != 0 {
			t.Fatalf("slot %v is not an even second", s)
		}
	}
	if !runs[1].Trigger.ScheduledFor.After(*runs[0].Trigger.ScheduledFor) {
		t.Fatal("the same slot fired twice")
	}
}

// A server that was down for three hourly slots fires once at its next
// start, with missed = 3, and not again for those slots.
func TestScheduleMissedSlotsFireOnceAfterDowntime(t *testing.T) {
	h := newHarness(t)
	h.clock.Set(mustTime(t, "2026-05-01T09:30:00Z"))
	h.save("hourly", &flow.Workflow{Name: "hourly", Nodes: []flow.Node{logNode("a")},
		Triggers: []flow.Trigger{{ID: "h", Type: "schedule", Cron: "0 * * * *", Timezone: "UTC"}}})
	ctx := context.Background()
	h.svc.started = h.clock.Now()
	h.svc.reconcileAll(ctx)
	if next, ok := h.svc.sched.next(store.TriggerKey{ProjectID: "p1", WorkflowID: "hourly", TriggerID: "h"}); !ok || !next.Equal(mustTime(t, "2026-05-01T10:00:00Z")) {
		t.Fatalf("next = %v %v", next, ok)
	}
	h.close() // the server goes away before 10:00

	h.clock.Set(mustTime(t, "2026-05-01T12:20:00Z")) // back after 10:00, 11:00 and 12:00
	h.open()
	h.svc.started = h.clock.Now()
	h.svc.reconcileAll(ctx)
	h.svc.sched.tick(ctx)
	h.svc.sched.tick(ctx)
	h.waitRuns(1)
	h.waitIdle()
	runs := h.runs()
	if len(runs) != 1 {
		t.Fatalf("%d runs, want one for all missed slots", len(runs))
	}
	tr := runs[0].Trigger
	if tr.Missed != 3 || !tr.ScheduledFor.Equal(mustTime(t, "2026-05-01T12:00:00Z")) {
		t.Fatalf("trigger = %+v, want missed 3 for the 12:00 slot", tr)
	}
	if in := runs[0].Inputs["trigger"].(map[string]any); in["missed"] != float64(3) {
		t.Fatalf("inputs.trigger.missed = %v", in["missed"])
	}
	// The next slot is 13:00; a restart at 12:30 fires nothing.
	h.close()
	h.clock.Set(mustTime(t, "2026-05-01T12:30:00Z"))
	h.open()
	h.svc.started = h.clock.Now()
	h.svc.reconcileAll(ctx)
	h.svc.sched.tick(ctx)
	if n := len(h.runs()); n != 1 {
		t.Fatalf("restart refired: %d runs", n)
	}
	// On time (not missed) at 13:00:00.2.
	h.clock.Set(mustTime(t, "2026-05-01T13:00:00Z").Add(200 * time.Millisecond))
	h.svc.sched.tick(ctx)
	runs = h.waitRuns(2)
	if runs[1].Trigger.Missed != 0 {
		t.Fatalf("an on-time slot counted as missed: %+v", runs[1].Trigger)
	}
}

// The scheduler on an injected clock across Berlin's 2026 DST changes.
func TestScheduleDSTWithInjectedClock(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	key := store.TriggerKey{ProjectID: "p1", WorkflowID: "night", TriggerID: "n"}
	h.clock.Set(mustTime(t, "2026-03-29T00:00:00+01:00"))
	h.svc.started = h.clock.Now()
	h.save("night", &flow.Workflow{Name: "night", Nodes: []flow.Node{logNode("a")},
		Triggers: []flow.Trigger{{ID: "n", Type: "schedule", Cron: "30 2 * * *", Timezone: "Europe/Berlin"}}})
	h.svc.reconcileAll(ctx)
	// 02:30 does not exist that night: the job runs at the change, 03:00 CEST.
	next, _ := h.svc.sched.next(key)
	if want := mustTime(t, "2026-03-29T03:00:00+02:00"); !next.Equal(want) {
		t.Fatalf("spring forward: next = %v, want %v", next, want)
	}
	h.clock.Set(next.Add(time.Second))
	h.svc.sched.tick(ctx)
	h.waitRuns(1)
	if next, _ = h.svc.sched.next(key); !next.Equal(mustTime(t, "2026-03-30T02:30:00+02:00")) {
		t.Fatalf("after the gap: next = %v", next)
	}

	// Fall back: 02:00-03:00 happens twice; the job runs once.
	h.clock.Set(mustTime(t, "2026-10-25T00:00:00+02:00"))
	// A changed spec (Paris has the same rules) starts over from now.
	h.save("night", &flow.Workflow{Name: "night", Nodes: []flow.Node{logNode("a")},
		Triggers: []flow.Trigger{{ID: "n", Type: "schedule", Cron: "30 2 * * *", Timezone: "Europe/Paris"}}})
	h.svc.reconcileAll(ctx)
	next, _ = h.svc.sched.next(key)
	if want := mustTime(t, "2026-10-25T02:30:00+02:00"); !next.Equal(want) {
		t.Fatalf("fall back: next = %v, want %v", next, want)
	}
	h.clock.Set(next.Add(time.Second))
	h.svc.sched.tick(ctx)
	h.waitRuns(2)
	h.clock.Set(mustTime(t, "2026-10-25T02:30:01+01:00")) // the second 02:30
	h.svc.sched.tick(ctx)
	h.waitIdle()
	if n := len(h.runs()); n != 2 {
		t.Fatalf("the repeated 02:30 fired again: %d runs", n)
	}
	if next, _ = h.svc.sched.next(key); !next.Equal(mustTime(t, "2026-10-26T02:30:00+01:00")) {
		t.Fatalf("after fall back: next = %v", next)
	}
}

// The slot claim and the run are one transaction: a failure after the
// claim inside it (the crash point) leaves neither; a committed claim
// cannot be made again, so the same slot never starts two runs.
func TestScheduleSlotClaimIsAtomicWithTheRun(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.save("w", &flow.Workflow{Name: "w", Nodes: []flow.Node{logNode("a")}})
	k := store.TriggerKey{ProjectID: "p1", WorkflowID: "w", TriggerID: "s"}
	slot1 := mustTime(t, "2026-01-01T00:00:00Z")
	slot2 := slot1.Add(time.Hour)
	if err := h.db.PutScheduleSlot(ctx, k, "spec", slot1); err != nil {
		t.Fatal(err)
	}
	crash := errors.New("crash point: after the claim, before the commit")
	_, err := h.eng.StartRunWith(ctx, "p1", "w", nil, engine.StartOptions{InTx: func(ctx context.Context, tx *store.Tx) error {
		if err := tx.ClaimSlot(ctx, k, "spec", slot1, slot2); err != nil {
			return err
		}
		return crash
	}})
	if !errors.Is(err, crash) {
		t.Fatalf("err = %v", err)
	}
	slots, _ := h.db.ScheduleSlots(ctx, "p1")
	if len(slots) != 1 || !slots[0].NextAt.Equal(slot1) || len(h.runs()) != 0 {
		t.Fatalf("after the crash: slots %+v, %d runs; want the slot unclaimed and no run", slots, len(h.runs()))
	}
	claim := func(ctx context.Context, tx *store.Tx) error { return tx.ClaimSlot(ctx, k, "spec", slot1, slot2) }
	if _, err := h.eng.StartRunWith(ctx, "p1", "w", nil, engine.StartOptions{InTx: claim}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.eng.StartRunWith(ctx, "p1", "w", nil, engine.StartOptions{InTx: claim}); !errors.Is(err, store.ErrSlotTaken) {
		t.Fatalf("second claim of the same slot: %v", err)
	}
	slots, _ = h.db.ScheduleSlots(ctx, "p1")
	if !slots[0].NextAt.Equal(slot2) || len(h.runs()) != 1 {
		t.Fatalf("slots %+v, %d runs; want the slot moved and one run", slots, len(h.runs()))
	}
}

func TestScheduleDisabledOrUntrustedNeverFires(t *testing.T) {
	h := newHarness(t)
	off := false
	h.save("off", &flow.Workflow{Name: "off", Nodes: []flow.Node{logNode("a")},
		Triggers: []flow.Trigger{{ID: "s", Type: "schedule", Cron: "@every 1s", Enabled: &off}}})
	h.trusted.Store(false)
	h.save("untrusted", &flow.Workflow{Name: "u", Nodes: []flow.Node{logNode("a")},
		Triggers: []flow.Trigger{{ID: "s", Type: "schedule", Cron: "@every 1s"}}})
	h.start()
	time.Sleep(2500 * time.Millisecond)
	if n := len(h.runs()); n != 0 {
		t.Fatalf("%d runs started by a disabled trigger or in an untrusted project", n)
	}
	list, err := h.svc.List(context.Background(), "p1", "untrusted", "http://x")
	if err != nil || len(list) != 1 || list[0].Active || list[0].NextFireAt != nil || len(list[0].NextFireTimes) != PreviewSlots {
		t.Fatalf("listing of an untrusted schedule: %+v %v", list, err)
	}
	// Trust given: it starts firing.
	h.trusted.Store(true)
	h.svc.Reconcile("p1")
	h.waitRuns(1)
	for _, r := range h.runs() {
		if r.WorkflowID != "untrusted" {
			t.Fatalf("disabled trigger fired: %+v", r)
		}
	}
}
