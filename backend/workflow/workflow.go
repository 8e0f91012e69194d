// Package workflow stores workflows as files in the project folder
// (.flowweaver/workflows/<id>.json) and implements flow.Workflows.
//
// The files are the truth: they are what a user commits, diffs and edits
// with other programs. The database keeps an index beside them (table
// workflows: version, hash, mtime, size, deleted) because a file cannot
// carry its own version without every save touching a line. Any difference
// between a file and its index row is an edit made by someone else; it is
// adopted (version +1, a durable workflow.updated event with "by": "disk")
// whenever the file is accessed and by a polling watcher for the projects
// that have an open tab (Watch/Unwatch, Start/Stop).
//
// See docs/workflows.md for the file format and the rules.
package workflow

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/store"
)

// Options configure New. The zero value gives the documented defaults.
type Options struct {
	// PollInterval is how often the watcher stats the files of each watched
	// project. Default 1s. Stat polling is portable (no inotify/FSEvents
	// differences, works on network drives) and costs one ReadDir plus a
	// stat per file per interval.
	PollInterval time.Duration
	// WatchAllProjects makes the watcher poll every project in the
	// database, not only the ones given to Watch. For a desktop app with a
	// handful of projects this costs little and needs no hook from the hub.
	WatchAllProjects bool
	// MaxFileSize bounds a workflow file, read or written. Default 4 MiB.
	MaxFileSize int64
	// MaxNodes bounds the nodes of a workflow. Default 500 (edges: 10x).
	MaxNodes int
	// Logger receives watcher errors. Default: slog.Default().
	Logger *slog.Logger
	// Now is the clock, used for the "racily clean" check (a file whose
	// mtime is within RacyWindow of now is hashed even if its stat did not
	// change) and for stale temp files. Default time.Now.
	Now func() time.Time
}

// RacyWindow: a file modified this recently may have been modified again
// within the file system's timestamp granularity without a visible stat
// change, so the watcher hashes it anyway (git's "racily clean" rule).
const RacyWindow = 2 * time.Second

func (o Options) withDefaults() Options {
	if o.PollInterval == 0 {
		o.PollInterval = time.Second
	}
	if o.MaxFileSize == 0 {
		o.MaxFileSize = 4 << 20
	}
	if o.MaxNodes == 0 {
		o.MaxNodes = DefaultMaxNodes
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

func (o Options) validate() error {
	switch {
	case o.PollInterval < 10*time.Millisecond:
		return fmt.Errorf("workflow options: PollInterval %v is below 10ms", o.PollInterval)
	case o.MaxFileSize < 1024:
		return fmt.Errorf("workflow options: MaxFileSize %d is below 1 KiB", o.MaxFileSize)
	case o.MaxNodes < 1:
		return fmt.Errorf("workflow options: MaxNodes %d must be positive", o.MaxNodes)
	}
	return nil
}

// Service implements flow.Workflows over files plus the SQLite index.
type Service struct {
	db    *store.DB
	tools ToolChecker
	opts  Options

	mu      sync.Mutex
	locks   map[string]*projectLock // per project, reference counted
	watched map[string]int          // project id -> Watch count
	cancel  context.CancelFunc      // of the running watcher, nil when stopped
	done    chan struct{}           // closed when the watcher exits
	lastErr map[string]string       // last logged watcher error per project
	parsed  parseCache
	snaps   snapCache

	// afterFileChange, when set (tests only), runs inside the transaction
	// right after the file was written or removed; its error makes the
	// transaction fail there, which is how the tests reach the "file
	// changed, commit failed" path.
	afterFileChange func() error
	// statFile is statIdent; tests replace it to play a file system whose
	// timestamps are too coarse to show a change.
	statFile func(path string) (fileIdent, bool)
}

var _ flow.Workflows = (*Service)(nil)

// New builds the service. tools says which tool names exist (the daemon
// passes its tool registry); nil accepts any non-empty name.
func New(db *store.DB, tools ToolChecker, opts Options) (*Service, error) {
	if db == nil {
		return nil, errors.New("workflow: nil database")
	}
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	return &Service{
		db: db, tools: tools, opts: opts,
		locks: map[string]*projectLock{}, watched: map[string]int{}, lastErr: map[string]string{},
		statFile: statIdent,
	}, nil
}

// projectLock serialises every file operation of one project (save, delete,
// sync), so the index never races the files within this process. It is a
// channel so waiting for it honours ctx.
type projectLock struct {
	ch   chan struct{}
	refs int
}

func (s *Service) lock(ctx context.Context, projectID string) (unlock func(), err error) {
	s.mu.Lock()
	l := s.locks[projectID]
	if l == nil {
		l = &projectLock{ch: make(chan struct{}, 1)}
		s.locks[projectID] = l
	}
	l.refs++
	s.mu.Unlock()
	release := func() {
		s.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(s.locks, projectID)
		}
		s.mu.Unlock()
	}
	select {
	case l.ch <- struct{}{}:
		return func() { <-l.ch; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}

// loaded is one workflow file as read from disk.
type loaded struct {
	exists   bool
	data     []byte // nil when unreadable
	stat     diskFile
	hash     string
	wf       *flow.Workflow // nil when the file does not parse
	problems []flow.Problem // parse or validation problems; nil when valid
}

// load reads and checks one workflow file. Read failures other than "does
// not exist" become problems of the workflow, so a broken file is flagged,
// never fatal.
func (s *Service) load(dir *os.Root, id string) *loaded {
	if dir == nil {
		return &loaded{}
	}
	data, st, err := readFile(dir, FileName(id), s.opts.MaxFileSize)
	if errors.Is(err, fs.ErrNotExist) {
		return &loaded{}
	}
	l := &loaded{exists: true, stat: st}
	if err != nil {
		msg := errText(err)
		switch {
		case errors.Is(err, errTooLarge):
			msg = fmt.Sprintf("file is %d bytes, at most %d are allowed", st.size, s.opts.MaxFileSize)
		case errors.Is(err, errNotRegular):
			msg = "is not a regular file"
		}
		l.hash = fmt.Sprintf("unreadable:%d:%d", st.size, st.mtimeNs)
		l.problems = []flow.Problem{{Field: "file", Message: msg}}
		return l
	}
	l.data = data
	l.hash = hashBytes(data)
	wf, err := s.parsed.decode(l.hash, data)
	if err != nil {
		l.problems = []flow.Problem{{Field: "file", Message: err.Error()}}
		return l
	}
	l.wf = wf
	l.problems = Validate(id, wf, s.tools, s.opts.MaxNodes)
	return l
}

// change is one difference between the disk and the index to record.
type change struct {
	id    string
	cur   *loaded // nil for a deletion
	entry store.WorkflowEntry
	had   bool // entry exists in the index
}

// eventPayload is the payload of workflow.updated and workflow.deleted.
type eventPayload struct {
	WorkflowID string         `json:"workflowId"`
	Version    int64          `json:"version"`
	By         string         `json:"by,omitempty"`
	Problems   []flow.Problem `json:"problems,omitempty"`
}

// ByDisk is the "by" of events for changes made by other programs.
const ByDisk = "disk"

// adopt records disk changes in one transaction: a changed or new file
// bumps the version and emits workflow.updated by "disk" (with its problems
// when invalid); a vanished file bumps the version, marks the row deleted
// and emits workflow.deleted; a file whose stat changed but whose bytes did
// not (touch, a checkout of the same content) only refreshes the stat. It
// returns the resulting index rows.
func (s *Service) adopt(ctx context.Context, projectID string, changes []change) (map[string]store.WorkflowEntry, error) {
	out := make(map[string]store.WorkflowEntry, len(changes))
	if len(changes) == 0 {
		return out, nil
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].id < changes[j].id })
	for _, c := range changes {
		s.snaps.forget(snapKey{projectID, c.id})
	}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		for _, c := range changes {
			e := c.entry
			e.ProjectID, e.ID = projectID, c.id
			var ev *flow.Event
			switch {
			case c.cur == nil || !c.cur.exists:
				e.Version++
				e.Deleted, e.Hash, e.MtimeNs, e.Size = true, "", 0, 0
				x := flow.NewEvent(projectID, flow.EventWorkflowDeleted, "", c.id,
					eventPayload{WorkflowID: c.id, Version: e.Version, By: ByDisk})
				ev = &x
			case c.had && !e.Deleted && e.Hash == c.cur.hash:
				e.MtimeNs, e.Size = c.cur.stat.mtimeNs, c.cur.stat.size
			default:
				e.Version++
				e.Deleted, e.Hash, e.MtimeNs, e.Size = false, c.cur.hash, c.cur.stat.mtimeNs, c.cur.stat.size
				x := flow.NewEvent(projectID, flow.EventWorkflowUpdated, "", c.id,
					eventPayload{WorkflowID: c.id, Version: e.Version, By: ByDisk, Problems: c.cur.problems})
				ev = &x
			}
			if err := tx.PutWorkflowEntry(ctx, &e); err != nil {
				return err
			}
			if ev != nil {
				if err := tx.AppendEvent(ctx, ev); err != nil {
					return err
				}
			}
			out[c.id] = e
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("record workflow changes on disk: %w", err)
	}
	return out, nil
}

// needsAdopt reports whether the loaded file differs from its index row.
func needsAdopt(cur *loaded, e store.WorkflowEntry, had bool) bool {
	if !cur.exists {
		return had && !e.Deleted
	}
	return !had || e.Deleted || e.Hash != cur.hash || e.MtimeNs != cur.stat.mtimeNs || e.Size != cur.stat.size
}

// refresh loads one workflow file and brings its index row (e, had: as
// read under the project lock) up to date. The caller holds the lock.
func (s *Service) refresh(ctx context.Context, projectID string, dir *os.Root, id string, e store.WorkflowEntry, had bool) (*loaded, store.WorkflowEntry, error) {
	cur := s.load(dir, id)
	if !needsAdopt(cur, e, had) {
		return cur, e, nil
	}
	m, err := s.adopt(ctx, projectID, []change{{id: id, cur: cur, entry: e, had: had}})
	if err != nil {
		return nil, store.WorkflowEntry{}, err
	}
	return cur, m[id], nil
}

// checkID rejects an id that is not [A-Za-z0-9_-]{1,64}. Every entry point
// calls it first, so a hostile id ("../x", "a/b") never reaches the
// filesystem.
func checkID(workflowID string) error {
	if ValidID(workflowID) {
		return nil
	}
	return invalid("workflow id is invalid", []flow.Problem{{Field: "workflowId", Message: "must be 1 to 64 characters of A-Z, a-z, 0-9, '_' and '-'"}})
}

// opened is a project's workflows directory held under the project lock.
type opened struct {
	path   string   // the project folder
	dir    *os.Root // nil when the directory does not exist (and create was false)
	entry  store.WorkflowEntry
	had    bool // entry exists (only when open was given an id)
	unlock func()
}

func (o *opened) close() {
	if o.dir != nil {
		_ = o.dir.Close() // read-only directory handle: nothing to flush
	}
	o.unlock()
}

// open takes the project lock, then finds the project (and, given an id,
// that workflow's index row in the same query: reading it under the lock is
// what makes it current) and opens the workflows directory.
func (s *Service) open(ctx context.Context, projectID, id string, create bool) (*opened, error) {
	release, err := s.lock(ctx, projectID)
	if err != nil {
		return nil, err
	}
	o := &opened{unlock: release}
	var path string
	if id != "" {
		path, o.entry, o.had, err = s.db.ProjectWorkflowEntry(ctx, projectID, id)
	} else {
		var p *flow.Project
		if p, err = s.db.Project(ctx, projectID); err == nil {
			path = p.Path
		}
	}
	if err == nil {
		o.path = path
		o.dir, err = openDir(path, create)
	}
	if err != nil {
		release()
		return nil, err
	}
	return o, nil
}

func invalid(msg string, problems []flow.Problem) error {
	return &flow.Error{Code: flow.EINVALID, Message: msg, Details: problems}
}

func invalidWorkflow(problems []flow.Problem) error {
	return invalid(fmt.Sprintf("workflow is invalid: %d problems", len(problems)), problems)
}

func notFound(id string) error {
	return flow.Errorf(flow.ENOTFOUND, "workflow %q not found", id)
}

// withMeta returns a copy of wf carrying its id and version.
func withMeta(wf *flow.Workflow, id string, version int64) *flow.Workflow {
	if wf == nil {
		return nil
	}
	c := *wf
	c.ID, c.Version = id, version
	return &c
}

// Save validates wf and writes it to .flowweaver/workflows/<id>.json.
//
// Order of work, under the project lock: adopt any edit made on disk since
// the last look (so an external edit is never silently overwritten: it
// becomes a newer version and a baseVersion taken before it conflicts),
// compare baseVersion, then in one database transaction write the file
// atomically, update the index row and append workflow.updated. The file is
// written inside the transaction, so a failed write rolls the index back.
// The reverse failure, file renamed but commit failed, is repaired by
// restoring the previous bytes (or removing a new file); if even that
// fails, the next access or watcher poll sees a file that does not match
// the index and adopts it as a "disk" change: nothing is lost, the caller
// got an error and the version still only grows.
//
// Saving content identical to the current file still counts as a save
// (version +1, event), but the file is not rewritten.
func (s *Service) Save(ctx context.Context, projectID, workflowID string, wf *flow.Workflow, baseVersion int64, by string) (int64, error) {
	if !ValidID(workflowID) {
		return 0, invalidWorkflow(Validate(workflowID, wf, s.tools, s.opts.MaxNodes))
	}
	if wf == nil {
		return 0, invalidWorkflow([]flow.Problem{{Field: "workflow", Message: "is missing"}})
	}
	if problems := Validate(workflowID, wf, s.tools, s.opts.MaxNodes); len(problems) > 0 {
		return 0, invalidWorkflow(problems)
	}
	data, err := Encode(wf)
	if err != nil {
		return 0, invalidWorkflow([]flow.Problem{{Field: "params", Message: "cannot be written as JSON: " + err.Error()}})
	}
	if int64(len(data)) > s.opts.MaxFileSize {
		return 0, flow.Errorf(flow.EPAYLOADTOOLARGE, "workflow would be %d bytes, at most %d are allowed", len(data), s.opts.MaxFileSize)
	}
	o, err := s.open(ctx, projectID, workflowID, true)
	if err != nil {
		return 0, err
	}
	defer o.close()
	s.snaps.forget(snapKey{projectID, workflowID}) // under the lock, before anything changes
	dir := o.dir
	cur, e, err := s.refresh(ctx, projectID, dir, workflowID, o.entry, o.had)
	if err != nil {
		return 0, err
	}
	var live int64 // the version a client sees: 0 when there is no file
	if cur.exists {
		live = e.Version
	}
	if baseVersion >= 0 && baseVersion != live {
		return 0, &flow.Error{
			Code:    flow.ECONFLICT,
			Message: fmt.Sprintf("workflow %q is at version %d, not %d", workflowID, live, baseVersion),
			Details: flow.WorkflowConflict{Version: live, Workflow: withMeta(cur.wf, workflowID, live)},
		}
	}

	name := FileName(workflowID)
	hash := hashBytes(data)
	wrote := false
	var version int64
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		st := cur.stat
		if !cur.exists || cur.hash != hash {
			var err error
			if st, err = writeAtomic(dir, name, data); err != nil {
				return fileError("write", workflowID, err)
			}
			wrote = true
		}
		if err := s.hook(); err != nil {
			return err
		}
		ne := store.WorkflowEntry{ProjectID: projectID, ID: workflowID, Version: e.Version + 1,
			Hash: hash, MtimeNs: st.mtimeNs, Size: st.size}
		if err := tx.PutWorkflowEntry(ctx, &ne); err != nil {
			return err
		}
		ev := flow.NewEvent(projectID, flow.EventWorkflowUpdated, "", workflowID,
			eventPayload{WorkflowID: workflowID, Version: ne.Version, By: by})
		if err := tx.AppendEvent(ctx, &ev); err != nil {
			return err
		}
		version = ne.Version
		return nil
	})
	if err != nil {
		if wrote {
			s.restore(dir, name, cur)
		}
		return 0, fmt.Errorf("save workflow %s: %w", workflowID, err)
	}
	return version, nil
}

// fileError reports a failed write or remove of a workflow file to the
// user (disk full, read-only folder): it is about their project folder, so
// the reason is shown rather than hidden as an internal error.
func fileError(op, workflowID string, err error) error {
	return flow.Errorf(flow.EUNAVAILABLE, "cannot %s %s: %s", op, relPath(workflowID), errText(err))
}

func (s *Service) hook() error {
	if s.afterFileChange != nil {
		return s.afterFileChange()
	}
	return nil
}

// restore puts back what was on disk before a write whose transaction did
// not commit. Best effort: if it fails, the next sync adopts the disk state.
func (s *Service) restore(dir *os.Root, name string, prev *loaded) {
	var err error
	switch {
	case !prev.exists:
		err = removeFile(dir, name)
	case prev.data != nil:
		_, err = writeAtomic(dir, name, prev.data)
	default:
		return // previous bytes were unreadable; nothing to put back
	}
	if err != nil {
		s.opts.Logger.Warn("workflow: could not restore file after a failed save; it will be adopted as a disk edit", "file", name, "err", err)
	}
}

// Delete removes the workflow file, marks its index row deleted (the
// version keeps counting if it is created again) and appends
// workflow.deleted, all in one transaction; if the transaction fails after
// the file was removed, the file is put back.
func (s *Service) Delete(ctx context.Context, projectID, workflowID string) error {
	if err := checkID(workflowID); err != nil {
		return err
	}
	o, err := s.open(ctx, projectID, workflowID, false)
	if err != nil {
		return err
	}
	defer o.close()
	s.snaps.forget(snapKey{projectID, workflowID}) // under the lock, before anything changes
	dir := o.dir
	cur, e, err := s.refresh(ctx, projectID, dir, workflowID, o.entry, o.had)
	if err != nil {
		return err
	}
	if !cur.exists {
		return notFound(workflowID)
	}
	name := FileName(workflowID)
	removed := false
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		if err := removeFile(dir, name); err != nil {
			return fileError("remove", workflowID, err)
		}
		removed = true
		if err := s.hook(); err != nil {
			return err
		}
		ne := store.WorkflowEntry{ProjectID: projectID, ID: workflowID, Version: e.Version + 1, Deleted: true}
		if err := tx.PutWorkflowEntry(ctx, &ne); err != nil {
			return err
		}
		ev := flow.NewEvent(projectID, flow.EventWorkflowDeleted, "", workflowID,
			eventPayload{WorkflowID: workflowID, Version: ne.Version})
		return tx.AppendEvent(ctx, &ev)
	})
	if err != nil {
		if removed {
			s.restore(dir, name, cur)
		}
		return fmt.Errorf("delete workflow %s: %w", workflowID, err)
	}
	return nil
}
