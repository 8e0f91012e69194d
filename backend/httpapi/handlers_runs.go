package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/workflow"
)

func (s *Server) listWorkflows(w http.ResponseWriter, r *http.Request) {
	p, ok := s.project(w, r)
	if !ok || !s.have(w, r, s.cfg.Workflows != nil, "workflows") {
		return
	}
	resp := map[string]any{}
	var wfs []flow.Workflow
	var err error
	if il, ok := s.cfg.Workflows.(invalidLister); ok {
		// Invalid files are listed beside the valid ones, never dropped silently.
		var invalid []workflow.Summary
		wfs, invalid, err = il.ListWithInvalid(r.Context(), p.ID)
		resp["invalid"] = invalid
	} else {
		wfs, err = s.cfg.Workflows.List(r.Context(), p.ID)
	}
	if err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	if wfs == nil {
		wfs = []flow.Workflow{}
	}
	resp["workflows"] = wfs
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) getWorkflow(w http.ResponseWriter, r *http.Request) {
	p, ok := s.project(w, r)
	if !ok || !s.have(w, r, s.cfg.Workflows != nil, "workflows") {
		return
	}
	if q := r.URL.Query().Get("invalid"); (q == "1" || q == "true") && s.getInvalidWorkflow(w, r, p.ID) {
		return
	}
	wf, err := s.cfg.Workflows.Get(r.Context(), p.ID, r.PathValue("wid"))
	if err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	writeJSON(w, http.StatusOK, wf)
}

// putWorkflow saves a workflow. An If-Match header with the expected
// version makes the save conditional (409 with the current workflow on
// mismatch); without it the save overwrites.
func (s *Server) putWorkflow(w http.ResponseWriter, r *http.Request) {
	p, ok := s.project(w, r)
	if !ok || !s.have(w, r, s.cfg.Workflows != nil, "workflows") {
		return
	}
	base := int64(-1)
	if im := strings.Trim(r.Header.Get("If-Match"), `"W/ `); im != "" {
		v, err := strconv.ParseInt(im, 10, 64)
		if err != nil || v < 0 {
			writeError(w, r, flow.Errorf(flow.EINVALID, "If-Match must be a workflow version number"), s.cfg.Logger)
			return
		}
		base = v
	}
	var wf flow.Workflow
	if err := s.decodeJSON(w, r, &wf); err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	v, err := s.cfg.Workflows.Save(r.Context(), p.ID, r.PathValue("wid"), &wf, base, "api")
	if err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	// Params that do not fit their tool's schema do not block the save;
	// they are reported with it, so the editor flags them before a run.
	resp := map[string]any{"version": v}
	if pc, ok := s.cfg.Workflows.(interface {
		ParamProblems(*flow.Workflow) []flow.Problem
	}); ok {
		if probs := pc.ParamProblems(&wf); len(probs) > 0 {
			resp["problems"] = probs
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) deleteWorkflow(w http.ResponseWriter, r *http.Request) {
	p, ok := s.project(w, r)
	if !ok || !s.have(w, r, s.cfg.Workflows != nil, "workflows") {
		return
	}
	if err := s.cfg.Workflows.Delete(r.Context(), p.ID, r.PathValue("wid")); err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// startRun starts a run of a saved workflow. It does not read the project
// first, as the other project handlers do: StartRun's trust check and
// workflow read already answer not_found for an unknown project, and a
// run start is the hot path (that read was about 6 % of the server's CPU
// under compare.sh runs).
func (s *Server) startRun(w http.ResponseWriter, r *http.Request) {
	if !s.have(w, r, s.cfg.Runs != nil, "runs") {
		return
	}
	var req struct {
		Inputs map[string]any `json:"inputs"`
	}
	if r.ContentLength != 0 {
		if err := s.decodeJSON(w, r, &req); err != nil {
			writeError(w, r, err, s.cfg.Logger)
			return
		}
	}
	run, err := s.cfg.Runs.StartRun(r.Context(), r.PathValue("id"), r.PathValue("wid"), req.Inputs)
	if err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	w.Header().Set("Location", "/api/runs/"+run.ID)
	writeJSON(w, http.StatusAccepted, runStarted{RunID: run.ID, Status: run.Status})
}

// runStarted is the 202 answer of a run start (a struct, not a map: it is
// encoded for every start).
type runStarted struct {
	RunID  string         `json:"runId"`
	Status flow.RunStatus `json:"status"`
}

func (s *Server) listRuns(w http.ResponseWriter, r *http.Request) {
	p, ok := s.project(w, r)
	if !ok || !s.have(w, r, s.cfg.Runs != nil, "runs") {
		return
	}
	q := r.URL.Query()
	limit, _ := strconv.Atoi(q.Get("limit"))
	f := flow.RunFilter{ProjectID: p.ID, WorkflowID: q.Get("workflowId"), Status: flow.RunStatus(q.Get("status")), Limit: limit, Cursor: q.Get("cursor"),
		ParentRunID: q.Get("parentRunId"), ParentNodeID: q.Get("parentNodeId"), TopLevel: q.Get("topLevel") == "true"}
	switch f.Status {
	case "", flow.RunQueued, flow.RunRunning, flow.RunSucceeded, flow.RunFailed, flow.RunCanceled:
	default:
		writeError(w, r, flow.Errorf(flow.EINVALID, "status must be one of queued, running, succeeded, failed, canceled"), s.cfg.Logger)
		return
	}
	page, err := s.cfg.Runs.ListRuns(r.Context(), f)
	if err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	if page.Runs == nil {
		page.Runs = []flow.Run{}
	}
	writeJSON(w, http.StatusOK, page)
}

// run loads the {runId} path value's run (of any project) or writes the
// error, like project does for {id}.
func (s *Server) run(w http.ResponseWriter, r *http.Request) (*flow.Run, bool) {
	if !s.have(w, r, s.cfg.Runs != nil, "runs") {
		return nil, false
	}
	run, err := s.cfg.Runs.Run(r.Context(), "", r.PathValue("runId"))
	if err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return nil, false
	}
	return run, true
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request) {
	if run, ok := s.run(w, r); ok {
		writeJSON(w, http.StatusOK, run)
	}
}

func (s *Server) cancelRun(w http.ResponseWriter, r *http.Request) {
	run, ok := s.run(w, r)
	if !ok {
		return
	}
	if err := s.cfg.Runs.CancelRun(r.Context(), run.ProjectID, run.ID); err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"runId": run.ID, "status": "canceling"})
}

func (s *Server) queue(w http.ResponseWriter, r *http.Request) {
	if !s.have(w, r, s.cfg.QueueStats != nil, "queue") {
		return
	}
	st, err := s.cfg.QueueStats(r.Context())
	if err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// queueJobs lists queue jobs, newest first, for inspecting dead and
// retrying jobs: ?state=dead&projectId=&before=<id>&limit=.
func (s *Server) queueJobs(w http.ResponseWriter, r *http.Request) {
	if !s.have(w, r, s.cfg.QueueJobs != nil, "queue jobs") {
		return
	}
	q := r.URL.Query()
	before, _ := strconv.ParseInt(q.Get("before"), 10, 64)
	limit, _ := strconv.Atoi(q.Get("limit"))
	jobs, err := s.cfg.QueueJobs(r.Context(), q.Get("state"), q.Get("projectId"), before, limit)
	if err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"jobs": jobs})
}

func (s *Server) connections(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Connections == nil {
		writeJSON(w, http.StatusOK, map[string]any{"total": 0, "projects": map[string]int{}})
		return
	}
	report, err := s.cfg.Connections(r.Context())
	if err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	writeJSON(w, http.StatusOK, report)
}

const workspaceKey = "workspace"

// workspace is the set of open tabs and the active one, restored on restart.
type workspace struct {
	Tabs   []string `json:"tabs"`
	Active string   `json:"active"`
}

func (s *Server) getWorkspace(w http.ResponseWriter, r *http.Request) {
	ws := workspace{Tabs: []string{}}
	b, err := s.cfg.Store.Setting(r.Context(), workspaceKey)
	if err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	if b != nil {
		_ = json.Unmarshal(b, &ws)
	}
	// Drop tabs of projects deleted since.
	kept := ws.Tabs[:0]
	for _, id := range ws.Tabs {
		if _, err := s.cfg.Store.Project(r.Context(), id); err == nil {
			kept = append(kept, id)
		}
	}
	ws.Tabs = kept
	if ws.Tabs == nil {
		ws.Tabs = []string{}
	}
	writeJSON(w, http.StatusOK, ws)
}

func (s *Server) putWorkspace(w http.ResponseWriter, r *http.Request) {
	var ws workspace
	if err := s.decodeJSON(w, r, &ws); err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	if len(ws.Tabs) > 100 {
		writeError(w, r, flow.Errorf(flow.EINVALID, "at most 100 tabs"), s.cfg.Logger)
		return
	}
	if ws.Tabs == nil {
		ws.Tabs = []string{}
	}
	b, _ := json.Marshal(ws)
	if err := s.cfg.Store.SetSetting(r.Context(), workspaceKey, b); err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	writeJSON(w, http.StatusOK, ws)
}

// have writes 503 when an optional collaborator is not wired.
func (s *Server) have(w http.ResponseWriter, r *http.Request, ok bool, what string) bool {
	if !ok {
		writeError(w, r, flow.Errorf(flow.EUNAVAILABLE, "%s are not available in this build", what), s.cfg.Logger)
	}
	return ok
}
