package flow

import "time"

// Trigger kinds (docs/triggers.md).
const (
	TriggerManual   = "manual"
	TriggerSchedule = "schedule"
	TriggerWebhook  = "webhook"
	TriggerFiles    = "files"
)

// Webhook answer modes of a webhook trigger's "respond".
const (
	RespondImmediately = "immediately"
	RespondOnCompleted = "onCompleted"
)

// Trigger is one way a workflow starts itself, as listed in the workflow
// file's "triggers". Which fields apply depends on Type: Cron and Timezone
// for schedule, Respond for webhook, Glob and DebounceMs for files.
type Trigger struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	// Enabled false switches the trigger off without deleting it; nil (the
	// default) means on.
	Enabled    *bool  `json:"enabled,omitempty"`
	Label      string `json:"label,omitempty"`
	Cron       string `json:"cron,omitempty"`
	Timezone   string `json:"timezone,omitempty"`
	Respond    string `json:"respond,omitempty"`
	Glob       string `json:"glob,omitempty"`
	DebounceMs int64  `json:"debounceMs,omitempty"`
}

// IsEnabled reports whether the trigger is switched on.
func (t Trigger) IsEnabled() bool { return t.Enabled == nil || *t.Enabled }

// RunTrigger is what started a run: the "trigger" of the run JSON. It is a
// summary; the full record (webhook body, headers, query) is the run's
// inputs.trigger.
type RunTrigger struct {
	Type string `json:"type"`
	ID   string `json:"id,omitempty"`
	// ScheduledFor is the slot a schedule fired for (the latest one when
	// slots were missed).
	ScheduledFor *time.Time `json:"scheduledFor,omitempty"`
	// Missed counts the slots that passed while no Flow Weaver ran and that
	// this run stands for.
	Missed int `json:"missed,omitempty"`
	// Files is how many changed files a files trigger collected.
	Files int `json:"files,omitempty"`
	// Method is the webhook request's method.
	Method string `json:"method,omitempty"`
}

// ManualTrigger is the trigger of runs started by hand or through the API.
func ManualTrigger() *RunTrigger { return &RunTrigger{Type: TriggerManual} }
