package httpapi

import (
	"context"
	"net/http"

	"github.com/flowweaver/flowweaver/backend/flow"
)

// Secrets is what the API needs for a project's secrets. Values only go
// in: no method returns one.
type Secrets interface {
	Set(ctx context.Context, projectID, name, value string) error
	Delete(ctx context.Context, projectID, name string) error
	// Report is the body of GET /api/projects/{id}/secrets: every secret
	// (name, updatedAt, where it is used) and the referenced names the
	// project lacks.
	Report(ctx context.Context, p flow.Project) (any, error)
}

func (s *Server) secretsOr503(w http.ResponseWriter, r *http.Request) bool {
	if s.cfg.Secrets == nil {
		writeError(w, r, flow.Errorf(flow.EUNAVAILABLE, "secrets are not available"), s.cfg.Logger)
		return false
	}
	return true
}

func (s *Server) listSecrets(w http.ResponseWriter, r *http.Request) {
	p, ok := s.project(w, r)
	if !ok || !s.secretsOr503(w, r) {
		return
	}
	rep, err := s.cfg.Secrets.Report(r.Context(), *p)
	if err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// putSecret stores a value: {"value": "..."} -> 204. The value is never
// echoed, logged or put in an event.
func (s *Server) putSecret(w http.ResponseWriter, r *http.Request) {
	p, ok := s.project(w, r)
	if !ok || !s.secretsOr503(w, r) {
		return
	}
	var req struct {
		Value *string `json:"value"`
	}
	if err := s.decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	if req.Value == nil {
		writeError(w, r, flow.Errorf(flow.EINVALID, `body must be {"value": "<the secret>"}`), s.cfg.Logger)
		return
	}
	if err := s.cfg.Secrets.Set(r.Context(), p.ID, r.PathValue("name"), *req.Value); err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) deleteSecret(w http.ResponseWriter, r *http.Request) {
	p, ok := s.project(w, r)
	if !ok || !s.secretsOr503(w, r) {
		return
	}
	if err := s.cfg.Secrets.Delete(r.Context(), p.ID, r.PathValue("name")); err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
