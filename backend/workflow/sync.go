package workflow

import (
	"context"
	"sort"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/store"
)

// fileState is one existing workflow file after a sync.
type fileState struct {
	id    string
	cur   *loaded
	entry store.WorkflowEntry
}

// Sync brings the index of a project up to date with its workflow files
// and announces every difference (see adopt). Files whose mtime and size
// match the index are not read unless they are racily clean; Get, Snapshot,
// Summaries and List always read what they return. The watcher calls Sync
// for every watched project; the daemon may call it when a project opens.
func (s *Service) Sync(ctx context.Context, projectID string) error {
	_, err := s.sync(ctx, projectID, false)
	return err
}

// sync scans the directory; full reads every file, otherwise only the ones
// whose stat changed. It returns the existing files (read ones only when
// not full) ordered by id.
func (s *Service) sync(ctx context.Context, projectID string, full bool) ([]fileState, error) {
	o, err := s.open(ctx, projectID, "", false)
	if err != nil {
		return nil, err
	}
	defer o.close()
	dir := o.dir
	files, temps, err := scanDir(dir)
	if err != nil {
		return nil, flow.Errorf(flow.EUNAVAILABLE, "cannot list %s: %s", DirName, errText(err))
	}
	if len(temps) > 0 {
		removeStaleTemps(dir, temps, s.opts.Now())
	}
	entries, err := s.db.WorkflowEntries(ctx, projectID)
	if err != nil {
		return nil, err
	}
	index := make(map[string]store.WorkflowEntry, len(entries))
	for _, e := range entries {
		index[e.ID] = e
	}
	now := s.opts.Now()
	var changes []change
	var states []fileState
	for id, st := range files {
		e, had := index[id]
		racy := now.Sub(time.Unix(0, st.mtimeNs)) < RacyWindow
		if !full && had && !e.Deleted && e.MtimeNs == st.mtimeNs && e.Size == st.size && !racy {
			continue
		}
		cur := s.load(dir, id)
		if !cur.exists && !had {
			continue // appeared and vanished between scan and read
		}
		if needsAdopt(cur, e, had) {
			changes = append(changes, change{id: id, cur: cur, entry: e, had: had})
		}
		if cur.exists {
			states = append(states, fileState{id: id, cur: cur, entry: e})
		}
	}
	for id, e := range index {
		if _, ok := files[id]; !ok && !e.Deleted {
			changes = append(changes, change{id: id, cur: nil, entry: e, had: true})
		}
	}
	updated, err := s.adopt(ctx, projectID, changes)
	if err != nil {
		return nil, err
	}
	for i := range states {
		if e, ok := updated[states[i].id]; ok {
			states[i].entry = e
		}
	}
	sort.Slice(states, func(i, j int) bool { return states[i].id < states[j].id })
	return states, nil
}
