package httpapi

import (
	"context"
	"net/http"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// TrustService is what the API needs for workspace trust (the daemon
// implements it on top of backend/trust).
type TrustService interface {
	// Review describes what the project would run once trusted: its
	// workflows and every MCP server entry as written (nothing expanded,
	// nothing started), each with its approval state.
	Review(ctx context.Context, projectID string) (any, error)
	// SetTrusted trusts or revokes the project. On trust, the MCP entries
	// whose fingerprint is in approve are approved; approve nil approves
	// every entry the folder has now.
	SetTrusted(ctx context.Context, projectID string, trusted bool, approve []string) (*flow.Project, error)
	// Approve approves the MCP entry with this fingerprint and returns the
	// new review; conflict when no entry has it any more.
	Approve(ctx context.Context, projectID, fingerprint string) (any, error)
}

func (s *Server) trustService(w http.ResponseWriter, r *http.Request) (TrustService, bool) {
	if s.cfg.Trust == nil {
		writeError(w, r, flow.Errorf(flow.EUNAVAILABLE, "trust is not available"), s.cfg.Logger)
		return nil, false
	}
	return s.cfg.Trust, true
}

// getTrust answers GET /api/projects/{id}/trust with the review.
func (s *Server) getTrust(w http.ResponseWriter, r *http.Request) {
	ts, ok := s.trustService(w, r)
	if !ok {
		return
	}
	p, ok := s.project(w, r)
	if !ok {
		return
	}
	rv, err := ts.Review(r.Context(), p.ID)
	if err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	writeJSON(w, http.StatusOK, rv)
}

// putTrust answers PUT /api/projects/{id}/trust {"trusted", "approve"}.
func (s *Server) putTrust(w http.ResponseWriter, r *http.Request) {
	ts, ok := s.trustService(w, r)
	if !ok {
		return
	}
	p, ok := s.project(w, r)
	if !ok {
		return
	}
	var req struct {
		Trusted *bool     `json:"trusted"`
		Approve *[]string `json:"approve"`
	}
	if err := s.decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	if req.Trusted == nil {
		writeError(w, r, flow.Errorf(flow.EINVALID, "trusted (true or false) is required"), s.cfg.Logger)
		return
	}
	var approve []string
	if req.Approve != nil {
		approve = append([]string{}, *req.Approve...)
	}
	updated, err := ts.SetTrusted(r.Context(), p.ID, *req.Trusted, approve)
	if err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	s.writeProject(w, r, http.StatusOK, *updated)
}

// approveEntry answers POST /api/projects/{id}/trust/approvals {"fingerprint"}.
func (s *Server) approveEntry(w http.ResponseWriter, r *http.Request) {
	ts, ok := s.trustService(w, r)
	if !ok {
		return
	}
	p, ok := s.project(w, r)
	if !ok {
		return
	}
	var req struct {
		Fingerprint string `json:"fingerprint"`
	}
	if err := s.decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	rv, err := ts.Approve(r.Context(), p.ID, req.Fingerprint)
	if err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	writeJSON(w, http.StatusOK, rv)
}
