package trigger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/flowweaver/flowweaver/backend/engine"
	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/trigger/spec"
)

// maxListedFiles caps inputs.trigger.files; the count is still exact.
const maxListedFiles = 1000

// MaxChainedRuns bounds how many runs in a row a files trigger starts only
// for changes made while its previous run was active. A run whose shell or
// MCP nodes write into the trigger's own glob (writes that cannot be told
// from the user's) would otherwise start itself forever; after this many
// the trigger waits for a change made while it is idle, and says so.
const MaxChainedRuns = 3

// filesDef is one enabled files trigger of a trusted project.
type filesDef struct {
	workflowID string
	trigger    flow.Trigger
}

// fileTrigger is the live state of one files trigger.
type fileTrigger struct {
	def      filesDef
	debounce time.Duration
	pending  map[string]bool // changed paths not yet handed to a run
	timer    *time.Timer     // debounce; nil when none is pending
	running  string          // the active run's id, "" when none
	own      map[string]time.Time
	// fromRun: the pending changes were all made while a run was active;
	// chain counts the runs in a row started that way (MaxChainedRuns).
	fromRun bool
	chain   int
}

// watcher watches one project folder for its files triggers: fsnotify on
// every directory (new directories are added as they appear), or, where
// the OS runs out of watches, a stat poll of the tree.
type watcher struct {
	s    *Service
	id   string
	root string

	mu       sync.Mutex
	triggers map[string]*fileTrigger
	stopped  bool

	cancel context.CancelFunc
	done   chan struct{}
}

// setFiles gives the project's files watcher its triggers, starting or
// stopping the watcher as needed.
func (s *Service) setFiles(projectID, root string, defs []filesDef) {
	s.mu.Lock()
	w := s.watchers[projectID]
	if w != nil && (len(defs) == 0 || w.root != root) {
		delete(s.watchers, projectID)
		s.mu.Unlock()
		w.stop()
		s.mu.Lock()
		w = nil
	}
	if len(defs) == 0 {
		s.mu.Unlock()
		return
	}
	if w == nil {
		w = &watcher{s: s, id: projectID, root: root, triggers: map[string]*fileTrigger{}}
		s.watchers[projectID] = w
		w.start()
	}
	s.mu.Unlock()
	w.update(defs)
}

func (w *watcher) update(defs []filesDef) {
	w.mu.Lock()
	defer w.mu.Unlock()
	next := map[string]*fileTrigger{}
	for _, d := range defs {
		k := triggerKey(d.workflowID, d.trigger.ID)
		deb := time.Duration(d.trigger.DebounceMs) * time.Millisecond
		if d.trigger.DebounceMs == 0 {
			deb = spec.DefaultDebounceMs * time.Millisecond
		}
		if ft, ok := w.triggers[k]; ok {
			ft.def, ft.debounce = d, deb
			next[k] = ft
			continue
		}
		next[k] = &fileTrigger{def: d, debounce: deb, pending: map[string]bool{}, own: map[string]time.Time{}}
	}
	for k, ft := range w.triggers {
		if _, ok := next[k]; !ok && ft.timer != nil {
			ft.timer.Stop()
		}
	}
	w.triggers = next
}

func (w *watcher) start() {
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel, w.done = cancel, make(chan struct{})
	go func() {
		defer close(w.done)
		if !w.s.cfg.ForcePoll {
			err := w.notify(ctx)
			if err == nil || ctx.Err() != nil {
				return
			}
			w.s.log.Info("files trigger: falling back to polling", "project", w.id, "err", err)
		}
		w.poll(ctx)
	}()
}

func (w *watcher) stop() {
	w.cancel()
	<-w.done
	w.mu.Lock()
	w.stopped = true
	for _, ft := range w.triggers {
		if ft.timer != nil {
			ft.timer.Stop()
		}
	}
	w.mu.Unlock()
}

// rel turns an absolute path into the slash path relative to the root.
func (w *watcher) rel(p string) (string, bool) {
	r, err := filepath.Rel(w.root, p)
	if err != nil || r == "." || strings.HasPrefix(r, "..") {
		return "", false
	}
	r = filepath.ToSlash(r)
	return r, !spec.Ignored(r)
}

// skipDir is the walk rule: .git/ and .flowweaver/ are never watched.
func skipDir(name string) bool { return name == ".git" || name == ".flowweaver" }

// outOfWatches reports the errors that mean "use the poller".
func outOfWatches(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EMFILE) || errors.Is(err, fsnotify.ErrEventOverflow)
}

// notify watches with fsnotify until ctx ends; an error return means the
// watcher could not keep up (out of watches, queue overflow) and the
// caller falls back to polling.
func (w *watcher) notify(ctx context.Context) error {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer func() { _ = fw.Close() }()
	addTree := func(dir string, announce bool) error {
		return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil // vanished or unreadable: skip
			}
			if d.IsDir() {
				if p != w.root && skipDir(d.Name()) {
					return filepath.SkipDir
				}
				if err := fw.Add(p); err != nil && outOfWatches(err) {
					return err
				}
				return nil
			}
			if announce {
				if r, ok := w.rel(p); ok {
					w.changed(r)
				}
			}
			return nil
		})
	}
	if err := addTree(w.root, false); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err, ok := <-fw.Errors:
			if !ok {
				return nil
			}
			if outOfWatches(err) {
				return err
			}
		case ev, ok := <-fw.Events:
			if !ok {
				return nil
			}
			r, keep := w.rel(ev.Name)
			if !keep {
				continue
			}
			if ev.Has(fsnotify.Create) {
				if st, err := os.Lstat(ev.Name); err == nil && st.IsDir() {
					// Files created in it before the watch was added are
					// announced by the walk.
					if err := addTree(ev.Name, true); err != nil {
						return err
					}
					continue
				}
			}
			if ev.Op == fsnotify.Chmod {
				continue
			}
			w.changed(r)
		}
	}
}

// stamp is what the poller compares.
type stamp struct {
	size  int64
	mtime int64
	mode  fs.FileMode
}

// poll compares stat snapshots of the tree every FilesPollInterval.
func (w *watcher) poll(ctx context.Context) {
	snap := func() map[string]stamp {
		out := map[string]stamp{}
		_ = filepath.WalkDir(w.root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if d.IsDir() {
				if p != w.root && skipDir(d.Name()) {
					return filepath.SkipDir
				}
				return nil
			}
			if r, ok := w.rel(p); ok {
				if info, err := d.Info(); err == nil {
					out[r] = stamp{info.Size(), info.ModTime().UnixNano(), info.Mode()}
				}
			}
			return nil
		})
		return out
	}
	prev := snap()
	t := time.NewTicker(w.s.cfg.FilesPollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cur := snap()
		for p, st := range cur {
			if old, ok := prev[p]; !ok || old != st {
				w.changed(p)
			}
		}
		for p := range prev {
			if _, ok := cur[p]; !ok {
				w.changed(p)
			}
		}
		prev = cur
	}
}

// scratchFile reports the temporary files of atomic saves (Flow Weaver's
// own file.write, editors): their appearing and vanishing is not a change
// of the file they stand for, which gets its own event when renamed.
func scratchFile(rel string) bool {
	base := path.Base(rel)
	return strings.HasPrefix(base, ".") && strings.Contains(base, ".tmp-") ||
		strings.HasSuffix(base, "~") || strings.HasPrefix(base, ".#") ||
		strings.HasSuffix(base, ".swp") || strings.HasSuffix(base, ".swx") || base == "4913"
}

// changed records a change of rel for every trigger whose glob matches and
// (re)starts that trigger's debounce.
func (w *watcher) changed(rel string) {
	if scratchFile(rel) {
		return
	}
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	for key, ft := range w.triggers {
		if !spec.Match(ft.def.trigger.Glob, rel) {
			continue
		}
		if until, ok := ft.own[rel]; ok {
			if now.Before(until) {
				continue // the echo of a write of the trigger's own run
			}
			delete(ft.own, rel)
		}
		ft.pending[rel] = true
		if ft.running != "" {
			continue // collected for the run after the active one
		}
		ft.fromRun = false // a change while idle: someone else's
		w.arm(key, ft)
	}
}

// arm (re)starts the debounce of ft. Caller holds w.mu.
func (w *watcher) arm(key string, ft *fileTrigger) {
	if ft.timer != nil {
		ft.timer.Stop()
	}
	ft.timer = time.AfterFunc(ft.debounce, func() { w.fire(key) })
}

// fire starts the run for a trigger's collected changes once its debounce
// has passed in quiet.
func (w *watcher) fire(key string) {
	w.mu.Lock()
	ft, ok := w.triggers[key]
	if !ok || w.stopped || ft.running != "" || len(ft.pending) == 0 {
		w.mu.Unlock()
		return
	}
	files := make([]string, 0, len(ft.pending))
	for p := range ft.pending {
		files = append(files, p)
	}
	sort.Strings(files)
	ft.pending = map[string]bool{}
	ft.timer = nil
	def := ft.def
	if ft.fromRun {
		ft.chain++
	} else {
		ft.chain = 0
	}
	if ft.chain > MaxChainedRuns {
		ft.chain, ft.fromRun = 0, false
		w.mu.Unlock()
		w.s.notify(w.id, "warning", fmt.Sprintf("Files trigger %q of workflow %q stopped a loop: its last %d runs were started only by changes made while the previous run was active "+
			"(probably its own writes to %s). It fires again on the next change made while it is idle.", def.trigger.ID, def.workflowID, MaxChainedRuns, def.trigger.Glob))
		return
	}
	ft.running = "starting"
	w.mu.Unlock()

	ctx := context.Background()
	runID := ""
	if w.s.trusted(ctx, w.id) {
		listed := files
		if len(listed) > maxListedFiles {
			listed = listed[:maxListedFiles]
		}
		in := map[string]any{"type": flow.TriggerFiles, "id": def.trigger.ID, "glob": def.trigger.Glob, "files": listed, "count": len(files)}
		run, err := w.s.cfg.Runs.StartRunWith(ctx, w.id, def.workflowID, map[string]any{}, engine.StartOptions{
			Trigger: &flow.RunTrigger{Type: flow.TriggerFiles, ID: def.trigger.ID, Files: len(files)}, TriggerInputs: in})
		if err != nil {
			w.s.log.Warn("files trigger could not start its run", "project", w.id, "workflow", def.workflowID, "trigger", def.trigger.ID, "err", err)
		} else {
			runID = run.ID
		}
	}
	w.mu.Lock()
	ft.running = runID
	w.mu.Unlock()
	if runID != "" {
		w.s.ownRun(runID, fileOwner{projectID: w.id, key: key})
	}
}

// ownRun remembers which files trigger started a run, and hands the end
// right back if the run already ended.
func (s *Service) ownRun(runID string, o fileOwner) {
	s.mu.Lock()
	s.runs[runID] = o
	s.mu.Unlock()
	r, err := s.db.GetRun(context.Background(), o.projectID, runID)
	if err == nil && r.Status.Terminal() {
		s.mu.Lock()
		s.ended = append(s.ended, flow.Event{ProjectID: o.projectID, RunID: runID, Type: flow.EventRunCompleted})
		s.mu.Unlock()
		s.poke()
	}
}

// runEnded releases a files trigger after its run: the files the run wrote
// itself are not changes (so a run that writes into its own glob does not
// start itself again), and what changed meanwhile starts one next run.
func (s *Service) runEnded(ctx context.Context, ev flow.Event) {
	s.mu.Lock()
	o, ok := s.runs[ev.RunID]
	delete(s.runs, ev.RunID)
	w := s.watchers[o.projectID]
	s.mu.Unlock()
	if !ok || w == nil {
		return
	}
	written := s.writtenBy(ctx, o.projectID, ev.RunID)
	until := time.Now().Add(s.cfg.OwnWriteWindow)
	w.mu.Lock()
	defer w.mu.Unlock()
	ft, ok := w.triggers[o.key]
	if !ok || ft.running != ev.RunID {
		return
	}
	ft.running = ""
	for _, p := range written {
		delete(ft.pending, p)
		ft.own[p] = until
	}
	if len(ft.pending) > 0 && !w.stopped {
		ft.fromRun = true
		w.arm(o.key, ft)
	}
}

// writtenBy lists the project-relative paths a run's file.write nodes
// wrote.
func (s *Service) writtenBy(ctx context.Context, projectID, runID string) []string {
	r, err := s.db.GetRun(ctx, projectID, runID)
	if err != nil {
		return nil
	}
	var snap flow.Workflow
	if json.Unmarshal(r.Workflow, &snap) != nil {
		return nil
	}
	writes := map[string]bool{}
	for _, n := range snap.Nodes {
		if n.Tool == "file.write" {
			writes[n.ID] = true
		}
	}
	var out []string
	for _, n := range r.Nodes {
		if !writes[n.NodeID] || len(n.Output) == 0 {
			continue
		}
		var o struct {
			Path string `json:"path"`
		}
		if json.Unmarshal(n.Output, &o) == nil && o.Path != "" {
			out = append(out, filepath.ToSlash(filepath.Clean(o.Path)))
		}
	}
	return out
}
