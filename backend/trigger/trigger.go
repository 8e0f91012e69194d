// Package trigger starts workflows by themselves: on a schedule, from a
// webhook, or when files change (docs/triggers.md). Each kind is a small
// source (schedule.go, webhook.go, files.go) that calls the engine's
// StartRun with a trigger record, like any other caller. The Service owns
// them: it reads the triggers of every trusted project's workflows, keeps
// the sources in line with them (Reconcile on every workflow save, disk
// edit or trust change), and has Start/Stop for the daemon.
//
// A trigger never fires in an untrusted project: the trust check runs when
// a project's triggers are (re)read and again right before each start.
package trigger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/flowweaver/flowweaver/backend/engine"
	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/store"
)

// Runs starts runs (the engine satisfies it).
type Runs interface {
	StartRunWith(ctx context.Context, projectID, workflowID string, inputs map[string]any, opts engine.StartOptions) (*flow.Run, error)
}

// Workflows reads a project's workflows (the workflow service satisfies
// it). List returns only valid workflows.
type Workflows interface {
	Get(ctx context.Context, projectID, workflowID string) (*flow.Workflow, error)
	List(ctx context.Context, projectID string) ([]flow.Workflow, error)
}

// Trust says whether a project may run what its folder brings.
type Trust interface {
	Trusted(ctx context.Context, projectID string) (bool, error)
}

// TrustFunc adapts a function to Trust.
type TrustFunc func(ctx context.Context, projectID string) (bool, error)

// Trusted implements Trust.
func (f TrustFunc) Trusted(ctx context.Context, projectID string) (bool, error) {
	return f(ctx, projectID)
}

// Config configures a Service. Zero values take the documented defaults.
type Config struct {
	DB        *store.DB // required
	Runs      Runs      // required
	Workflows Workflows // required
	Trust     Trust     // required
	// Now is the clock of the scheduler. Default time.Now.
	Now func() time.Time
	// MaxSleep bounds how long the scheduler sleeps between looks at the
	// clock, so a jump of the wall clock (suspend, NTP) is noticed within
	// it. Default 1s.
	MaxSleep time.Duration
	// ResyncInterval re-reads every project's triggers even without an
	// event (a missed event must not leave a trigger stale). Default 30s.
	ResyncInterval time.Duration
	// LateAfter: a slot found due later than this (or several slots due at
	// once, or a slot from before Start) counts as missed. Default 1m.
	LateAfter time.Duration
	// WebhookWait is how long an onCompleted webhook waits for its run.
	// Default 30s.
	WebhookWait time.Duration
	// MaxBodyBytes bounds a webhook request body. Default 4 MiB.
	MaxBodyBytes int64
	// FilesPollInterval is the interval of the polling watcher used where
	// inotify/FSEvents runs out of watches. Default 1s.
	FilesPollInterval time.Duration
	// ForcePoll makes every files watcher poll (tests, network drives).
	ForcePoll bool
	// OwnWriteWindow: after a run ends, changes to the files it wrote that
	// arrive within this window are still its own. Default 2s.
	OwnWriteWindow time.Duration
	Logger         *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.MaxSleep <= 0 {
		c.MaxSleep = time.Second
	}
	if c.ResyncInterval <= 0 {
		c.ResyncInterval = 30 * time.Second
	}
	if c.LateAfter <= 0 {
		c.LateAfter = time.Minute
	}
	if c.WebhookWait <= 0 {
		c.WebhookWait = 30 * time.Second
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 4 << 20
	}
	if c.FilesPollInterval <= 0 {
		c.FilesPollInterval = time.Second
	}
	if c.OwnWriteWindow <= 0 {
		c.OwnWriteWindow = 2 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Service runs the triggers of every trusted project.
type Service struct {
	cfg     Config
	db      *store.DB
	log     *slog.Logger
	started time.Time // slots due before this were missed while no server ran

	sched   *scheduler
	waiters *waiters

	mu       sync.Mutex
	dirty    map[string]bool      // projects to reconcile
	ended    []flow.Event         // run endings to hand to the files watchers
	watchers map[string]*watcher  // project id -> files watcher
	runs     map[string]fileOwner // run id -> the files trigger that started it
	wake     chan struct{}        // cap 1: something is dirty
	cancel   context.CancelFunc
	done     chan struct{}
}

// fileOwner names the files trigger a run was started by.
type fileOwner struct {
	projectID string
	key       string
}

// New builds a Service. Start runs it.
func New(cfg Config) (*Service, error) {
	cfg = cfg.withDefaults()
	switch {
	case cfg.DB == nil:
		return nil, errors.New("trigger: DB is required")
	case cfg.Runs == nil:
		return nil, errors.New("trigger: Runs is required")
	case cfg.Workflows == nil:
		return nil, errors.New("trigger: Workflows is required")
	case cfg.Trust == nil:
		return nil, errors.New("trigger: Trust is required")
	}
	s := &Service{cfg: cfg, db: cfg.DB, log: cfg.Logger, waiters: newWaiters(),
		dirty: map[string]bool{}, watchers: map[string]*watcher{}, runs: map[string]fileOwner{}, wake: make(chan struct{}, 1)}
	s.sched = newScheduler(s)
	return s, nil
}

// Start reads every project's triggers (missed slots fire now) and runs
// the scheduler and watchers until Stop.
func (s *Service) Start(ctx context.Context) error {
	s.mu.Lock()
	if s.cancel != nil {
		s.mu.Unlock()
		return errors.New("trigger: already started")
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel, s.done = cancel, make(chan struct{})
	s.started = s.cfg.Now()
	s.mu.Unlock()
	go func() {
		defer close(s.done)
		s.loop(bg)
	}()
	return nil
}

// Stop ends the scheduler and every watcher and waits for them.
func (s *Service) Stop(ctx context.Context) error {
	s.mu.Lock()
	cancel, done := s.cancel, s.done
	s.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("stop triggers: %w", ctx.Err())
	}
	s.mu.Lock()
	ws := s.watchers
	s.watchers = map[string]*watcher{}
	s.mu.Unlock()
	for _, w := range ws {
		w.stop()
	}
	return nil
}

// Observe is the store's commit hook: workflow changes mark their project
// for a re-read, run endings release webhook waiters and files triggers.
// It never blocks (it runs under the database's write lock).
func (s *Service) Observe(events []flow.Event) {
	s.waiters.observe(events)
	signal := false
	s.mu.Lock()
	for _, ev := range events {
		switch ev.Type {
		case flow.EventWorkflowUpdated, flow.EventWorkflowDeleted:
			s.dirty[ev.ProjectID] = true
			signal = true
		case flow.EventRunCompleted, flow.EventRunFailed, flow.EventRunCanceled:
			if _, ok := s.runs[ev.RunID]; ok {
				s.ended = append(s.ended, ev)
				signal = true
			}
		}
	}
	s.mu.Unlock()
	if signal {
		s.poke()
	}
}

// Reconcile marks a project for a re-read of its triggers: the daemon
// calls it when a project is created, deleted, or its trust changes.
// Revoking trust stops the project's triggers within the scheduler's next
// wake-up; each start also checks trust itself.
func (s *Service) Reconcile(projectID string) {
	s.mu.Lock()
	s.dirty[projectID] = true
	s.mu.Unlock()
	s.poke()
}

func (s *Service) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// loop is the Service's one long-lived goroutine: it reconciles dirty
// projects, fires due slots and hands run endings to the watchers.
func (s *Service) loop(ctx context.Context) {
	s.reconcileAll(ctx)
	resync := time.NewTicker(s.cfg.ResyncInterval)
	defer resync.Stop()
	for {
		s.sched.tick(ctx)
		sleep := s.cfg.MaxSleep
		if d, ok := s.sched.untilNext(); ok && d < sleep {
			sleep = max(d, time.Millisecond)
		}
		t := time.NewTimer(sleep)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-resync.C:
			s.reconcileAll(ctx)
		case <-s.wake:
			s.drain(ctx)
		case <-t.C:
		}
		t.Stop()
	}
}

// drain handles what Observe and Reconcile queued.
func (s *Service) drain(ctx context.Context) {
	s.mu.Lock()
	dirty := s.dirty
	s.dirty = map[string]bool{}
	ended := s.ended
	s.ended = nil
	s.mu.Unlock()
	for id := range dirty {
		s.reconcile(ctx, id)
	}
	for _, ev := range ended {
		s.runEnded(ctx, ev)
	}
}

func (s *Service) reconcileAll(ctx context.Context) {
	projects, err := s.db.Projects(ctx)
	if err != nil {
		s.log.Warn("triggers: list projects", "err", err)
		return
	}
	seen := map[string]bool{}
	for _, p := range projects {
		seen[p.ID] = true
		s.reconcile(ctx, p.ID)
	}
	// Projects that are gone: drop their sources.
	for _, id := range s.sched.projects() {
		if !seen[id] {
			s.reconcile(ctx, id)
		}
	}
	s.mu.Lock()
	var gone []string
	for id := range s.watchers {
		if !seen[id] {
			gone = append(gone, id)
		}
	}
	s.mu.Unlock()
	for _, id := range gone {
		s.reconcile(ctx, id)
	}
}

// active is what one project's workflows ask for.
type active struct {
	schedules []scheduleDef
	files     []filesDef
}

// reconcile re-reads one project's triggers and brings the scheduler and
// the files watcher in line with them. An untrusted, missing or unreadable
// project gets no sources at all.
func (s *Service) reconcile(ctx context.Context, projectID string) {
	var want active
	p, err := s.db.Project(ctx, projectID)
	trusted := false
	if err == nil {
		trusted, err = s.cfg.Trust.Trusted(ctx, projectID)
	}
	switch {
	case flow.ErrorCode(err) == flow.ENOTFOUND:
	case err != nil:
		s.log.Warn("triggers: read project", "project", projectID, "err", err)
		return // keep what runs; the next resync tries again
	case trusted:
		wfs, err := s.cfg.Workflows.List(ctx, projectID)
		if err != nil {
			s.log.Warn("triggers: list workflows", "project", projectID, "err", err)
			return
		}
		want = collect(wfs)
	}
	s.sched.set(ctx, projectID, want.schedules, trusted)
	var path string
	if p != nil {
		path = p.Path
	}
	s.setFiles(projectID, path, want.files)
}

// collect picks the enabled triggers of valid workflows.
func collect(wfs []flow.Workflow) active {
	var a active
	for _, wf := range wfs {
		for _, t := range wf.Triggers {
			if !t.IsEnabled() {
				continue
			}
			switch t.Type {
			case flow.TriggerSchedule:
				a.schedules = append(a.schedules, scheduleDef{workflowID: wf.ID, trigger: t})
			case flow.TriggerFiles:
				a.files = append(a.files, filesDef{workflowID: wf.ID, trigger: t})
			}
		}
	}
	return a
}

// trusted checks trust right before a start.
func (s *Service) trusted(ctx context.Context, projectID string) bool {
	ok, err := s.cfg.Trust.Trusted(ctx, projectID)
	if err != nil {
		s.log.Warn("triggers: trust check", "project", projectID, "err", err)
	}
	return err == nil && ok
}

// notify tells the project's tabs something through a durable
// notification event.
func (s *Service) notify(projectID, level, message string) {
	ev := flow.NewEvent(projectID, flow.EventNotification, "", "", map[string]any{"level": level, "message": message})
	if err := s.db.AppendEvent(context.Background(), &ev); err != nil {
		s.log.Warn("triggers: notify", "project", projectID, "err", err)
	}
	s.log.Warn("triggers: "+message, "project", projectID)
}

func triggerKey(workflowID, triggerID string) string { return workflowID + "/" + triggerID }
