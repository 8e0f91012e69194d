package trigger

import (
	"context"
	"testing"

	"github.com/flowweaver/flowweaver/backend/flow"
)

func TestActiveCountsEnabledTriggersOfTrustedProjects(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	if sum, err := h.svc.Active(ctx); err != nil || sum.Total() != 0 || sum.Projects != 0 {
		t.Fatalf("no workflows: %+v %v", sum, err)
	}
	off := false
	h.save("a", &flow.Workflow{Name: "a", Nodes: []flow.Node{logNode("n")}, Triggers: []flow.Trigger{
		{ID: "s", Type: "schedule", Cron: "0 3 * * *"},
		{ID: "h", Type: "webhook"},
		{ID: "f", Type: "files", Glob: "*.txt", Enabled: &off},
	}})
	h.save("b", &flow.Workflow{Name: "b", Nodes: []flow.Node{logNode("n")}, Triggers: []flow.Trigger{
		{ID: "f", Type: "files", Glob: "src/**"},
	}})
	h.save("plain", &flow.Workflow{Name: "plain", Nodes: []flow.Node{logNode("n")}})
	sum, err := h.svc.Active(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Summary{Schedules: 1, Webhooks: 1, Files: 1, Projects: 1}); sum != want {
		t.Fatalf("active %+v, want %+v", sum, want)
	}
	// The same triggers in an untrusted project never fire: nothing counts.
	h.trusted.Store(false)
	if sum, err := h.svc.Active(ctx); err != nil || sum.Total() != 0 {
		t.Fatalf("untrusted: %+v %v", sum, err)
	}
}
