package httpapi

import (
	"context"
	"net/http"
	"strconv"
)

// Triggers is what the API needs of the trigger service (daemon adapts
// it). Results are written as JSON as they are.
type Triggers interface {
	// ListTriggers describes a workflow's triggers; baseURL prefixes
	// webhook URLs.
	ListTriggers(ctx context.Context, projectID, workflowID, baseURL string) (any, error)
	// RotateWebhook gives a webhook trigger a new key and describes it.
	RotateWebhook(ctx context.Context, projectID, workflowID, triggerID, baseURL string) (any, error)
	// PreviewSchedule lists the next count slots of an unsaved cron.
	PreviewSchedule(cron, timezone string, count int) (any, error)
	// MatchFiles lists files of the project a glob matches.
	MatchFiles(ctx context.Context, projectID, glob string, limit int) (any, error)
}

// baseURL is how the caller reached us; the Host guard already vouched
// for the Host header.
func baseURL(r *http.Request) string { return "http://" + r.Host }

func (s *Server) listTriggers(w http.ResponseWriter, r *http.Request) {
	p, ok := s.project(w, r)
	if !ok || !s.have(w, r, s.cfg.Triggers != nil, "triggers") {
		return
	}
	list, err := s.cfg.Triggers.ListTriggers(r.Context(), p.ID, r.PathValue("wid"), baseURL(r))
	if err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"triggers": list})
}

func (s *Server) rotateWebhook(w http.ResponseWriter, r *http.Request) {
	p, ok := s.project(w, r)
	if !ok || !s.have(w, r, s.cfg.Triggers != nil, "triggers") {
		return
	}
	info, err := s.cfg.Triggers.RotateWebhook(r.Context(), p.ID, r.PathValue("wid"), r.PathValue("tid"), baseURL(r))
	if err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

func (s *Server) previewSchedule(w http.ResponseWriter, r *http.Request) {
	if !s.have(w, r, s.cfg.Triggers != nil, "triggers") {
		return
	}
	q := r.URL.Query()
	n, _ := strconv.Atoi(q.Get("count"))
	out, err := s.cfg.Triggers.PreviewSchedule(q.Get("cron"), q.Get("timezone"), n)
	if err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) matchFiles(w http.ResponseWriter, r *http.Request) {
	p, ok := s.project(w, r)
	if !ok || !s.have(w, r, s.cfg.Triggers != nil, "triggers") {
		return
	}
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	out, err := s.cfg.Triggers.MatchFiles(r.Context(), p.ID, r.URL.Query().Get("glob"), limit)
	if err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	writeJSON(w, http.StatusOK, out)
}
