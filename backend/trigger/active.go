package trigger

import (
	"context"
	"fmt"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// Summary counts the triggers that fire on their own right now: enabled
// triggers of valid workflows in trusted projects. The desktop shell asks
// for it when its window is closed, to offer keeping the backend running
// in the background only when there is something to keep running for.
type Summary struct {
	Schedules int `json:"schedules"`
	Webhooks  int `json:"webhooks"`
	Files     int `json:"files"`
	// Projects is how many projects have at least one of them.
	Projects int `json:"projects"`
}

// Total is the number of active triggers of every kind.
func (s Summary) Total() int { return s.Schedules + s.Webhooks + s.Files }

// Active reads every project's workflows and counts their active
// triggers. It reads the store and the files, not the scheduler's state,
// so it is right even between a save and the next reconcile.
func (s *Service) Active(ctx context.Context) (Summary, error) {
	projects, err := s.db.Projects(ctx)
	if err != nil {
		return Summary{}, fmt.Errorf("count active triggers: %w", err)
	}
	var sum Summary
	for _, p := range projects {
		trusted, err := s.cfg.Trust.Trusted(ctx, p.ID)
		if err != nil {
			return Summary{}, fmt.Errorf("count active triggers of %s: %w", p.ID, err)
		}
		if !trusted {
			continue
		}
		wfs, err := s.cfg.Workflows.List(ctx, p.ID)
		if err != nil {
			// A project whose folder is gone has no triggers that fire.
			if flow.ErrorCode(err) == flow.ENOTFOUND {
				continue
			}
			return Summary{}, fmt.Errorf("count active triggers of %s: %w", p.ID, err)
		}
		before := sum.Total()
		for _, wf := range wfs {
			for _, t := range wf.Triggers {
				if !t.IsEnabled() {
					continue
				}
				switch t.Type {
				case flow.TriggerSchedule:
					sum.Schedules++
				case flow.TriggerWebhook:
					sum.Webhooks++
				case flow.TriggerFiles:
					sum.Files++
				}
			}
		}
		if sum.Total() > before {
			sum.Projects++
		}
	}
	return sum, nil
}
