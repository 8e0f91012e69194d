package workflow

import (
	"context"
	"errors"
	"sort"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// The watcher: one goroutine, owned by the Service between Start and Stop,
// that calls Sync every PollInterval for each watched project. Projects are
// watched while someone looks at them: the hub calls Watch when the first
// connection of a project opens and Unwatch when the last one closes (calls
// are counted, so they may also come once per connection). Projects nobody
// watches are still correct: every access reads the file.

// Watch adds one watcher reference to a project.
func (s *Service) Watch(projectID string) {
	s.mu.Lock()
	s.watched[projectID]++
	s.mu.Unlock()
}

// Unwatch drops one watcher reference; at zero the project is no longer
// polled.
func (s *Service) Unwatch(projectID string) {
	s.mu.Lock()
	if s.watched[projectID]--; s.watched[projectID] <= 0 {
		delete(s.watched, projectID)
		delete(s.lastErr, projectID)
	}
	s.mu.Unlock()
}

// Watched returns the watched project ids, sorted.
func (s *Service) Watched() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.watched))
	for id := range s.watched {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// pollSet is what one watcher tick polls: the watched projects, plus every
// project in the database with Options.WatchAllProjects.
func (s *Service) pollSet(ctx context.Context) []string {
	ids := s.Watched()
	if !s.opts.WatchAllProjects {
		return ids
	}
	projects, err := s.db.Projects(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.opts.Logger.Warn("workflow watcher: list projects", "err", err)
		}
		return ids
	}
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		seen[id] = true
	}
	for _, p := range projects {
		if !seen[p.ID] {
			ids = append(ids, p.ID)
		}
	}
	return ids
}

// Start runs the watcher until Stop is called or ctx is canceled. Calling
// Start while it runs does nothing.
func (s *Service) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel != nil {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	s.cancel = cancel
	s.done = make(chan struct{})
	go s.loop(ctx, s.done)
	return nil
}

// Stop ends the watcher and waits for it to exit (a poll in progress is
// canceled through its ctx), or until ctx is done. Stop is idempotent.
func (s *Service) Stop(ctx context.Context) error {
	s.mu.Lock()
	cancel, done := s.cancel, s.done
	s.cancel, s.done = nil, nil
	s.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Service) loop(ctx context.Context, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(s.opts.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ids := s.pollSet(ctx)
		for _, id := range ids {
			if ctx.Err() != nil {
				return
			}
			s.report(id, s.Sync(ctx, id))
		}
		s.forgetErrors(ids)
	}
}

// report logs a watcher error once per distinct message per project, so a
// broken project folder does not fill the log every second.
func (s *Service) report(projectID string, err error) {
	msg := ""
	if err != nil && !errors.Is(err, context.Canceled) {
		msg = err.Error()
	}
	s.mu.Lock()
	prev, watched := s.lastErr[projectID], s.watched[projectID] > 0 || s.opts.WatchAllProjects
	if watched {
		s.lastErr[projectID] = msg
	}
	s.mu.Unlock()
	if msg == "" || msg == prev || !watched {
		return
	}
	if flow.ErrorCode(err) == flow.ENOTFOUND {
		s.opts.Logger.Debug("workflow watcher: project gone", "project", projectID)
		return
	}
	s.opts.Logger.Warn("workflow watcher: sync failed", "project", projectID, "err", err)
}

// forgetErrors drops the remembered errors of projects no longer polled.
func (s *Service) forgetErrors(polled []string) {
	keep := make(map[string]bool, len(polled))
	for _, id := range polled {
		keep[id] = true
	}
	s.mu.Lock()
	for id := range s.lastErr {
		if !keep[id] {
			delete(s.lastErr, id)
		}
	}
	s.mu.Unlock()
}
