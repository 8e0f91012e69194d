package daemon

import (
	"context"

	"github.com/flowweaver/flowweaver/backend/trigger"
)

// triggersAPI adapts the trigger service to the HTTP API.
type triggersAPI struct{ s *trigger.Service }

func (a triggersAPI) ListTriggers(ctx context.Context, projectID, workflowID, baseURL string) (any, error) {
	return a.s.List(ctx, projectID, workflowID, baseURL)
}

func (a triggersAPI) RotateWebhook(ctx context.Context, projectID, workflowID, triggerID, baseURL string) (any, error) {
	return a.s.Rotate(ctx, projectID, workflowID, triggerID, baseURL)
}

func (a triggersAPI) PreviewSchedule(cron, timezone string, count int) (any, error) {
	return a.s.PreviewSchedule(cron, timezone, count)
}

func (a triggersAPI) MatchFiles(ctx context.Context, projectID, glob string, limit int) (any, error) {
	return a.s.MatchFiles(ctx, projectID, glob, limit)
}
