package httpapi

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// Rerunner starts a finished run again from one of its nodes (the engine
// implements it next to flow.Runs).
type Rerunner interface {
	RerunFrom(ctx context.Context, projectID, runID, nodeID string) (*flow.Run, error)
}

// rerunRun serves POST /api/runs/{runId}/rerun {"fromNode": "<nodeId>"}:
// 202 with the new run, which reuses the recorded results of the nodes
// before fromNode.
func (s *Server) rerunRun(w http.ResponseWriter, r *http.Request) {
	rr, ok := s.cfg.Runs.(Rerunner)
	if !s.have(w, r, s.cfg.Runs != nil && ok, "runs") {
		return
	}
	old, ok := s.run(w, r)
	if !ok {
		return
	}
	var req struct {
		FromNode string `json:"fromNode"`
	}
	if err := s.decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	if req.FromNode == "" {
		writeError(w, r, flow.Errorf(flow.EINVALID, "fromNode is required: the id of the node to run again from"), s.cfg.Logger)
		return
	}
	run, err := rr.RerunFrom(r.Context(), old.ProjectID, old.ID, req.FromNode)
	if err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	w.Header().Set("Location", "/api/runs/"+run.ID)
	writeJSON(w, http.StatusAccepted, map[string]any{"runId": run.ID, "status": run.Status, "rerunOf": old.ID, "rerunFrom": req.FromNode})
}

// nodeOutput serves GET /api/runs/{runId}/nodes/{nodeId}/output: the
// node's whole recorded output (run reads and events carry previews).
func (s *Server) nodeOutput(w http.ResponseWriter, r *http.Request) {
	src, ok := s.cfg.Runs.(NodeOutputs)
	if !s.have(w, r, s.cfg.Runs != nil && ok, "runs") {
		return
	}
	out, err := src.NodeOutput(r.Context(), r.PathValue("runId"), r.PathValue("nodeId"))
	if err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	if len(out) == 0 {
		out = []byte("null")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

// NodeOutputs reads a node's full output (the engine implements it).
type NodeOutputs interface {
	NodeOutput(ctx context.Context, runID, nodeID string) (json.RawMessage, error)
}
