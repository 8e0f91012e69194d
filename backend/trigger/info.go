package trigger

import (
	"context"
	"io/fs"
	"path/filepath"
	"sort"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/store"
	"github.com/flowweaver/flowweaver/backend/trigger/spec"
)

// PreviewSlots is how many coming slots the listing shows per schedule.
const PreviewSlots = 5

// Info is one trigger as GET .../triggers lists it.
type Info struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Enabled bool   `json:"enabled"`
	Label   string `json:"label,omitempty"`
	// Active is true when the trigger fires: enabled, in a trusted project.
	Active bool `json:"active"`
	// schedule
	Cron          string      `json:"cron,omitempty"`
	Timezone      string      `json:"timezone,omitempty"`
	NextFireAt    *time.Time  `json:"nextFireAt,omitempty"`
	NextFireTimes []time.Time `json:"nextFireTimes,omitempty"`
	// webhook
	URL     string `json:"url,omitempty"`
	Respond string `json:"respond,omitempty"`
	// files
	Glob       string `json:"glob,omitempty"`
	DebounceMs int64  `json:"debounceMs,omitempty"`
}

// List describes the triggers of a workflow. baseURL (http://host:port,
// as the caller reached the server) prefixes webhook URLs; webhook keys
// are created on first listing.
func (s *Service) List(ctx context.Context, projectID, workflowID, baseURL string) ([]Info, error) {
	wf, err := s.cfg.Workflows.Get(ctx, projectID, workflowID)
	if err != nil {
		return nil, err
	}
	trusted, err := s.cfg.Trust.Trusted(ctx, projectID)
	if err != nil {
		return nil, err
	}
	out := make([]Info, 0, len(wf.Triggers))
	for _, t := range wf.Triggers {
		info, err := s.describe(ctx, projectID, workflowID, t, trusted, baseURL)
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

func (s *Service) describe(ctx context.Context, projectID, workflowID string, t flow.Trigger, trusted bool, baseURL string) (Info, error) {
	info := Info{ID: t.ID, Type: t.Type, Enabled: t.IsEnabled(), Label: t.Label, Active: t.IsEnabled() && trusted}
	k := store.TriggerKey{ProjectID: projectID, WorkflowID: workflowID, TriggerID: t.ID}
	switch t.Type {
	case flow.TriggerSchedule:
		info.Cron, info.Timezone = t.Cron, t.Timezone
		sched, err := spec.ParseSchedule(t.Cron, t.Timezone)
		if err != nil {
			break
		}
		from := s.cfg.Now()
		if next, ok := s.sched.next(k); ok && info.Active {
			n := next.UTC()
			info.NextFireAt = &n
			info.NextFireTimes = append(info.NextFireTimes, n)
			from = next
		}
		info.NextFireTimes = append(info.NextFireTimes, Upcoming(sched, from, PreviewSlots-len(info.NextFireTimes))...)
		if info.Active && info.NextFireAt == nil && len(info.NextFireTimes) > 0 {
			// Saved a moment ago: the scheduler picks it up on its next wake.
			n := info.NextFireTimes[0]
			info.NextFireAt = &n
		}
	case flow.TriggerWebhook:
		info.Respond = t.Respond
		if info.Respond == "" {
			info.Respond = flow.RespondImmediately
		}
		key, err := s.db.WebhookKey(ctx, k)
		if err != nil {
			return info, err
		}
		info.URL = baseURL + "/hooks/" + key
	case flow.TriggerFiles:
		info.Glob, info.DebounceMs = t.Glob, t.DebounceMs
		if info.DebounceMs == 0 {
			info.DebounceMs = spec.DefaultDebounceMs
		}
	}
	return info, nil
}

// Upcoming lists n slots of sched after from, in UTC.
func Upcoming(sched *spec.Schedule, from time.Time, n int) []time.Time {
	var out []time.Time
	t := from
	for range n {
		t = sched.Next(t)
		if t.IsZero() {
			break
		}
		out = append(out, t.UTC())
	}
	return out
}

// Rotate gives a webhook trigger a new key; the old URL answers 404 from
// now on.
func (s *Service) Rotate(ctx context.Context, projectID, workflowID, triggerID, baseURL string) (Info, error) {
	wf, err := s.cfg.Workflows.Get(ctx, projectID, workflowID)
	if err != nil {
		return Info{}, err
	}
	t, ok := findTrigger(wf, triggerID, flow.TriggerWebhook)
	if !ok {
		return Info{}, flow.Errorf(flow.ENOTFOUND, "workflow %q has no webhook trigger %q", workflowID, triggerID)
	}
	if _, err := s.db.RotateWebhookKey(ctx, store.TriggerKey{ProjectID: projectID, WorkflowID: workflowID, TriggerID: triggerID}); err != nil {
		return Info{}, err
	}
	trusted, err := s.cfg.Trust.Trusted(ctx, projectID)
	if err != nil {
		return Info{}, err
	}
	return s.describe(ctx, projectID, workflowID, t, trusted, baseURL)
}

// Preview is the answer of the cron preview route: the next slots of an
// expression that has not been saved yet.
type Preview struct {
	NextFireTimes []time.Time `json:"nextFireTimes"`
}

// PreviewSchedule lists the next n slots of cron in tz, or a bad_request
// error saying what is wrong with it.
func (s *Service) PreviewSchedule(cron, tz string, n int) (Preview, error) {
	if n <= 0 || n > 50 {
		n = PreviewSlots
	}
	sched, err := spec.ParseSchedule(cron, tz)
	if err != nil {
		return Preview{}, flow.Errorf(flow.EINVALID, "%s", err)
	}
	return Preview{NextFireTimes: Upcoming(sched, s.cfg.Now(), n)}, nil
}

// Matches is the answer of the glob preview route.
type Matches struct {
	Files     []string `json:"files"`
	Truncated bool     `json:"truncated"`
}

// maxWalk bounds the entries one glob preview looks at.
const maxWalk = 50_000

// MatchFiles lists up to limit files of the project that glob matches
// (what a files trigger with that glob would watch), sorted.
func (s *Service) MatchFiles(ctx context.Context, projectID, glob string, limit int) (Matches, error) {
	if err := spec.CheckGlob(glob); err != nil {
		return Matches{}, flow.Errorf(flow.EINVALID, "glob %s", err)
	}
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	p, err := s.db.Project(ctx, projectID)
	if err != nil {
		return Matches{}, err
	}
	out := Matches{Files: []string{}}
	seen := 0
	_ = filepath.WalkDir(p.Path, func(path string, d fs.DirEntry, err error) error {
		if err != nil || ctx.Err() != nil {
			return nil
		}
		if seen++; seen > maxWalk {
			out.Truncated = true
			return filepath.SkipAll
		}
		if d.IsDir() {
			if path != p.Path && skipDir(d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(p.Path, path)
		if err != nil {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if spec.Match(glob, rel) {
			if len(out.Files) >= limit {
				out.Truncated = true
				return filepath.SkipAll
			}
			out.Files = append(out.Files, rel)
		}
		return nil
	})
	sort.Strings(out.Files)
	return out, nil
}
