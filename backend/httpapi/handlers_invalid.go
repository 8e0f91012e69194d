package httpapi

import (
	"context"
	"net/http"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/workflow"
)

// invalidLister is the part of the workflow service that also reports
// workflow files that are on disk but invalid (a dangling edge, a bad
// field, not JSON at all), so the listing shows them instead of hiding them.
type invalidLister interface {
	ListWithInvalid(ctx context.Context, projectID string) ([]flow.Workflow, []workflow.Summary, error)
}

// snapshotter returns a workflow as it is on disk, invalid or not.
type snapshotter interface {
	Snapshot(ctx context.Context, projectID, workflowID string) (*workflow.Snapshot, error)
}

// invalidWorkflowView is GET .../workflows/{wid}?invalid=1 of a file that
// parses but does not validate: the workflow as written, so the editor can
// draw it (a dangling edge included) and the user can repair it, with
// "valid": false and its problems.
type invalidWorkflowView struct {
	*flow.Workflow
	Valid    bool           `json:"valid"`
	Problems []flow.Problem `json:"problems"`
}

// getInvalidWorkflow answers a lenient get. It reports whether it wrote a
// response; false means the file is valid (or the service cannot tell)
// and the plain Get answers.
func (s *Server) getInvalidWorkflow(w http.ResponseWriter, r *http.Request, projectID string) bool {
	sn, ok := s.cfg.Workflows.(snapshotter)
	if !ok {
		return false
	}
	snap, err := sn.Snapshot(r.Context(), projectID, r.PathValue("wid"))
	if err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return true
	}
	if len(snap.Problems) == 0 || snap.Workflow == nil {
		// Valid, or not even JSON (nothing to draw): the plain Get says which.
		return false
	}
	writeJSON(w, http.StatusOK, invalidWorkflowView{Workflow: snap.Workflow, Valid: false, Problems: snap.Problems})
	return true
}
