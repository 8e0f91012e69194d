package workflow

import (
	"context"
	"fmt"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// Get returns a valid workflow with its id and version. An invalid file is
// a bad_request error whose Details lists its problems; a missing one is
// not_found. An edit made on disk is seen here even before the watcher
// notices it: the file is read and hashed unless a stat proves it is the
// file read before (see snapCache).
func (s *Service) Get(ctx context.Context, projectID, workflowID string) (*flow.Workflow, error) {
	snap, err := s.Snapshot(ctx, projectID, workflowID)
	if err != nil {
		return nil, err
	}
	return validOnly(workflowID, snap)
}

// validOnly returns the workflow of snap, or Get's error when the file has
// problems.
func validOnly(workflowID string, snap *Snapshot) (*flow.Workflow, error) {
	if len(snap.Problems) > 0 {
		return nil, invalidFile(workflowID, snap.Problems)
	}
	return snap.Workflow, nil
}

// invalidFile is Get's error for a workflow file with problems.
func invalidFile(workflowID string, problems []flow.Problem) error {
	return invalid(fmt.Sprintf("workflow file %s is invalid: %d problems", relPath(workflowID), len(problems)), problems)
}

// Snapshot is the state of a workflow: channel for a subscribe reply.
type Snapshot struct {
	Version  int64          `json:"version"`
	Workflow *flow.Workflow `json:"workflow"`           // nil when the file does not parse
	Problems []flow.Problem `json:"problems,omitempty"` // set when the file is invalid
}

// Snapshot returns {"version","workflow"} of a workflow for the hub's
// workflow:<id> subscribe reply, with "problems" when the file on disk is
// invalid (the editor shows them instead of failing). A missing workflow
// is not_found.
func (s *Service) Snapshot(ctx context.Context, projectID, workflowID string) (*Snapshot, error) {
	if err := checkID(workflowID); err != nil {
		return nil, err
	}
	if snap, ok := s.cachedSnapshot(projectID, workflowID); ok {
		return snap, nil
	}
	return s.read(ctx, projectID, workflowID)
}

// read is Snapshot from the file and its index row (adopting an edit made
// outside), remembered for the next calls (snapCache).
func (s *Service) read(ctx context.Context, projectID, workflowID string) (*Snapshot, error) {
	o, err := s.open(ctx, projectID, workflowID, false)
	if err != nil {
		return nil, err
	}
	defer o.close()
	readAt := s.opts.Now()
	cur, e, err := s.refresh(ctx, projectID, o.dir, workflowID, o.entry, o.had)
	if err != nil {
		return nil, err
	}
	if !cur.exists {
		return nil, notFound(workflowID)
	}
	s.remember(projectID, workflowID, o.path, cur, e.Version, readAt)
	return &Snapshot{Version: e.Version, Workflow: withMeta(cur.wf, workflowID, e.Version), Problems: cur.problems}, nil
}

// Summary is one entry of a workflow listing.
type Summary struct {
	ID        string         `json:"id"`
	Name      string         `json:"name"`
	Version   int64          `json:"version"`
	NodeCount int            `json:"nodeCount"`
	Valid     bool           `json:"valid"`
	Problems  []flow.Problem `json:"problems,omitempty"`
}

// Summaries lists every workflow file of a project, ordered by id, with
// invalid ones flagged (Valid false, Problems set) instead of failing the
// listing. It also adopts any disk change it finds, like Sync.
func (s *Service) Summaries(ctx context.Context, projectID string) ([]Summary, error) {
	states, err := s.sync(ctx, projectID, true)
	if err != nil {
		return nil, err
	}
	out := make([]Summary, 0, len(states))
	for _, st := range states {
		sum := Summary{ID: st.id, Version: st.entry.Version, Valid: len(st.cur.problems) == 0, Problems: st.cur.problems}
		if st.cur.wf != nil {
			sum.Name, sum.NodeCount = st.cur.wf.Name, len(st.cur.wf.Nodes)
		}
		out = append(out, sum)
	}
	return out, nil
}

// List returns the valid workflows of a project, ordered by id, each with
// its id and version. Invalid files are left out here (Summaries flags
// them), so one broken file never breaks the listing.
func (s *Service) List(ctx context.Context, projectID string) ([]flow.Workflow, error) {
	states, err := s.sync(ctx, projectID, true)
	if err != nil {
		return nil, err
	}
	out := make([]flow.Workflow, 0, len(states))
	for _, st := range states {
		if len(st.cur.problems) == 0 && st.cur.wf != nil {
			out = append(out, *withMeta(st.cur.wf, st.id, st.entry.Version))
		}
	}
	return out, nil
}

// ListWithInvalid returns List's valid workflows and, from the same read
// of the directory, the invalid files as Summaries (Valid false, with
// their problems): the REST listing shows both without reading every file
// twice.
func (s *Service) ListWithInvalid(ctx context.Context, projectID string) ([]flow.Workflow, []Summary, error) {
	states, err := s.sync(ctx, projectID, true)
	if err != nil {
		return nil, nil, err
	}
	valid := make([]flow.Workflow, 0, len(states))
	invalid := []Summary{}
	for _, st := range states {
		if len(st.cur.problems) == 0 && st.cur.wf != nil {
			valid = append(valid, *withMeta(st.cur.wf, st.id, st.entry.Version))
			continue
		}
		sum := Summary{ID: st.id, Version: st.entry.Version, Valid: false, Problems: st.cur.problems}
		if st.cur.wf != nil {
			sum.Name, sum.NodeCount = st.cur.wf.Name, len(st.cur.wf.Nodes)
		}
		invalid = append(invalid, sum)
	}
	return valid, invalid, nil
}
