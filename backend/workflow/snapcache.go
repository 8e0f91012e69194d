package workflow

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// snapCache lets Snapshot, and with it Get (which the engine calls for
// every run start), answer from memory when neither the file nor its index
// row can have changed since they were last read. Without it every run
// start took the project lock, read the project and the index row from the
// database, opened the folder, then read, hashed, decoded and validated the
// file (about 45 µs; 6-7 % of the server's CPU under compare.sh runs).
//
// When an entry may be used:
//
//   - The file: a stat of its path must give the identity its bytes were
//     read with (device, inode, size, mtime, ctime). Every way of changing
//     a file moves one of them (a rename over it: the inode; a write in
//     place: mtime and ctime, and nothing can set ctime back), except a
//     second write within the file system's timestamp granularity of the
//     one before. So, as git's "racily clean" rule does, an entry whose
//     bytes were read less than RacyWindow after the file last changed is
//     used only after reading the file again and finding the same bytes.
//   - The index row (the version): every change of it by this process
//     (Save, Delete, adopting an edit made on disk) drops the entry under
//     the project lock before it writes, and entries are only stored under
//     that lock, so no Snapshot after a change's start can see the old
//     entry. What this process cannot see, another process sharing the
//     database (a second node on PostgreSQL) saving identical content
//     without touching the file, is picked up within CacheTTL; any change
//     of the file itself is seen at once by the stat.
//
// Validation depends on the tool registry, which can change (an MCP
// source appears): the problems are reused only while the registry gives
// the same answer for every tool name validation asked about. The decoded
// workflow is a template, handed out only as a clone. Where stat gives no
// inode and change time (Windows), and on network file systems, whose
// stat may come from an attribute cache (see localFS), nothing is cached.
type snapCache struct {
	mu sync.Mutex
	m  map[snapKey]snapEntry
}

// CacheTTL is how long Snapshot uses a cached index row at most before it
// reads the database again (see snapCache).
const CacheTTL = time.Second

const snapCacheMax = 1024

type snapKey struct{ project, id string }

type snapEntry struct {
	dir       string    // the project folder, for re-reading a racy file
	file      string    // absolute path of the workflow file
	ident     fileIdent // the file as its bytes were read
	hash      string    // of those bytes
	version   int64
	wf        *flow.Workflow // decoded template: never handed out, only cloned
	shared    *flow.Workflow // wf with its id and version, handed out read-only by Shared
	problems  []flow.Problem // Validate's answer for wf, given toolsSaid
	toolsSaid []toolAnswer   // what the registry said while validating
	readAt    time.Time      // when the bytes were last read
	checkedAt time.Time      // when the index row was read
}

// fileIdent is what stat says about a file (see identOf); equal idents
// mean the same, unchanged file.
type fileIdent struct {
	dev, ino         uint64
	size             int64
	mtimeNs, ctimeNs int64
}

// racy reports whether a file with this identity may have been written
// again, within its timestamp granularity, after its bytes were read at
// readAt without a visible change of its stat.
func (id fileIdent) racy(readAt time.Time) bool {
	return readAt.Sub(time.Unix(0, max(id.mtimeNs, id.ctimeNs))) < RacyWindow
}

func (c *snapCache) get(k snapKey) (snapEntry, bool) {
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	return e, ok
}

func (c *snapCache) put(k snapKey, e snapEntry) {
	c.mu.Lock()
	if c.m == nil || len(c.m) >= snapCacheMax {
		c.m = make(map[snapKey]snapEntry) // crude bound: start over
	}
	c.m[k] = e
	c.mu.Unlock()
}

// reread records that the bytes of an entry were read again at readAt and
// were the same, unless the entry was dropped or replaced meanwhile.
func (c *snapCache) reread(k snapKey, was snapEntry, readAt time.Time) {
	c.mu.Lock()
	if e, ok := c.m[k]; ok && e.checkedAt.Equal(was.checkedAt) && e.ident == was.ident {
		e.readAt = readAt
		c.m[k] = e
	}
	c.mu.Unlock()
}

func (c *snapCache) forget(k snapKey) {
	c.mu.Lock()
	delete(c.m, k)
	c.mu.Unlock()
}

func (c *snapCache) forgetProject(projectID string) {
	c.mu.Lock()
	for k := range c.m {
		if k.project == projectID {
			delete(c.m, k)
		}
	}
	c.mu.Unlock()
}

// ForgetProject drops what Snapshot remembers of a project's workflows (the
// daemon calls it when the project is deleted).
func (s *Service) ForgetProject(projectID string) { s.snaps.forgetProject(projectID) }

// cachedSnapshot answers Snapshot from the cache when that is safe (see
// snapCache); ok false means the caller must read.
func (s *Service) cachedSnapshot(projectID, workflowID string) (*Snapshot, bool) {
	e, ok := s.cachedEntry(projectID, workflowID)
	if !ok {
		return nil, false
	}
	wf := cloneWorkflow(e.wf)
	wf.ID, wf.Version = workflowID, e.version
	return &Snapshot{Version: e.version, Workflow: wf, Problems: s.problemsOf(e, workflowID)}, true
}

// cachedEntry returns the cache's entry for a workflow when it is still
// the file on disk (see snapCache); ok false means the caller must read.
func (s *Service) cachedEntry(projectID, workflowID string) (snapEntry, bool) {
	k := snapKey{projectID, workflowID}
	e, ok := s.snaps.get(k)
	if !ok {
		return snapEntry{}, false
	}
	now := s.opts.Now()
	if age := now.Sub(e.checkedAt); age < 0 || age >= CacheTTL {
		return snapEntry{}, false
	}
	if id, ok := s.statFile(e.file); !ok || id != e.ident {
		return snapEntry{}, false
	}
	if e.ident.racy(e.readAt) {
		if !s.sameBytes(e) {
			return snapEntry{}, false
		}
		s.snaps.reread(k, e, now)
	}
	return e, true
}

// problemsOf returns the entry's validation problems (a copy), validating
// again if the tool registry now answers differently for a tool name.
func (s *Service) problemsOf(e snapEntry, workflowID string) []flow.Problem {
	for _, a := range e.toolsSaid {
		if s.tools.Has(a.name) != a.has {
			return Validate(workflowID, e.wf, s.tools, s.opts.MaxNodes)
		}
	}
	if e.problems == nil {
		return nil
	}
	return append([]flow.Problem(nil), e.problems...)
}

// toolAnswer is one answer of ToolChecker.Has.
type toolAnswer struct {
	name string
	has  bool
}

// recordingTools passes Has through and remembers every answer.
type recordingTools struct {
	inner ToolChecker
	said  []toolAnswer
}

func (r *recordingTools) Has(name string) bool {
	has := r.inner.Has(name)
	r.said = append(r.said, toolAnswer{name, has})
	return has
}

// sameBytes reads a racily clean file again and compares it with the
// entry. It opens the path itself rather than through the project's
// confined directory (two fewer opens on every start in the seconds after
// a save): nothing is read unless the opened file is the very file (device
// and inode, unchanged stat) that the confined read of the entry read, so
// a path that now leads elsewhere, out of the project included, is never
// read. O_NONBLOCK keeps a FIFO put in its place from blocking.
func (s *Service) sameBytes(e snapEntry) bool {
	f, err := os.OpenFile(e.file, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return false
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	if id, ok := identOf(fi); !ok || id != e.ident {
		return false
	}
	data, err := io.ReadAll(io.LimitReader(f, e.ident.size+1))
	return err == nil && int64(len(data)) == e.ident.size && hashBytes(data) == e.hash
}

// remember stores what the uncached Snapshot just read, under the project
// lock. readAt is the time taken before the file was read. Unparsable
// files are not remembered.
func (s *Service) remember(projectID, workflowID, projectDir string, cur *loaded, version int64, readAt time.Time) {
	if cur.wf == nil || !cur.stat.identOK || !localFS(filepath.Join(projectDir, DirName)) {
		return
	}
	tpl := cloneWorkflow(cur.wf)
	var tools ToolChecker // nil stays nil: Validate treats a nil checker differently
	rec := &recordingTools{inner: s.tools}
	if s.tools != nil {
		tools = rec
	}
	problems := Validate(workflowID, tpl, tools, s.opts.MaxNodes)
	s.snaps.put(snapKey{projectID, workflowID}, snapEntry{
		dir: projectDir, file: filepath.Join(projectDir, DirName, FileName(workflowID)),
		ident: cur.stat.ident, hash: cur.hash, version: version,
		wf: tpl, shared: withMeta(tpl, workflowID, version), problems: problems, toolsSaid: rec.said, readAt: readAt, checkedAt: readAt,
	})
}

// Shared is Get without the copy: while the file is unchanged, every call
// returns the same value, and a new one after any change (or when the
// cache could not vouch for the file), so a caller may keep what it
// derives from a workflow for as long as Shared returns the same pointer
// (the engine keeps run snapshots and graphs so). The value is shared:
// callers must not modify it.
func (s *Service) Shared(ctx context.Context, projectID, workflowID string) (*flow.Workflow, error) {
	if err := checkID(workflowID); err != nil {
		return nil, err
	}
	e, ok := s.cachedEntry(projectID, workflowID)
	if !ok {
		snap, err := s.read(ctx, projectID, workflowID)
		if err != nil {
			return nil, err
		}
		return validOnly(workflowID, snap)
	}
	if problems := s.problemsOf(e, workflowID); len(problems) > 0 {
		return nil, invalidFile(workflowID, problems)
	}
	return e.shared, nil
}
