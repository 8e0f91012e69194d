package trigger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/flowweaver/flowweaver/backend/engine"
	"github.com/flowweaver/flowweaver/backend/flow"
	"github.com/flowweaver/flowweaver/backend/httpapi"
	"github.com/flowweaver/flowweaver/backend/store"
	"github.com/flowweaver/flowweaver/backend/tools"
)

// ServeHTTP answers POST /hooks/{key}: the key (the only credential; no
// token) names a webhook trigger; the request becomes inputs.trigger of a
// new run. The daemon mounts it behind the Host and Origin guards.
//
// "respond": "immediately" answers 202 {"runId"} as soon as the run is
// committed. "onCompleted" then waits for the run (WebhookWait, 30s): 200
// with the output of a respond node or else of the run's last node; 500
// run_failed when it failed; 202 {"runId", "status": "running"} if it is
// still going. Because the run is committed before anything is awaited, a
// caller that gives up or a server that restarts loses nothing.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeErr(w, http.StatusMethodNotAllowed, "method_not_allowed", "webhooks take POST")
		return
	}
	k, err := s.db.WebhookByKey(ctx, r.PathValue("key"))
	if err != nil {
		writeFlowErr(w, err)
		return
	}
	if !s.trusted(ctx, k.ProjectID) {
		writeErr(w, http.StatusForbidden, "untrusted", "the project is not trusted: its triggers do not fire")
		return
	}
	wf, shared, err := s.workflow(ctx, k.ProjectID, k.WorkflowID)
	if err != nil {
		writeFlowErr(w, err)
		return
	}
	t, ok := findTrigger(wf, k.TriggerID, flow.TriggerWebhook)
	switch {
	case !ok:
		writeErr(w, http.StatusNotFound, flow.ENOTFOUND, "the webhook trigger was removed from its workflow")
		return
	case !t.IsEnabled():
		writeErr(w, http.StatusNotFound, flow.ENOTFOUND, "the webhook trigger is switched off")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeErr(w, http.StatusRequestEntityTooLarge, flow.EPAYLOADTOOLARGE, "the request body is larger than the limit of 4 MiB")
			return
		}
		writeErr(w, http.StatusBadRequest, flow.EINVALID, "cannot read the request body")
		return
	}
	in := map[string]any{"type": flow.TriggerWebhook, "id": t.ID, "method": r.Method,
		"headers": headerMap(r.Header), "query": queryMap(r), "body": parseBody(r.Header.Get("Content-Type"), body)}
	run, err := s.cfg.Runs.StartRunWith(ctx, k.ProjectID, k.WorkflowID, map[string]any{}, engine.StartOptions{
		Trigger: &flow.RunTrigger{Type: flow.TriggerWebhook, ID: t.ID, Method: r.Method}, TriggerInputs: in, Workflow: wf, WorkflowShared: shared})
	if err != nil {
		writeFlowErr(w, err)
		return
	}
	if t.Respond != flow.RespondOnCompleted {
		writeJSON(w, http.StatusAccepted, map[string]any{"runId": run.ID})
		return
	}
	s.answer(ctx, w, k.ProjectID, run.ID)
}

// workflow reads the workflow a webhook starts: the source's shared,
// read-only value when it has one (shared), so that the run shares that
// version's compiled form with every other run of it, and a run of
// instant nodes is executed at once (the answer of respond: onCompleted
// then waits for no worker); otherwise a copy.
func (s *Service) workflow(ctx context.Context, projectID, workflowID string) (wf *flow.Workflow, shared bool, err error) {
	if src, ok := s.cfg.Workflows.(engine.SharedWorkflowSource); ok {
		wf, err = src.Shared(ctx, projectID, workflowID)
		return wf, err == nil, err
	}
	wf, err = s.cfg.Workflows.Get(ctx, projectID, workflowID)
	return wf, false, err
}

// answer waits for the run and writes its result.
func (s *Service) answer(ctx context.Context, w http.ResponseWriter, projectID, runID string) {
	done, cancel := s.waiters.wait(runID)
	defer cancel()
	// The run may have ended before the waiter was registered.
	r, err := s.db.GetRun(ctx, projectID, runID)
	if err == nil && !r.Status.Terminal() {
		timer := time.NewTimer(s.cfg.WebhookWait)
		defer timer.Stop()
		select {
		case <-done:
			r, err = s.db.GetRun(ctx, projectID, runID)
		case <-timer.C:
			writeJSON(w, http.StatusAccepted, map[string]any{"runId": runID, "status": flow.RunRunning})
			return
		case <-ctx.Done():
			return // the caller left; the run goes on
		}
	}
	if err != nil {
		writeFlowErr(w, err)
		return
	}
	if r.Status != flow.RunSucceeded {
		msg := r.Error
		if msg == "" {
			msg = "the run was " + string(r.Status)
		}
		writeJSON(w, http.StatusInternalServerError, map[string]any{"error": "run_failed", "runId": runID, "status": r.Status, "message": msg})
		return
	}
	writeResult(w, r)
}

// writeResult answers with the run's respond node, else its last node:
// the succeeded node that finished last. Nodes that finished in the same
// millisecond (quick nodes whose ends were committed together) are
// ordered by the graph, a node after the nodes upstream of it.
func writeResult(w http.ResponseWriter, r *store.RunRow) {
	var snap flow.Workflow
	_ = json.Unmarshal(r.Workflow, &snap)
	toolOf := map[string]string{}
	for _, n := range snap.Nodes {
		toolOf[n.ID] = n.Tool
	}
	rank := graphRank(&snap)
	var last, respond *flow.NodeRun
	for i := range r.Nodes {
		n := &r.Nodes[i]
		if n.Status != flow.NodeSucceeded {
			continue
		}
		later := func(cur *flow.NodeRun) bool {
			switch {
			case cur == nil:
				return true
			case n.FinishedAt == nil:
				return false
			case cur.FinishedAt == nil || n.FinishedAt.After(*cur.FinishedAt):
				return true
			}
			return n.FinishedAt.Equal(*cur.FinishedAt) && rank[n.NodeID] >= rank[cur.NodeID]
		}
		if later(last) {
			last = n
		}
		if toolOf[n.NodeID] == tools.RespondTool && later(respond) {
			respond = n
		}
	}
	w.Header().Set("X-Flowweaver-Run-Id", r.ID)
	if respond == nil {
		out := json.RawMessage("null")
		if last != nil && len(last.Output) > 0 {
			out = last.Output
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(append(bytes.Clone(out), '\n'))
		return
	}
	var res struct {
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers"`
		Body    json.RawMessage   `json:"body"`
	}
	if err := json.Unmarshal(respond.Output, &res); err != nil || res.Status < 100 || res.Status > 599 {
		res.Status = http.StatusOK
	}
	h := w.Header()
	for k, v := range res.Headers {
		switch http.CanonicalHeaderKey(k) {
		case "Content-Length", "Transfer-Encoding", "Connection":
			continue
		}
		h.Set(k, v)
	}
	var text string
	var payload []byte
	if len(res.Body) > 0 && json.Unmarshal(res.Body, &text) == nil {
		payload = []byte(text)
		if h.Get("Content-Type") == "" {
			h.Set("Content-Type", "text/plain; charset=utf-8")
		}
	} else {
		payload = res.Body
		if len(payload) == 0 || string(payload) == "null" {
			payload = nil
		} else if h.Get("Content-Type") == "" {
			h.Set("Content-Type", "application/json")
		}
	}
	w.WriteHeader(res.Status)
	_, _ = w.Write(payload)
}

func findTrigger(wf *flow.Workflow, id, typ string) (flow.Trigger, bool) {
	for _, t := range wf.Triggers {
		if t.ID == id && t.Type == typ {
			return t, true
		}
	}
	return flow.Trigger{}, false
}

// parseBody gives JSON bodies as values and anything else as text.
func parseBody(contentType string, body []byte) any {
	if len(body) == 0 {
		return nil
	}
	trimmed := bytes.TrimSpace(body)
	if strings.Contains(contentType, "json") || len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		var v any
		if json.Unmarshal(body, &v) == nil {
			return v
		}
	}
	return string(body)
}

func headerMap(h http.Header) map[string]any {
	out := make(map[string]any, len(h))
	for k, vs := range h {
		out[strings.ToLower(k)] = strings.Join(vs, ", ")
	}
	return out
}

func queryMap(r *http.Request) map[string]any {
	q := r.URL.Query()
	out := make(map[string]any, len(q))
	for k, vs := range q {
		if len(vs) == 1 {
			out[k] = vs[0]
		} else {
			out[k] = vs
		}
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"error": code, "message": msg})
}

func writeFlowErr(w http.ResponseWriter, err error) {
	writeJSON(w, httpapi.StatusOf(flow.ErrorCode(err)), httpapi.ErrorBody(err))
}

// waiters lets webhook requests wait for their run's end; the commit hook
// releases them.
type waiters struct {
	mu sync.Mutex
	m  map[string][]chan struct{}
}

func newWaiters() *waiters { return &waiters{m: map[string][]chan struct{}{}} }

// wait returns a channel closed when runID ends, and a cancel that
// unregisters it.
func (ws *waiters) wait(runID string) (<-chan struct{}, func()) {
	ch := make(chan struct{})
	ws.mu.Lock()
	ws.m[runID] = append(ws.m[runID], ch)
	ws.mu.Unlock()
	return ch, func() {
		ws.mu.Lock()
		defer ws.mu.Unlock()
		list := ws.m[runID]
		for i, c := range list {
			if c == ch {
				ws.m[runID] = append(list[:i:i], list[i+1:]...)
				break
			}
		}
		if len(ws.m[runID]) == 0 {
			delete(ws.m, runID)
		}
	}
}

func (ws *waiters) observe(events []flow.Event) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if len(ws.m) == 0 {
		return
	}
	for _, ev := range events {
		switch ev.Type {
		case flow.EventRunCompleted, flow.EventRunFailed, flow.EventRunCanceled:
			for _, ch := range ws.m[ev.RunID] {
				close(ch)
			}
			delete(ws.m, ev.RunID)
		}
	}
}

// graphRank numbers a workflow's nodes in a topological order (a node
// after every node upstream of it; otherwise in the order they are
// listed).
func graphRank(wf *flow.Workflow) map[string]int {
	indeg := make(map[string]int, len(wf.Nodes))
	down := map[string][]string{}
	for _, e := range wf.Edges {
		indeg[e.Target]++
		down[e.Source] = append(down[e.Source], e.Target)
	}
	rank := make(map[string]int, len(wf.Nodes))
	var ready []string
	for _, n := range wf.Nodes {
		if indeg[n.ID] == 0 {
			ready = append(ready, n.ID)
		}
	}
	for len(ready) > 0 {
		id := ready[0]
		ready = ready[1:]
		rank[id] = len(rank)
		for _, d := range down[id] {
			if indeg[d]--; indeg[d] == 0 {
				ready = append(ready, d)
			}
		}
	}
	return rank
}
